// The page's connection to the service: follows the bus name's owner, and for each owner
// opens a fresh client that reads the whole tree (a re-read is a new session), the event
// history, and the signals. When nobody owns the name, it finds out why from the config file.
import { BUS_NAME, CONFIG_FILE, MANAGER, MAP, MAP_SIGNALS, ROOT, emptyObjects, type Objects } from './api';
import { _, cockpit, type DBusClient, type DBusError } from './cockpit';
import { EventLog, type FetchEvents, type LoggedEvent } from './events';
import { SummarySource, WatchedSource, type TopologySource } from './topology';

export type Absence = 'not-installed' | 'disabled' | 'stopped';

export type State =
  | { kind: 'connecting' }
  | { kind: 'absent'; why: Absence }
  | { kind: 'ready'; paged: boolean }
  | { kind: 'error'; message: string };

export interface View {
  state: State;
  objects: Objects;
  events: LoggedEvent[];
}

const OPTIONS = { bus: 'system', superuser: 'try' } as const;
/** The most objects one GetManagedObjectsPage returns. */
const OBJECTS_PER_PAGE = 1000;

/** `enable = yes` (or true or 1) in the config file, as src/config/config-file.ts reads it. */
export function configEnables(text: string): boolean {
  return /^\s*enable\s*=\s*(yes|true|1)\s*(#.*)?$/im.test(text);
}

export class Connection {
  private watcher: DBusClient | null = null;
  private session: Session | null = null;
  private state: State = { kind: 'connecting' };
  private instanceId: string | null = null;
  private log: EventLog | null = null;
  private scheduled = false;
  private closed = false;

  constructor(private readonly render: (view: View) => void) {}

  start(): void {
    const watcher = cockpit.dbus(BUS_NAME, OPTIONS);
    this.watcher = watcher;
    watcher.addEventListener('owner', (_ev, owner) => {
      this.session?.close();
      this.session = null;
      if (owner) this.attach();
      else void this.absent();
    });
    watcher.addEventListener('close', (_ev, options) => {
      if (this.closed) return;
      this.set({ kind: 'error', message: cockpit.message(options) });
    });
  }

  stop(): void {
    this.closed = true;
    this.session?.close();
    this.watcher?.close();
  }

  /** The map at this object path is shown expanded: its paths are read and followed. */
  expand(map: string): void {
    this.session?.source?.expand(map);
  }

  /** A management method on one of the service's objects; rejects with the service's error. */
  call(path: string, iface: string, method: string, signature: string, args: unknown[]): Promise<unknown[]> {
    if (!this.session) return Promise.reject({ name: `${BUS_NAME}.Error.Unavailable`, message: _('The multipath service is not running.') });
    return this.session.client.call(path, iface, method, args, { type: signature, flags: 'i' });
  }

  private attach(): void {
    this.set({ kind: 'connecting' });
    const session = new Session(() => this.schedule());
    this.session = session;
    session
      .open()
      .then(async () => {
        if (this.session !== session) return;
        const manager = session.source!.objects().manager;
        if (!this.log || manager?.InstanceId !== this.instanceId) {
          this.instanceId = manager?.InstanceId ?? null;
          this.log = new EventLog(session.fetchEvents, () => this.schedule(), () => this.reread());
        } else {
          this.log.fetch = session.fetchEvents;
        }
        const log = this.log;
        this.set({ kind: 'ready', paged: session.source instanceof SummarySource });
        await log.start(manager?.EventSerial ?? 0);
        session.follow((serial, kind, object, details) => log.signal(serial, kind, object, details));
      })
      .catch((e: DBusError) => {
        if (this.session !== session) return;
        this.set({ kind: 'error', message: e.message || cockpit.message(e) });
      });
  }

  /** The history lost events this page had not seen: everything is read again. */
  private reread(): void {
    this.session?.close();
    this.attach();
  }

  private async absent(): Promise<void> {
    const file = cockpit.file(CONFIG_FILE);
    let text: string | null = null;
    try {
      text = await file.read();
    } catch {
      // unreadable: treat as not installed, the most useful advice
    } finally {
      file.close();
    }
    if (this.session) return;
    this.set({ kind: 'absent', why: text === null ? 'not-installed' : configEnables(text) ? 'stopped' : 'disabled' });
  }

  private set(state: State): void {
    this.state = state;
    this.schedule();
  }

  /** Many D-Bus changes arrive in one burst: render once for all of them. */
  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      const live = this.state.kind === 'ready';
      this.render({
        state: this.state,
        objects: live && this.session?.source ? this.session.source.objects() : emptyObjects(),
        events: this.log ? this.log.list() : [],
      });
    }, 0);
  }
}

type EventHandler = (serial: number, kind: string, object: string, details: Record<string, unknown>) => void;

/** One owner of the bus name: a client, its tree, its signals. */
class Session {
  readonly client: DBusClient = cockpit.dbus(BUS_NAME, OPTIONS);
  source: TopologySource | null = null;
  private onEvent: EventHandler | null = null;
  private pending: Parameters<EventHandler>[] = [];

  constructor(private readonly changed: () => void) {}

  readonly fetchEvents: FetchEvents = async (since, max) => {
    const [complete, events] = (await this.client.call(ROOT, MANAGER, 'GetEvents', [since, max], { type: 'tu' })) as [boolean, never];
    return { complete, events };
  };

  async open(): Promise<void> {
    // Subscribed before the tree is read, so that nothing between the read and the
    // subscription is missed; signals wait until the event log has started.
    const deliver: EventHandler = (serial, kind, object, details) => {
      if (this.onEvent) this.onEvent(serial, kind, object, details);
      else this.pending.push([serial, kind, object, details]);
    };
    this.client.subscribe({ interface: MAP, path_namespace: ROOT }, (path, _i, signal, args) => {
      if (!MAP_SIGNALS.includes(signal)) return;
      const serial = Number(args[args.length - 1]);
      const details: Record<string, unknown> =
        signal === 'PathFailed' || signal === 'PathReinstated'
          ? { Path: args[0], DevT: args[1], ValidPaths: args[2], DmSeqnum: args[3] }
          : signal === 'PolicyChanged'
            ? { Properties: args[0] }
            : {};
      deliver(serial, signal, path, details);
    });
    this.client.subscribe({ interface: MANAGER, member: 'Resynchronized', path: ROOT }, (path, _i, signal, args) =>
      deliver(Number(args[1]), signal, path, { Reason: args[0] }),
    );
    // The summaries tell whether the tree may be small enough for Cockpit's watch() (one
    // GetManagedObjects, which the bridge then keeps current); one page of the service's
    // objects says whether it is. The bridge cannot be trusted with a tree past the bus
    // limit: when GetManagedObjects answers LimitsExceeded, it falls back to introspecting
    // every object one by one, which takes minutes on such a host.
    const summaries = new SummarySource(this.client, this.changed);
    await summaries.open();
    if (summaries.small(OBJECTS_PER_PAGE) && (await this.fitsOnePage())) {
      summaries.close();
      this.source = new WatchedSource(this.client, this.changed);
      await this.source.open();
    } else {
      this.source = summaries;
    }
  }

  private async fitsOnePage(): Promise<boolean> {
    const [, next] = (await this.client.call(ROOT, MANAGER, 'GetManagedObjectsPage', ['', OBJECTS_PER_PAGE], { type: 'su' })) as [unknown, string];
    return next === '';
  }

  /** Deliver the signals (those that came while the tree was read first). */
  follow(handler: EventHandler): void {
    this.onEvent = handler;
    for (const p of this.pending.splice(0)) handler(...p);
  }

  close(): void {
    this.source?.close();
    this.client.close();
  }
}
