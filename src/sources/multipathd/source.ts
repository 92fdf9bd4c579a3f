// multipathd as a source of the model: the rich view (names, vendor, checker state) and its
// settings, read through its socket, with its health (health.ts): how long it has failed,
// when to try again, and whether this answer brings it back after a loss.
import type { CommandChannel, Source, SourceRead } from '../../core/ports';
import { cleanSettings } from '../../model/clean-values';
import type { MultipathSettings } from '../../model/readings';
import type { Logger } from '../../util/log';
import { MultipathdError } from './client';
import { MultipathdHealth } from './health';
import { parseShowMaps } from './maps-json';
import { parseShowConfig } from './show-config';

/** A failure that says multipathd is not there, as opposed to one it may still have acted on. */
export const unreachable = (e: unknown): boolean => e instanceof MultipathdError && (e.kind === 'not-running' || e.kind === 'refused' || e.kind === 'closed');

export class MultipathdSource implements Source {
  readonly name = 'multipathd';
  private readonly health = new MultipathdHealth();
  private settings: MultipathSettings | undefined;
  private settingsStale = true;

  constructor(
    private readonly client: CommandChannel,
    private readonly log: Logger,
  ) {}

  get available(): boolean {
    return this.health.available;
  }

  readAllNext(): void {
    this.settingsStale = true;
  }

  stop(): void {
    this.client.close();
  }

  async read(): Promise<SourceRead> {
    try {
      const text = await this.client.request('show maps json');
      const parsed = parseShowMaps(text);
      if (!parsed.ok) throw new MultipathdError('malformed', `multipathd sent an unreadable map list: ${parsed.error}`);
      if (parsed.value.repaired) this.log.debug('multipathd sent invalid JSON (unescaped strings); read it tolerantly');
      for (const w of parsed.value.warnings) this.log.debug(`multipathd maps: ${w}`);
      const read: SourceRead = { readings: { multipathd: parsed.value.maps } };
      if (this.settingsStale || !this.settings) read.settings = await this.readSettings();
      if (this.health.succeeded()) {
        this.log.notice('multipathd is back; re-reading all state');
        // Found by this very read, which therefore confirms it.
        read.recovered = 'multipathd-restart';
        this.settingsStale = true;
      }
      return read;
    } catch (e) {
      const kind = e instanceof MultipathdError ? e.kind : 'unparsable';
      const lost = this.health.failed(kind);
      // An impostor is reported by the client itself, once, however often we retry.
      if (lost && kind !== 'untrusted') this.log.warning(`multipathd unavailable: ${(e as Error).message}; serving the kernel's view`);
      else this.log.debug(`multipathd read failed: ${(e as Error).message}`);
      return { retryAfterMs: this.health.backoffMs() };
    }
  }

  /** Settings are worth less than maps: a failure here is logged and the maps still count. */
  private async readSettings(): Promise<MultipathSettings | undefined> {
    let text: string;
    try {
      text = await this.client.request('show config');
    } catch (e) {
      this.log.warning(`multipathd config unreadable: ${(e as Error).message}`);
      return undefined;
    }
    const parsed = parseShowConfig(text);
    if (!parsed.ok) {
      this.log.warning(`multipathd config unreadable: ${parsed.error}`);
      return undefined;
    }
    this.settings = cleanSettings(parsed.value, (m) => this.log.warning(m));
    this.settingsStale = false;
    return this.settings;
  }
}
