// The live event list, kept gap-free the way the README asks of a client that must never
// miss a transition: start from EventSerial and GetEvents; a signal whose serial is the
// last one plus one is appended as it is; any other gap is filled from GetEvents; when the
// service says the history is incomplete, the owner re-reads everything.

export interface LoggedEvent {
  serial: number;
  kind: string;
  /** The object the event is about (a map, a path, or the manager). */
  object: string;
  details: Record<string, unknown>;
  /** When the page learned of it; null for events that happened before the page loaded. */
  received: Date | null;
}

type RawEvent = [number, string, string, Record<string, { v: unknown }>];
export type FetchEvents = (since: number, max: number) => Promise<{ complete: boolean; events: RawEvent[] }>;

/** Events kept in memory and shown. */
export const KEEP = 500;
const PAGE = 1000;

export class EventLog {
  private events: LoggedEvent[] = [];
  /** What list() last returned: a new array only when an event was added (cheap re-renders). */
  private snapshot: LoggedEvent[] = [];
  private last = 0;
  private catching: Promise<void> | null = null;
  private again = false;

  constructor(
    /** Replaced when the page re-reads from a new session of the same service instance. */
    public fetch: FetchEvents,
    private readonly changed: () => void,
    private readonly incomplete: () => void,
  ) {}

  list(): LoggedEvent[] {
    if (this.snapshot.length !== this.events.length || this.snapshot[this.snapshot.length - 1] !== this.events[this.events.length - 1]) {
      this.snapshot = [...this.events];
    }
    return this.snapshot;
  }

  /** The service's EventSerial was read: show the recent history, then follow. */
  async start(serial: number): Promise<void> {
    this.last = Math.max(this.last, serial - KEEP, 0);
    await this.catchUp(false);
  }

  /** A signal arrived carrying `serial`. */
  signal(serial: number, kind: string, object: string, details: Record<string, unknown>): void {
    if (serial <= this.last) return;
    if (serial === this.last + 1 && !this.catching) {
      this.push({ serial, kind, object, details, received: new Date() });
      this.changed();
      return;
    }
    void this.catchUp(true);
  }

  private catchUp(live: boolean): Promise<void> {
    if (this.catching) {
      this.again = true;
      return this.catching;
    }
    this.catching = (async () => {
      do {
        this.again = false;
        for (;;) {
          const since = this.last;
          const { complete, events } = await this.fetch(since, PAGE);
          if (!complete && live) return this.incomplete();
          for (const [serial, kind, object, data] of events) {
            if (serial <= this.last) continue;
            const details = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.v]));
            this.push({ serial, kind, object, details, received: live ? new Date() : null });
          }
          if (events.length < PAGE) break;
        }
      } while (this.again);
    })().finally(() => {
      this.catching = null;
      this.changed();
    });
    return this.catching;
  }

  private push(e: LoggedEvent): void {
    this.last = e.serial;
    this.events.push(e);
    if (this.events.length > KEEP) this.events.splice(0, this.events.length - KEEP);
  }
}
