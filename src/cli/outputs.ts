// The outputs `serve` adds beside D-Bus, all sinks of the one event stream: the journal
// always, metrics when an address or a textfile directory is configured.
import type { ServiceConfig } from '../config/config-file';
import { JournalSink, JournalWriter, journaldTransport } from '../outputs/journal/journal-sink';
import { startMetricsServer, type MetricsServer } from '../outputs/metrics/http-server';
import { formatListenAddress } from '../config/listen-address';
import { TextfileWriter, unsafeTextfileDirectory } from '../outputs/metrics/textfile';
import type { Sink } from '../core/events';
import type { Logger } from '../util/log';

export interface Outputs {
  sinks: Sink[];
  /** The journal, for entries beside the transitions (the audit of management actions). */
  journal: JournalWriter;
  stop(): Promise<void>;
}

/** Open every configured output, or say which one could not be opened. */
export async function startOutputs(config: ServiceConfig, log: Logger): Promise<Outputs> {
  const journal = new JournalWriter(journaldTransport(), log);
  const sinks: Sink[] = [new JournalSink(journal)];
  let server: MetricsServer | undefined;
  let textfile: TextfileWriter | undefined;
  const stop = async () => {
    await server?.close();
    await textfile?.stop();
    journal.close();
  };
  try {
    if (config.metricsListen || config.metricsTextfile) {
      // prom-client is about 12 MiB resident once loaded: only hosts that ask for metrics pay for it.
      const { MetricsSink } = await import('../outputs/metrics/metrics-sink');
      const metrics = new MetricsSink();
      sinks.push(metrics);
      if (config.metricsListen) {
        const where = formatListenAddress(config.metricsListen);
        server = await startMetricsServer(config.metricsListen, metrics.withProcess, log).catch((e: Error) => {
          throw new Error(`cannot serve metrics on ${where}: ${e.message}`);
        });
      }
      if (config.metricsTextfile) {
        const dir = config.metricsTextfile;
        const unsafe = unsafeTextfileDirectory(dir);
        if (unsafe) throw new Error(unsafe);
        textfile = new TextfileWriter(dir, metrics.registry, log);
        sinks.push(textfile);
        await textfile.start();
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { sinks, journal, stop };
}
