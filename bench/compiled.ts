// What the benchmarks run in their own process is the code users run: tsc's output in
// dist/ (`npm run bench` builds it first). tsx's on-the-fly transpile would measure
// something else: it wraps every closure it creates in a __name() call, about a tenth of
// the storm's CPU. Types still come from src/.
/* eslint-disable @typescript-eslint/no-require-imports */
import type * as Connection from '../src/frontends/dbus/bus/connection';
import type * as ConfigFile from '../src/config/config-file';
import type * as Client from '../src/sources/multipathd/client';
import type * as MapsJson from '../src/sources/multipathd/maps-json';
import type * as Service from '../src/cli/service';
import type * as Log from '../src/util/log';
import type * as Simulator from '../src/sim/simulator';
import type * as ReleaseMemory from '../src/cli/release-memory';

export const { callMethod, connectBus, disconnect, getManagedObjects, onSignal } = require('../dist/frontends/dbus/bus/connection') as typeof Connection;
export type { BusConnection } from '../src/frontends/dbus/bus/connection';
export const { DEFAULT_CONFIG } = require('../dist/config/config-file') as typeof ConfigFile;
export const { MultipathdClient } = require('../dist/sources/multipathd/client') as typeof Client;
export const { parseShowMaps } = require('../dist/sources/multipathd/maps-json') as typeof MapsJson;
export const { MultipathService } = require('../dist/cli/service') as typeof Service;
export type MultipathService = Service.MultipathService;
export const { createLogger } = require('../dist/util/log') as typeof Log;
export const { MultipathdSimulator } = require('../dist/sim/simulator') as typeof Simulator;
export const { releaseMemory } = require('../dist/cli/release-memory') as typeof ReleaseMemory;
