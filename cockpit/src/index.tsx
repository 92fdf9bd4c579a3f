// Entry point: PatternFly's styles with Cockpit's fonts, ours, Cockpit's theme and language,
// and the page. Cockpit's transport is ready first.
import '@patternfly/patternfly/patternfly.css';
import './fonts.css';
import './page.css';
import React from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { cockpit } from './cockpit';
import { followCockpitTheme } from './dark-theme';

followCockpitTheme();
// po.js (loaded before this script) set the session's language.
document.documentElement.lang = cockpit.language;
cockpit.transport.wait(() => createRoot(document.getElementById('app')!).render(<App />));
