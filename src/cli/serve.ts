// `multipath-dbus serve`: the system service.
import * as path from 'node:path';
import { connectBus, disconnect } from '../frontends/dbus/bus/connection';
import { kernelDm } from '../sources/device-mapper/reader';
import { loadConfig } from '../config/load';
import type { ServiceConfig } from '../config/config-file';
import { MultipathdClient } from '../sources/multipathd/client';
import { openUeventMonitor, setMmapThreshold, trimMemory } from '../native/addon';
import { MultipathService } from './service';
import { createLogger } from '../util/log';
import type { ListenAddress } from '../config/listen-address';
import { startOutputs } from './outputs';
import { stopRequested } from './stop-signal';

export interface ServeOptions {
  config: string;
  bus: string;
  socket?: string;
  enable?: boolean;
  refreshInterval?: number;
  historySize?: number;
  netlinkBuffer?: number;
  maxMessageSize?: number;
  logLevel?: ServiceConfig['logLevel'];
  kernel: boolean;
  metricsListen?: ListenAddress;
  metricsTextfile?: string;
}

/**
 * After each read of every source, its megabytes of garbage are collected at once (the launcher runs
 * node with --expose-gc; about 5 ms at 1,000 maps) and freed malloc pages go back to the
 * kernel, instead of staying resident until V8 next decides to collect.
 */
function releaseMemory(): void {
  (globalThis as { gc?: () => void }).gc?.();
  trimMemory();
}

export async function serve(opts: ServeOptions): Promise<number> {
  const loaded = loadConfig(opts.config, {
    enable: opts.enable,
    socket: opts.socket,
    refreshInterval: opts.refreshInterval,
    historySize: opts.historySize,
    netlinkBuffer: opts.netlinkBuffer,
    maxMessageSize: opts.maxMessageSize,
    logLevel: opts.logLevel,
    metricsListen: opts.metricsListen,
    metricsTextfile: opts.metricsTextfile === undefined ? undefined : path.resolve(opts.metricsTextfile),
  });
  if (!loaded.ok) {
    createLogger('error').error(`configuration error: ${loaded.error}`);
    return 2;
  }
  const config = loaded.value;
  const log = createLogger(config.logLevel);
  if (!config.enable) {
    log.notice(`disabled: ${config.source} does not say "enable = yes"; add that line (or pass --enable) to publish multipath state on D-Bus`);
    return 0;
  }

  // Listen before anything starts: a SIGTERM while the outputs or the bus come up still ends us cleanly.
  const stop = stopRequested();
  let outputs;
  try {
    outputs = await startOutputs(config, log);
  } catch (e) {
    log.error((e as Error).message);
    return 1;
  }
  let bus;
  try {
    bus = await connectBus(opts.bus);
  } catch (e) {
    log.error(`cannot connect to the ${opts.bus} bus: ${(e as Error).message}`);
    await outputs.stop();
    return 1;
  }
  // Replies and readings of a large host are megabytes, allocated and freed once each:
  // mapped on their own, they leave nothing resident behind (native/malloc_tuning.cc).
  setMmapThreshold(256 * 1024);
  const service = new MultipathService({
    bus,
    config,
    log,
    multipathd: new MultipathdClient({ socket: config.socket, warn: (m) => log.warning(m) }),
    dm: opts.kernel ? kernelDm : undefined,
    nvme: opts.kernel ? { root: '/sys', pollIntervalMs: config.kernelPollInterval * 1000 } : undefined,
    openMonitor: opts.kernel ? openUeventMonitor : undefined,
    sinks: outputs.sinks,
    journal: (entry, line) => outputs.journal.write(entry, line),
    releaseMemory,
  });

  return new Promise<number>((resolve) => {
    let exiting = false;
    const exit = async (code: number, why: string) => {
      if (exiting) return;
      exiting = true;
      log.info(why);
      await service.stop();
      await outputs.stop();
      disconnect(bus);
      resolve(code);
    };
    void stop.then((sig) => exit(0, `${sig}: releasing the name and exiting`));
    bus.on('disconnect', () => {
      if (!exiting) {
        log.error('lost the D-Bus connection; exiting so the service manager can restart us');
        exiting = true;
        // Nothing to release on a dead connection; stop timers and sockets and go.
        void service.stop().then(() => outputs.stop());
        resolve(1);
      }
    });
    service.start().catch((e: Error) => {
      log.error(`cannot start: ${e.message}`);
      void exit(1, 'exiting after a failed start');
    });
  });
}
