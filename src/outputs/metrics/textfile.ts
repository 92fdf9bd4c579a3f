// node_exporter's textfile collector, for hosts that open no port: the multipath metrics
// written into DIRECTORY/multipath-dbus.prom after each burst (at most once a second) and
// every minute. Each write goes to a temporary file that is then renamed over the old one,
// so the collector never reads half a file. The process metrics are left out: node_exporter
// has its own process_* series and would refuse a second set.
// The service is root: whoever can add names to the directory could plant a symlink where
// root is about to write. So the directory must be writable by root alone (checked once, at
// start), and the temporary file is created new under a random name, never through a link.
import { randomBytes } from 'node:crypto';
import { constants, realpathSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Registry } from 'prom-client';
import type { Sink } from '../../core/events';
import type { Logger } from '../../util/log';
import { realTimers, type Timers } from '../../core/ports';

const TEXTFILE_NAME = 'multipath-dbus.prom';
const MIN_INTERVAL_MS = 1_000;
const REFRESH_MS = 60_000;

/** Why the service must not write into `directory`, or undefined when only root (or this process's uid) can change it. */
export function unsafeTextfileDirectory(directory: string): string | undefined {
  const st = statSync(directory, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return `metrics textfile directory ${directory} does not exist`;
  const refuse = (why: string) => `metrics textfile directory ${directory} refused: ${why}; it must belong to root and be writable by root alone`;
  const trusted = (uid: number) => uid === 0 || uid === process.geteuid?.();
  if (!trusted(st.uid)) return refuse(`it belongs to uid ${st.uid}, who could make the service overwrite any file`);
  if (st.mode & 0o022) return refuse(`it is writable by group or others (mode ${octal(st.mode)})`);
  // Whoever can rename an ancestor (of the path as given, or of where its links lead) can swap
  // the whole directory; in a sticky one (/tmp) only the owner of a name can rename it.
  for (const dir of new Set([...ancestors(directory), ...ancestors(realpathSync(directory))])) {
    const a = statSync(dir);
    if (!trusted(a.uid) || (a.mode & 0o022 && !(a.mode & 0o1000))) {
      return refuse(`${dir} above it can be changed by uid ${a.uid} or by others (mode ${octal(a.mode)})`);
    }
  }
  return undefined;
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

function ancestors(p: string): string[] {
  const up = path.dirname(p);
  return up === p ? [] : [up, ...ancestors(up)];
}

export class TextfileWriter implements Sink {
  private readonly file: string;
  private writing: Promise<void> = Promise.resolve();
  private timer: unknown;
  private lastWrite = -Infinity;
  private failing = false;
  private stopped = false;

  constructor(
    private readonly directory: string,
    private readonly registry: Registry,
    private readonly log: Logger,
    private readonly timers: Timers = realTimers,
  ) {
    this.file = path.join(directory, TEXTFILE_NAME);
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
      // node_exporter reads only *.prom: the temporary file is invisible to it.
      const temp = path.join(this.directory, `.${TEXTFILE_NAME}.${randomBytes(8).toString('hex')}.tmp`);
      try {
        const text = await this.registry.metrics();
        // O_EXCL: a name that exists (a planted link included) fails instead of being opened.
        const fh = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          await fh.writeFile(text);
          // node_exporter runs as its own user; the unit's UMask=0077 would hide the file from it.
          // No fsync: a file lost in a crash is written again at the next start.
          await fh.chmod(0o644);
        } finally {
          await fh.close();
        }
        // rename replaces a link at the final name itself, never what it points to.
        await fs.rename(temp, this.file);
        if (this.failing) this.log.notice(`metrics textfile ${this.file} written again`);
        this.failing = false;
      } catch (e) {
        if (!this.failing) this.log.warning(`cannot write the metrics textfile: ${(e as Error).message}`);
        this.failing = true;
        await fs.rm(temp, { force: true }).catch(() => undefined);
      }
    });
    return this.writing;
  }
}
