// device-mapper as a source of the model: the kernel's own view of every multipath map, read
// after multipathd (the engine reads sources in order), so its answer is at least as new as
// every event applied so far. It stays true while multipathd is down or hung. Started, it
// also tells the engine of map changes the kernel sends no uevent for (change-watch.ts).
import type { Source, SourceEvents, SourceRead, Timers } from '../../core/ports';
import type { Logger } from '../../util/log';
import { DmChangeWatch } from './change-watch';
import { readDmMultipathMaps, type DmSource } from './reader';

export class DeviceMapperSource implements Source {
  readonly name = 'device-mapper';
  private failureLogged = false;
  private watch: DmChangeWatch | undefined;

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
    const r = readDmMultipathMaps(this.dm);
    if (!r.ok) {
      if (!this.failureLogged) this.log.warning(`device-mapper unreadable: ${r.error}`);
      this.failureLogged = true;
      return {};
    }
    this.failureLogged = false;
    this.watch?.seen(r.value.devices);
    for (const s of r.value.skipped) this.log.warning(`device-mapper: skipped ${s}`);
    return { readings: { dm: r.value.maps } };
  }

  start(events: SourceEvents): void {
    this.watch = new DmChangeWatch(this.dm, { timers: this.poll.timers, pollIntervalMs: this.poll.intervalMs, log: this.log }, () => events.changed());
    this.watch.start();
  }

  stop(): void {
    this.watch?.stop();
  }
}
