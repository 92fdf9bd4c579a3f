// The state as clients have been shown it: the event stream's last sink, after every front
// end's publisher, so what it holds at the end of a burst is what every front end already
// says. A management command waits here until its effect is part of it.
import type { Topology } from '../../model/topology';
import type { Burst, Sink } from '../events';
import type { Timers } from '../ports';

interface Waiter {
  visible: (now: Topology) => boolean;
  done: (seen: boolean) => void;
}

export class ShownState implements Sink {
  private current: Topology = new Map();
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly timers: Timers) {}

  get topology(): Topology {
    return this.current;
  }

  event(): void {}

  burst(b: Burst): void {
    this.current = b.topology;
    for (const w of this.waiters) if (w.visible(b.topology)) w.done(true);
  }

  /** Resolves true as soon as the published state satisfies `visible` (now, or at a burst's end), false after `ms`. */
  until(visible: (now: Topology) => boolean, ms: number): Promise<boolean> {
    if (visible(this.current)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w: Waiter = {
        visible,
        done: (seen) => {
          this.waiters.delete(w);
          this.timers.clearTimeout(timer);
          resolve(seen);
        },
      };
      const timer = this.timers.setTimeout(() => w.done(false), ms);
      this.waiters.add(w);
    });
  }
}
