// device-mapper as a source of the model: the kernel's own view of every multipath map, read
// after multipathd (the engine reads sources in order), so its answer is at least as new as
// every event applied so far. It stays true while multipathd is down or hung. Started, it
// also tells the engine of map changes the kernel sends no uevent for (change-watch.ts), and
// the read that follows asks the kernel only about the maps the watch named.
import type { Source, SourceEvents, SourceRead, Timers } from '../../core/ports';
import type { DmMapView } from '../../model/readings';
import { onceWhileLasting, type Logger } from '../../util/log';
import { DmChangeWatch } from './change-watch';
import { readDmMultipathMaps, type DmSource } from './reader';
import type { DmDeviceInfo } from '../../native/addon';

export class DeviceMapperSource implements Source {
  readonly name = 'device-mapper';
  private failureLogged = false;
  private watch: DmChangeWatch | undefined;
  /** What the last read found, by map name, and each device's event counter when it was read. */
  private views = new Map<string, DmMapView>();
  private eventNrs = new Map<string, number>();
  /** A map that does not parse is skipped on every read: said once while it lasts. */
  private readonly reportSkipped = onceWhileLasting((s) => this.log.warning(`device-mapper: skipped ${s}`));
  /**
   * What the watch said changed since the last read: those maps are read again and the others
   * kept; 'all' (a change the watch could not place), or nothing said (a read the engine
   * wants for its own reasons: a uevent, a resync, the safety net): every map is read.
   */
  private changedMaps: Set<string> | 'all' | undefined;

  constructor(
    private readonly dm: DmSource,
    private readonly log: Logger,
    /** For the watch: where the global event counter cannot be watched, how often the devices are listed (0: never). */
    private readonly poll: { timers: Timers; intervalMs: number },
  ) {}

  get available(): boolean {
    return !this.failureLogged;
  }

  read(): SourceRead {
    const changed = this.changedMaps;
    this.changedMaps = undefined;
    const kept =
      changed instanceof Set
        ? (d: DmDeviceInfo) => {
            const view = this.views.get(d.name);
            // Kept only as read at this very counter: a map that moved since the watch's list (or
            // between two polls) is read again, not hidden behind the list this read records.
            return !changed.has(d.name) && view?.uuid === d.uuid && view.devT === d.devT && this.eventNrs.get(d.name) === d.eventNr ? view : undefined;
          }
        : undefined;
    const r = readDmMultipathMaps(this.dm, undefined, kept);
    if (!r.ok) {
      if (!this.failureLogged) this.log.warning(`device-mapper unreadable: ${r.error}`);
      this.failureLogged = true;
      return {};
    }
    this.failureLogged = false;
    this.watch?.seen(r.value.devices);
    this.views = new Map(r.value.maps.map((m) => [m.name, m]));
    this.eventNrs = new Map(r.value.devices.map((d) => [d.name, d.eventNr]));
    this.reportSkipped(r.value.skipped);
    return { readings: { dm: r.value.maps } };
  }

  start(events: SourceEvents): void {
    this.watch = new DmChangeWatch(this.dm, { timers: this.poll.timers, pollIntervalMs: this.poll.intervalMs, log: this.log }, (maps) => {
      const pending = this.changedMaps;
      this.changedMaps = maps === undefined || pending === 'all' ? 'all' : new Set([...(pending ?? []), ...maps]);
      events.changed();
    });
    this.watch.start();
  }

  stop(): void {
    this.watch?.stop();
  }
}
