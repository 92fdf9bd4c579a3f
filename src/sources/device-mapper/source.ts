// device-mapper as a source of the model: the kernel's own view of every multipath map, read
// after multipathd (the engine reads sources in order), so its answer is at least as new as
// every event applied so far. It stays true while multipathd is down or hung.
import type { Source, SourceRead } from '../../core/ports';
import type { Logger } from '../../util/log';
import { readDmMultipathMaps, type DmSource } from './reader';

export class DeviceMapperSource implements Source {
  readonly name = 'device-mapper';
  private failureLogged = false;

  constructor(
    private readonly dm: DmSource,
    private readonly log: Logger,
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
    for (const s of r.value.skipped) this.log.warning(`device-mapper: skipped ${s}`);
    return { readings: { dm: r.value.maps } };
  }

  stop(): void {}
}
