// The kernel's uevents as a source of the model: each datagram is parsed here (counted, the
// malformed ones warned about at most every 10 s) and what the model applies goes to the
// engine. It has no reading of its own: what a uevent cannot say, the other sources are read for.
import type { SourceEvents, Source, Timers } from '../../core/ports';
import { rateLimited, type Logger } from '../../util/log';
import { parseUevent } from './parse';
import { UeventSocket, type OpenMonitor } from './socket';

export interface UeventStats {
  datagrams: number;
  malformed: number;
  ignored: number;
  overflows: number;
}

export class UeventSource implements Source {
  readonly name = 'kernel uevents';
  readonly stats: UeventStats = { datagrams: 0, malformed: 0, ignored: 0, overflows: 0 };
  private readonly socket: UeventSocket | undefined;
  private readonly warnMalformed: (msg: string) => void;
  private events: SourceEvents | undefined;

  /** `open` undefined: no socket (the demo and tests feed datagrams through `datagram`). */
  constructor(open: OpenMonitor | undefined, receiveBufferBytes: number, log: Logger, timers: Timers) {
    this.warnMalformed = rateLimited((m) => log.warning(m), 10_000, () => timers.now());
    this.socket =
      open &&
      new UeventSocket(open, receiveBufferBytes, log, timers, {
        onDatagram: (d) => this.datagram(d),
        onOverflow: () => {
          this.stats.overflows++;
          log.warning('kernel uevent socket overflowed (ENOBUFS): events were lost, re-reading all state');
          this.events?.lost('overflow');
        },
        onLost: () => this.events?.healthChanged(),
        onReopened: () => {
          this.events?.healthChanged();
          this.events?.lost('uevent-reopened');
        },
      });
  }

  get available(): boolean {
    return this.socket?.available ?? false;
  }

  start(events: SourceEvents): void {
    this.events = events;
    this.socket?.start();
  }

  stop(): void {
    this.socket?.stop();
  }

  /** The entry point of every kernel datagram, real or simulated. */
  datagram(datagram: Buffer): void {
    this.stats.datagrams++;
    const parsed = parseUevent(datagram);
    if (parsed.kind === 'malformed') {
      this.stats.malformed++;
      this.warnMalformed(`skipped a malformed uevent (${this.stats.malformed} so far): ${parsed.reason}`);
      return;
    }
    if (parsed.kind === 'ignored') {
      this.stats.ignored++;
      return;
    }
    this.events?.event(parsed.event);
  }
}
