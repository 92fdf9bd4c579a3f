// A bounded history of everything the service announced, so a client that missed signals
// (dbus-daemon drops them silently when a subscriber's queue is full) can catch up.

export type EventValue =
  | { type: 's' | 'o'; value: string }
  | { type: 'u'; value: number }
  | { type: 'b'; value: boolean }
  | { type: 'as'; value: string[] };

export interface HistoryEvent {
  serial: bigint;
  name: string;
  object: string;
  data: Record<string, EventValue>;
}

export const MAX_EVENTS_PER_CALL = 1000;

export class EventHistory {
  private readonly ring: (HistoryEvent | undefined)[];
  private start = 0;
  private count = 0;
  private serial = 0n;

  constructor(readonly capacity: number) {
    this.ring = new Array(capacity);
  }

  get lastSerial(): bigint {
    return this.serial;
  }

  append(name: string, object: string, data: Record<string, EventValue>): HistoryEvent {
    const ev: HistoryEvent = { serial: ++this.serial, name, object, data };
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
  since(since: bigint, max: number): { complete: boolean; events: HistoryEvent[] } {
    const limit = Math.max(0, Math.min(max, MAX_EVENTS_PER_CALL));
    if (since > this.serial) return { complete: false, events: [] };
    const oldest = this.count > 0 ? this.ring[this.start]!.serial : this.serial + 1n;
    const complete = since >= oldest - 1n;
    const from = since < oldest ? 0 : Number(since - oldest + 1n);
    const events: HistoryEvent[] = [];
    for (let i = from; i < this.count && events.length < limit; i++) {
      events.push(this.ring[(this.start + i) % this.capacity]!);
    }
    return { complete, events };
  }
}
