// Entry point: PatternFly's styles, ours, and the page. Cockpit's transport is ready first.
import '@patternfly/patternfly/patternfly.css';
import './page.css';
import React from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { cockpit } from './cockpit';

cockpit.transport.wait(() => createRoot(document.getElementById('app')!).render(<App />));
