// Many requests, one read: callers that arrive while a read runs share the next one, and
// reads start at most once per interval however hard they are asked for. A read that
// throws is reported (onError) and its callers' promises reject; nothing is left unhandled.
import { realTimers, type Timers } from './ports';

export class Coalescer {
  private running = false;
  private lastStart = -Infinity;
  private timer: unknown;
  private waiting: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private stopped = false;
  private scheduled = false;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly minIntervalMs: number,
    private readonly timers: Timers = realTimers,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {}

  /** Resolves when a read that began after this call has finished; rejects if it threw. */
  request(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (!this.running) this.arm();
    return done;
  }

  /** Ask for a read without waiting for it (the event path: no promise per event). */
  schedule(): void {
    if (this.stopped) return;
    this.scheduled = true;
    if (!this.running) this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiting.splice(0)) w.resolve();
  }

  private arm(): void {
    if (this.timer !== undefined || this.stopped) return;
    const wait = Math.max(0, this.lastStart + this.minIntervalMs - this.timers.now());
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      // go() reports a failing read itself and never rejects.
      void this.go();
    }, wait);
  }

  private async go(): Promise<void> {
    if (this.stopped) return;
    const served = this.waiting.splice(0);
    this.scheduled = false;
    this.running = true;
    this.lastStart = this.timers.now();
    let failure: { e: unknown } | undefined;
    try {
      await this.run();
    } catch (e) {
      failure = { e };
      this.onError(e);
    }
    this.running = false;
    for (const w of served) {
      if (failure) w.reject(failure.e);
      else w.resolve();
    }
    if (this.waiting.length > 0 || this.scheduled) this.arm();
  }
}
