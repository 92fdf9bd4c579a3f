// Fair limits for unprivileged callers: a token bucket per uid, in bytes. Every call costs a
// fixed amount when it is admitted and the size of its reply when that is sent, so the CPU a
// user can make the service spend on marshalling is bounded whatever the method; a management
// call (polkit asked, multipathd commanded) pays far more, so one uid cannot keep many of them
// going (see ManagementDeps.charge). A call that
// finds its bucket empty waits (FIFO) until the bucket has refilled; one that finds too many
// waiting is refused with LimitsExceeded at once. Root is never asked to wait (the caller of
// this module decides who is root).
import { DBusError } from './bus/object-server';
import type { Timers } from '../../core/ports';

export interface BudgetLimits {
  /** Sustained reply bytes per second, per uid. */
  bytesPerSecond: number;
  /** What a uid may spend at once after being idle: a reply of the largest size, and then some. */
  burstBytes: number;
  /** Charged on admission: the cost of a call whose reply is tiny (parsing, routing, an error). */
  perCallBytes: number;
  /** Calls of one uid waiting for its bucket; more are refused. */
  maxWaiting: number;
  /** Charged to each management call besides: what asking polkit and multipathd costs, in reply bytes. */
  managementCallBytes: number;
}

export const DEFAULT_BUDGET: BudgetLimits = {
  bytesPerSecond: 2 * 1024 * 1024,
  burstBytes: 32 * 1024 * 1024,
  perCallBytes: 4096,
  maxWaiting: 32,
  // A burst of 16 management calls, then one a second.
  managementCallBytes: 2 * 1024 * 1024,
};

interface Bucket {
  tokens: number;
  at: number;
  waiting: (() => void)[];
  timer: unknown;
}

export class CallerBudgets {
  private readonly buckets = new Map<number, Bucket>();

  constructor(
    private readonly timers: Timers,
    readonly limits: BudgetLimits = DEFAULT_BUDGET,
  ) {}

  /** Resolves when the uid may proceed (undefined: at once); rejects with LimitsExceeded when too many wait. */
  admit(uid: number): Promise<void> | undefined {
    const b = this.bucket(uid);
    if (b.waiting.length === 0 && b.tokens > 0) {
      b.tokens -= this.limits.perCallBytes;
      return undefined;
    }
    if (b.waiting.length >= this.limits.maxWaiting) {
      return Promise.reject(
        new DBusError(
          'org.freedesktop.DBus.Error.LimitsExceeded',
          `${b.waiting.length} calls of uid ${uid} are already waiting for its budget (${this.limits.bytesPerSecond} reply bytes per second); retry later`,
        ),
      );
    }
    const admitted = new Promise<void>((resolve) => b.waiting.push(resolve));
    this.arm(b);
    return admitted;
  }

  charge(uid: number, bytes: number): void {
    this.bucket(uid).tokens -= bytes;
  }

  stop(): void {
    for (const b of this.buckets.values()) {
      if (b.timer !== undefined) this.timers.clearTimeout(b.timer);
      for (const w of b.waiting.splice(0)) w();
    }
    this.buckets.clear();
  }

  private bucket(uid: number): Bucket {
    let b = this.buckets.get(uid);
    if (!b) {
      if (this.buckets.size >= 64) this.forgetIdle();
      b = { tokens: this.limits.burstBytes, at: this.timers.now(), waiting: [], timer: undefined };
      this.buckets.set(uid, b);
    }
    this.refill(b);
    return b;
  }

  private refill(b: Bucket): void {
    const now = this.timers.now();
    b.tokens = Math.min(this.limits.burstBytes, b.tokens + ((now - b.at) * this.limits.bytesPerSecond) / 1000);
    b.at = now;
  }

  /** Full buckets with nobody waiting carry no information. */
  private forgetIdle(): void {
    for (const [uid, b] of this.buckets) {
      this.refill(b);
      if (b.waiting.length === 0 && b.tokens >= this.limits.burstBytes) this.buckets.delete(uid);
    }
  }

  /**
   * Release one waiting call once the bucket is positive again. One at a time: the released
   * call charges its reply before the timer runs again, so waiting calls cannot overdraw together.
   */
  private arm(b: Bucket): void {
    if (b.timer !== undefined || b.waiting.length === 0) return;
    const wait = b.tokens > 0 ? 0 : Math.ceil((-b.tokens * 1000) / this.limits.bytesPerSecond) + 1;
    b.timer = this.timers.setTimeout(() => {
      b.timer = undefined;
      this.refill(b);
      if (b.tokens > 0) {
        b.tokens -= this.limits.perCallBytes;
        b.waiting.shift()!();
      }
      this.arm(b);
    }, wait);
  }
}
