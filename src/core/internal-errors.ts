// The one path for bugs. Every place where asynchronous work starts (a read, a kernel
// datagram, a method call, a timer, the end of a burst) hands what it throws here: it is
// logged with where it happened, and since the state it leaves behind is unknown, a full
// re-read and republish follows. The service never exits over it; a caller gets Failed.
import type { Logger } from '../util/log';

export class InternalErrors {
  constructor(
    private readonly log: Logger,
    /** Re-read everything and republish it all (coalesced: at most one read per interval). */
    private readonly recover: () => void,
  ) {}

  report(context: string, e: unknown): void {
    this.log.error(`internal error in ${context}, re-reading all state: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    try {
      this.recover();
    } catch (again) {
      this.log.error(`internal error while recovering from it: ${String(again)}`);
    }
  }

  /** `fn`, reporting what it throws instead of letting it reach the event loop. */
  guard<A extends unknown[]>(context: string, fn: (...args: A) => void): (...args: A) => void {
    return (...args) => {
      try {
        fn(...args);
      } catch (e) {
        this.report(context, e);
      }
    };
  }
}
