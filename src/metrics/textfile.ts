// node_exporter's textfile collector, for hosts that open no port: the multipath metrics
// written into DIRECTORY/multipath-dbus.prom after each burst (at most once a second) and
// every minute. Each write goes to a temporary file that is then renamed over the old one,
// so the collector never reads half a file. The process metrics are left out: node_exporter
// has its own process_* series and would refuse a second set.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Registry } from 'prom-client';
import { realTimers, type Timers } from '../service/coalescer';
import type { Sink } from '../service/sink';
import type { Logger } from '../util/log';

export const TEXTFILE_NAME = 'multipath-dbus.prom';
const MIN_INTERVAL_MS = 1_000;
const REFRESH_MS = 60_000;

export class TextfileWriter implements Sink {
  private readonly file: string;
  private readonly temp: string;
  private writing: Promise<void> = Promise.resolve();
  private timer: unknown;
  private lastWrite = -Infinity;
  private failing = false;
  private stopped = false;

  constructor(
    directory: string,
    private readonly registry: Registry,
    private readonly log: Logger,
    private readonly timers: Timers = realTimers,
  ) {
    this.file = path.join(directory, TEXTFILE_NAME);
    // node_exporter reads only *.prom: the temporary file is invisible to it.
    this.temp = path.join(directory, `.${TEXTFILE_NAME}.${process.pid}.tmp`);
  }

  event(): void {}

  burst(): void {
    this.schedule(Math.max(0, this.lastWrite + MIN_INTERVAL_MS - this.timers.now()));
  }

  /** Write now, and then every REFRESH_MS; resolves once the first write is done. */
  start(): Promise<void> {
    this.schedule(REFRESH_MS);
    return this.write();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    await this.writing;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      void this.write();
      this.schedule(REFRESH_MS);
    }, delayMs);
  }

  private write(): Promise<void> {
    this.lastWrite = this.timers.now();
    this.writing = this.writing.then(async () => {
      try {
        await fs.writeFile(this.temp, await this.registry.metrics());
        // node_exporter runs as its own user; the unit's UMask=0077 would hide the file from it.
        await fs.chmod(this.temp, 0o644);
        await fs.rename(this.temp, this.file);
        if (this.failing) this.log.notice(`metrics textfile ${this.file} written again`);
        this.failing = false;
      } catch (e) {
        if (!this.failing) this.log.warning(`cannot write the metrics textfile: ${(e as Error).message}`);
        this.failing = true;
        await fs.rm(this.temp, { force: true }).catch(() => undefined);
      }
    });
    return this.writing;
  }
}
