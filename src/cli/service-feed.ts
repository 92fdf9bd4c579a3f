// The service's events as a client may believe them. Any local user can send a signal
// addressed to our connection with the service's path, interface and a serial of its
// choosing, so: a signal counts only if it comes from the unique name that owns the service's
// name now (learned from the bus daemon: GetNameOwner, then its NameOwnerChanged), and a
// serial is trusted only as the next one; any other is a gap, filled from the owner's
// GetEvents (a serial the history does not know is no event at all). A new owner is asked
// for its InstanceId: a new instance numbers its events from 1 again (README, D-Bus API).
import { BUS_NAME, MANAGER_IFACE, MAP_IFACE, ROOT_PATH } from '../frontends/dbus/api';
import { BUS_DRIVER, callDriver, callMethod, onSignal, type BusConnection, type ReceivedSignal } from '../frontends/dbus/bus/connection';

/** GetEvents' own cap. */
const PAGE = 1000;

/** Signals that carry a serial, by interface and member: their arguments' names, the serial last. */
const SERIAL_SIGNALS: Record<string, Record<string, string[]>> = {
  [MAP_IFACE]: {
    PathFailed: ['Path', 'DevT', 'ValidPaths', 'DmSeqnum', 'serial'],
    PathReinstated: ['Path', 'DevT', 'ValidPaths', 'DmSeqnum', 'serial'],
    Failed: ['serial'],
    Restored: ['serial'],
    PolicyChanged: ['Properties', 'serial'],
  },
  [MANAGER_IFACE]: { Resynchronized: ['Reason', 'serial'] },
};

/** An event as GetEvents returns it; a live signal's arguments are named the same way. */
export interface FeedEvent {
  serial: bigint;
  name: string;
  object: string;
  data: Record<string, unknown>;
}

export interface FeedHandlers {
  /** Each event once, in serial order, whether it came as a signal or from the history. */
  event(e: FeedEvent): void;
  /** A signal of the owner's that carries no serial (InterfacesAdded, PropertiesChanged…). */
  signal(s: ReceivedSignal): void;
  /** Events after `after` were already dropped from the service's bounded history. */
  incomplete(after: bigint): void;
  /** The service left the bus, or came back as a new instance (awaited before its events). */
  owner(change: 'left' | 'restarted'): void | Promise<void>;
  /** Reading the history failed (not because the owner changed meanwhile). */
  failed(e: Error): void;
}

function eventOf(s: ReceivedSignal): FeedEvent | undefined {
  const names = SERIAL_SIGNALS[s.iface]?.[s.member];
  const serial = s.args[s.args.length - 1];
  if (!names || s.args.length !== names.length || typeof serial !== 'bigint') return undefined;
  const data: Record<string, unknown> = {};
  names.slice(0, -1).forEach((n, i) => (data[n] = s.args[i]));
  return { serial, name: s.member, object: s.path, data };
}

export class ServiceFeed {
  private owner: string | null = null;
  private instance: string | undefined;
  private last = 0n;
  private started = false;
  /** The owner changed since the history was last read: ask it for its InstanceId first. */
  private ownerChanged = false;
  private syncing: Promise<void> | null = null;
  private again = false;
  /** The owner's signals that came before start() or while the history was read, in order. */
  private held: ReceivedSignal[] = [];

  constructor(
    private readonly bus: BusConnection,
    private readonly handlers: FeedHandlers,
  ) {}

  /** Subscribe and learn the owner; before the service's state is read, so nothing falls between. */
  async subscribe(): Promise<void> {
    await onSignal(this.bus, { sender: BUS_DRIVER.name, iface: BUS_DRIVER.iface, member: 'NameOwnerChanged', arg0: BUS_NAME }, (s) => {
      // The daemon's own signals carry its name as sender; nobody else can.
      if (s.sender !== BUS_DRIVER.name || s.args[0] !== BUS_NAME) return;
      this.setOwner((s.args[2] as string) || null);
    });
    await onSignal(this.bus, { sender: BUS_NAME, pathNamespace: ROOT_PATH }, (s) => this.receive(s));
    // Newer than any NameOwnerChanged that came before it, older than any after.
    this.owner = await callDriver(this.bus, 'GetNameOwner', 's', [BUS_NAME]).then(
      ([o]) => o as string,
      () => null,
    );
  }

  /**
   * Start from `since` (its history first), or from the owner's EventSerial; resolves once
   * what was asked of the history is delivered.
   */
  async start(since?: bigint): Promise<void> {
    const owner = this.owner ?? BUS_NAME;
    this.instance = (await this.manager(owner, 'InstanceId')) as string;
    this.last = since ?? ((await this.manager(owner, 'EventSerial')) as bigint);
    this.started = true;
    await this.sync();
  }

  private manager(owner: string, prop: string): Promise<unknown> {
    return callMethod(this.bus, owner, ROOT_PATH, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MANAGER_IFACE, prop]).then(([v]) => v);
  }

  private setOwner(owner: string | null): void {
    this.owner = owner;
    if (!this.started) return;
    if (!owner) return void this.handlers.owner('left');
    this.ownerChanged = true;
    void this.sync();
  }

  private receive(s: ReceivedSignal): void {
    if (s.sender !== this.owner) return;
    if (!this.started || this.syncing) this.held.push(s);
    else this.handle(s);
  }

  private handle(s: ReceivedSignal): void {
    const e = eventOf(s);
    if (!e) return this.handlers.signal(s);
    if (e.serial <= this.last) return;
    if (e.serial === this.last + 1n) {
      this.last = e.serial;
      return this.handlers.event(e);
    }
    // A gap: the history says what is missing, and whether this serial is an event at all.
    void this.sync();
  }

  /** Read the history from the last event on; one reader at a time, again if asked meanwhile. */
  private sync(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        const owner = this.owner;
        try {
          if (owner) await this.catchUp(owner);
        } catch (e) {
          if (owner === this.owner && this.bus.connected) this.handlers.failed(e as Error);
        }
      } while (this.again);
    })().finally(() => {
      this.syncing = null;
      this.release();
    });
    return this.syncing;
  }

  private async catchUp(owner: string): Promise<void> {
    if (this.ownerChanged) {
      this.ownerChanged = false;
      const instance = await this.manager(owner, 'InstanceId');
      if (owner !== this.owner) return;
      if (instance !== this.instance) {
        this.instance = instance as string;
        this.last = 0n;
        await this.handlers.owner('restarted');
      }
    }
    let reported = false;
    for (;;) {
      const after = this.last;
      const [complete, events] = (await callMethod(this.bus, owner, ROOT_PATH, MANAGER_IFACE, 'GetEvents', 'tu', [after, PAGE])) as [
        boolean,
        [bigint, string, string, Record<string, unknown>][],
      ];
      // Another owner meanwhile: the next round reads its history instead.
      if (owner !== this.owner) return;
      if (!complete && !reported) {
        reported = true;
        this.handlers.incomplete(after);
      }
      for (const [serial, name, object, data] of events) {
        if (serial <= this.last) continue;
        this.last = serial;
        this.handlers.event({ serial, name, object, data });
      }
      // A page can be cut short by the message size limit: only an empty one is the end.
      if (events.length === 0) return;
    }
  }

  /** The signals held while the history was read: those it did not already cover. */
  private release(): void {
    const held = this.held.splice(0);
    for (let i = 0; i < held.length; i++) {
      if (this.syncing) {
        this.held.unshift(...held.slice(i));
        return;
      }
      if (held[i].sender === this.owner) this.handle(held[i]);
    }
  }
}
