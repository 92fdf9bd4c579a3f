// The real service on a real private dbus-daemon, fed by a multipathd whose replies the test
// writes (any text, held until released when the test controls the interleaving) and by
// whatever device-mapper, kernel monitor, sinks and timers the test injects.
import { BUS_NAME, ROOT_PATH } from '../../src/frontends/dbus/api';
import { callMethod, connectBus, disconnect, getManagedObjects, onSignal, type BusConnection } from '../../src/frontends/dbus/bus/connection';
import { DEFAULT_CONFIG, type ServiceConfig } from '../../src/config/config-file';
import { startPrivateBus, type PrivateBus } from '../../src/cli/private-bus';
import { SIM_SHOW_CONFIG } from '../../src/sim/show-config';
import { createLogger } from '../../src/util/log';
import type { Signal } from './service-harness';
import { MultipathService, type ServiceDeps } from '../../src/cli/service';

/** multipathd as a script: `show maps json` answers `maps` (or what it returns), `show config` the simulator's config. */
export class ScriptedMultipathd {
  maps: string | (() => string);
  config = SIM_SHOW_CONFIG;
  readonly requests: string[] = [];
  /** While true, requests wait for release() (the test decides when multipathd answers). */
  hold = false;
  /** While set, every request fails with it (a timeout, nobody listening, ...). */
  failure: Error | undefined;
  private held: (() => void)[] = [];

  constructor(maps: string | (() => string)) {
    this.maps = maps;
  }

  async request(command: string): Promise<string> {
    this.requests.push(command);
    if (this.hold) await new Promise<void>((r) => this.held.push(r));
    if (this.failure) throw this.failure;
    if (command === 'show config') return this.config;
    return typeof this.maps === 'string' ? this.maps : this.maps();
  }

  /** Requests waiting for an answer. */
  get waiting(): number {
    return this.held.length;
  }

  /** Answer every waiting request. */
  release(): void {
    for (const r of this.held.splice(0)) r();
  }

  close(): void {
    this.release();
  }
}

export interface ScriptedService {
  service: MultipathService;
  conn: BusConnection;
  client: BusConnection;
  signals: Signal[];
  /**
   * How many signals had arrived when the latest method reply did. The service sends in
   * order, so these are exactly the signals sent before it answered; later ones may already
   * be in `signals` when the caller's await resumes.
   */
  readonly signalsBeforeLastReply: number;
  logs: string[];
  /** The service's objects as a client reads them. */
  objects(): Promise<Map<string, Map<string, Record<string, unknown>>>>;
  /** Refresh through the bus: resolves with the error name, or '' on success. */
  refresh(): Promise<string>;
  stop(): Promise<void>;
}

/** One service on `bus` (a bus may serve many, one after the other). start() is the caller's, so it can watch it. */
export async function scriptedService(
  bus: PrivateBus,
  deps: Partial<ServiceDeps> & Pick<ServiceDeps, 'multipathd'>,
  config: Partial<ServiceConfig> = {},
): Promise<ScriptedService> {
  const logs: string[] = [];
  const conn = await connectBus(bus.address);
  const service = new MultipathService({
    bus: conn,
    config: { ...DEFAULT_CONFIG, enable: true, refreshInterval: 0, kernelPollInterval: 0, ...config },
    log: createLogger('debug', (l) => logs.push(l), false),
    dm: undefined,
    openMonitor: undefined,
    minRefreshIntervalMs: 0,
    ...deps,
  });
  const client = await connectBus(bus.address);
  const signals: Signal[] = [];
  await onSignal(client, { pathNamespace: ROOT_PATH }, (m) => signals.push(m));
  let signalsBeforeLastReply = 0;
  client.raw.on('message', (m: { type: number }) => {
    if (m.type === METHOD_RETURN) signalsBeforeLastReply = signals.length;
  });
  return {
    get signalsBeforeLastReply() {
      return signalsBeforeLastReply;
    },
    service,
    conn,
    client,
    signals,
    logs,
    objects: () => getManagedObjects(client, BUS_NAME, ROOT_PATH),
    async refresh() {
      try {
        await callMethod(client, BUS_NAME, ROOT_PATH, `${BUS_NAME}.Manager`, 'Refresh', '', []);
        return '';
      } catch (e) {
        return (e as { type?: string }).type ?? String(e);
      }
    },
    async stop() {
      await service.stop();
      disconnect(conn);
      disconnect(client);
    },
  };
}

const METHOD_RETURN = 2;

export { startPrivateBus, type PrivateBus };
