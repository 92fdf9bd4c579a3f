// The kernel's uevent socket, kept open for the uevent source. Any failure the addon reports
// (a receive error, an overflow it could not recover from, a poll it could not restart),
// and any failure to open it, closes the socket, says so once, and reopens it with
// backoff; until then the engine relies on reads. A socket opened again after a failure
// means events were missed: the engine re-reads everything and says Resynchronized.
import type { UeventHandlers, UeventMonitor, UeventMonitorOptions } from '../../native/addon';
import type { Logger } from '../../util/log';
import { backoffMs } from '../../util/backoff';
import type { Timers } from '../../core/ports';

/** The seam: the addon's monitor in the service, a fake in tests. */
export type OpenMonitor = (options: UeventMonitorOptions, handlers: UeventHandlers) => UeventMonitor;

export interface UeventSocketHandlers {
  onDatagram(datagram: Buffer): void;
  onOverflow(): void;
  /** The socket failed: no kernel events until it is reopened. */
  onLost(): void;
  /** Open again after a failure: whatever happened meanwhile was not seen. */
  onReopened(): void;
}

export class UeventSocket {
  private monitor: UeventMonitor | undefined;
  private failures = 0;
  private timer: unknown;
  private stopped = false;

  constructor(
    private readonly open: OpenMonitor,
    private readonly receiveBufferBytes: number,
    private readonly log: Logger,
    private readonly timers: Timers,
    private readonly handlers: UeventSocketHandlers,
  ) {}

  get available(): boolean {
    return this.monitor !== undefined && !this.monitor.closed;
  }

  start(): void {
    this.attempt();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.monitor?.close();
    this.monitor = undefined;
  }

  private attempt(): void {
    this.timer = undefined;
    if (this.stopped) return;
    let opened: UeventMonitor | undefined;
    try {
      opened = this.open(
        { receiveBufferBytes: this.receiveBufferBytes },
        {
          onDatagram: (d) => this.handlers.onDatagram(d),
          onOverflow: () => this.handlers.onOverflow(),
          onError: (e) => this.failed(opened, e.message),
        },
      );
    } catch (e) {
      this.failed(undefined, (e as Error).message);
      return;
    }
    this.monitor = opened;
    if (this.failures === 0) return;
    this.log.notice(`kernel uevent socket reopened after ${this.failures} failed attempt${this.failures > 1 ? 's' : ''}; re-reading all state`);
    this.failures = 0;
    this.handlers.onReopened();
  }

  /** `which` is the monitor that failed, undefined when opening one failed. */
  private failed(which: UeventMonitor | undefined, why: string): void {
    // A monitor delivers nothing once closed, but a late report must not close its successor.
    if (which !== this.monitor || this.stopped) return;
    this.monitor?.close();
    this.monitor = undefined;
    this.failures++;
    const delay = backoffMs(this.failures);
    if (this.failures === 1) {
      this.log.warning(`kernel uevents unavailable (${why}); relying on reads, reopening the socket in ${delay / 1000} s`);
      this.handlers.onLost();
    } else {
      this.log.debug(`kernel uevent socket still failing (${why}); next attempt in ${delay / 1000} s`);
    }
    this.timer = this.timers.setTimeout(() => this.attempt(), delay);
  }
}
