// `multipath-dbus serve`: the system service.
import { connectBus, disconnect } from '../dbus/connection';
import { kernelDm } from '../dm/reader';
import { loadConfig } from '../config/load';
import type { ServiceConfig } from '../config/config-file';
import { MultipathdClient } from '../multipathd/client';
import { openUeventMonitor } from '../native/addon';
import { MultipathService } from '../service/service';
import { createLogger } from '../util/log';

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

  let bus;
  try {
    bus = await connectBus(opts.bus);
  } catch (e) {
    log.error(`cannot connect to the ${opts.bus} bus: ${(e as Error).message}`);
    return 1;
  }
  const service = new MultipathService({
    bus,
    config,
    log,
    multipathd: new MultipathdClient({ socket: config.socket }),
    dm: opts.kernel ? kernelDm : undefined,
    openMonitor: opts.kernel ? openUeventMonitor : undefined,
  });

  return new Promise<number>((resolve) => {
    let exiting = false;
    const exit = async (code: number, why: string) => {
      if (exiting) return;
      exiting = true;
      log.info(why);
      await service.stop();
      disconnect(bus);
      resolve(code);
    };
    process.once('SIGTERM', () => void exit(0, 'SIGTERM: releasing the name and exiting'));
    process.once('SIGINT', () => void exit(0, 'SIGINT: releasing the name and exiting'));
    bus.on('disconnect', () => {
      if (!exiting) {
        log.error('lost the D-Bus connection; exiting so the service manager can restart us');
        exiting = true;
        // Nothing to release on a dead connection; stop timers and sockets and go.
        void service.stop();
        resolve(1);
      }
    });
    service.start().catch((e: Error) => {
      log.error(`cannot start: ${e.message}`);
      void exit(1, 'exiting after a failed start');
    });
  });
}
