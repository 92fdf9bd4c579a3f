// A bounded history of everything the service announced, so a client that missed events
// (dbus-daemon drops signals silently when a subscriber's queue is full) can catch up.
import type { CoreEvent } from './events';

export const MAX_EVENTS_PER_CALL = 1000;

export class EventHistory {
  private readonly ring: (CoreEvent | undefined)[];
  private start = 0;
  private count = 0;
  private serial = 0n;

  constructor(readonly capacity: number) {
    this.ring = new Array(capacity);
  }

  get lastSerial(): bigint {
    return this.serial;
  }

  /** Number the event (its serial is set here) and keep it. */
  append<E extends CoreEvent>(ev: E): E {
    ev.serial = ++this.serial;
    if (this.count < this.capacity) {
      this.ring[(this.start + this.count++) % this.capacity] = ev;
    } else {
      this.ring[this.start] = ev;
      this.start = (this.start + 1) % this.capacity;
    }
    return ev;
  }

  /**
   * Events with serial > since, at most `max` (capped). `complete` is false when events after
   * `since` were already dropped, or when `since` is from the future (another instance).
   */
  since(since: bigint, max: number): { complete: boolean; events: CoreEvent[] } {
    const limit = Math.max(0, Math.min(max, MAX_EVENTS_PER_CALL));
    if (since > this.serial) return { complete: false, events: [] };
    const oldest = this.count > 0 ? this.ring[this.start]!.serial : this.serial + 1n;
    const complete = since >= oldest - 1n;
    const from = since < oldest ? 0 : Number(since - oldest + 1n);
    const events: CoreEvent[] = [];
    for (let i = from; i < this.count && events.length < limit; i++) {
      events.push(this.ring[(this.start + i) % this.capacity]!);
    }
    return { complete, events };
  }
}
