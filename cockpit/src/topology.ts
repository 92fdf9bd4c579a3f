// Two ways to read the service's tree and keep it current, behind one interface so the
// session does not care which: Cockpit's own watch() (one GetManagedObjects, then the
// bridge's cache follows the signals), and, for hosts whose tree is more than one of the
// service's pages (GetManagedObjects may answer LimitsExceeded), its paged reader, which
// reads the maps (all the page shows) and a map's paths only when it is expanded.
import { GROUP, MANAGER, MAP, PATH, ROOT, emptyObjects, type Objects } from './api';
import type { DBusClient, Subscription } from './cockpit';

export interface TopologySource {
  /** Resolves once the manager and every map were read; `changed` is called after every later change. */
  open(): Promise<void>;
  objects(): Objects;
  /** The map at this object path is shown expanded: its paths are needed from now on. */
  expand(map: string): void;
  close(): void;
}

const IFACES = { [MANAGER]: 'manager', [MAP]: 'maps', [GROUP]: 'groups', [PATH]: 'paths' } as const;

/** The objects by interface, updated from {path: {interface: properties | null}} batches. */
class Store {
  readonly objects = emptyObjects();

  /**
   * `replace`: the whole object; `update`: some properties of an object already known (else
   * ignored: its whole value is still to come); `upsert`: merged onto whatever is known.
   */
  set(path: string, iface: string, values: Record<string, unknown>, mode: 'replace' | 'update' | 'upsert'): void {
    const key = IFACES[iface as keyof typeof IFACES];
    if (!key) return;
    const old = key === 'manager' ? this.objects.manager : this.objects[key].get(path);
    if (mode === 'update' && !old) return;
    const next = { ...(mode === 'replace' ? {} : old), ...values } as never;
    if (key === 'manager') this.objects.manager = next;
    else this.objects[key].set(path, next);
  }

  /** A new identity for every render (the maps inside are shared: renders only read them). */
  snapshot(): Objects {
    return { ...this.objects };
  }

  remove(path: string, iface: string): void {
    const key = IFACES[iface as keyof typeof IFACES];
    if (key === 'manager') this.objects.manager = null;
    else if (key) this.objects[key].delete(path);
  }
}

/**
 * One watch() on the ObjectManager root; the bridge sends the tree and every later change
 * as "notify" batches, which fill the store.
 */
export class WatchedSource implements TopologySource {
  private watch: ReturnType<DBusClient['watch']> | null = null;
  private readonly store = new Store();

  constructor(
    private readonly client: DBusClient,
    private readonly changed: () => void,
  ) {}

  async open(): Promise<void> {
    this.client.addEventListener('notify', (_ev, data) => {
      for (const [path, ifaces] of Object.entries(data)) {
        if (path !== ROOT && !path.startsWith(`${ROOT}/`)) continue;
        for (const [iface, props] of Object.entries(ifaces)) {
          if (props === null) this.store.remove(path, iface);
          else this.store.set(path, iface, props, 'upsert');
        }
      }
      this.changed();
    });
    this.watch = this.client.watch({ path_namespace: ROOT });
    await this.watch;
  }

  objects(): Objects {
    return this.store.snapshot();
  }

  /** The watch holds every path already. */
  expand(): void {}

  close(): void {
    this.watch?.remove();
  }
}

type Variant = { t: string; v: unknown };
type Ifaces = Record<string, Record<string, Variant>>;
const plain = (props: Record<string, Variant>) => Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.v]));

/** Objects sort by path: the manager, each map followed by its groups, then every path. */
const PATHS_FROM = `${ROOT}/paths/`;
/** What the page shows of the manager (not its Maps and Paths: 40,000 object paths on a big host). */
const MANAGER_SHOWN = ['Version', 'InstanceId', 'EventSerial', 'Health', 'MultipathdAvailable', 'KernelEventsAvailable'];

/**
 * Manager.GetManagedObjectsPage with the ObjectManager and PropertiesChanged signals
 * subscribed first (when it is made), so that nothing that changes while the pages are read
 * is missed (signals and replies arrive in the order the service sent them). Only what the
 * page shows is read: the manager's properties one by one, and the maps (with their groups,
 * which sort among them) page by page until the paths begin; a map's paths are read with
 * Properties.GetAll when it is expanded, and followed from then on.
 */
export class PagedSource implements TopologySource {
  private readonly store = new Store();
  private readonly subs: Subscription[];
  private readonly reading = new Set<string>();
  private after = ROOT;

  constructor(
    private readonly client: DBusClient,
    private readonly changed: () => void,
  ) {
    this.subs = [
      client.subscribe({ interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged', path_namespace: ROOT }, (path, _i, _s, args) => {
        this.store.set(path, args[0] as string, plain(args[1] as Record<string, Variant>), 'update');
        this.changed();
      }),
      client.subscribe({ interface: 'org.freedesktop.DBus.ObjectManager', path: ROOT }, (_p, _i, signal, args) => {
        const path = args[0] as string;
        if (signal === 'InterfacesAdded') for (const [iface, props] of Object.entries(args[1] as Ifaces)) this.store.set(path, iface, plain(props), 'replace');
        else if (signal === 'InterfacesRemoved') for (const iface of args[1] as string[]) this.store.remove(path, iface);
        this.changed();
      }),
    ];
  }

  /** Reads the first page after the manager; whether there are more (else one watch() holds the tree). */
  async more(): Promise<boolean> {
    this.after = await this.page(this.after);
    return this.after !== '';
  }

  async open(): Promise<void> {
    const manager = async () => {
      const values = await Promise.all(MANAGER_SHOWN.map((p) => this.client.call(ROOT, 'org.freedesktop.DBus.Properties', 'Get', [MANAGER, p], { type: 'ss' })));
      this.store.set(ROOT, MANAGER, Object.fromEntries(MANAGER_SHOWN.map((p, i) => [p, (values[i][0] as Variant).v])), 'upsert');
    };
    const maps = async () => {
      while (this.after !== '' && this.after < PATHS_FROM) this.after = await this.page(this.after);
    };
    await Promise.all([manager(), maps()]);
    this.changed();
  }

  /** One page into the store; resolves with the cursor of the next. */
  private async page(after: string): Promise<string> {
    const [objects, next] = (await this.client.call(ROOT, MANAGER, 'GetManagedObjectsPage', [after, 1000], { type: 'su' })) as [Record<string, Ifaces>, string];
    for (const [path, ifaces] of Object.entries(objects)) for (const [iface, props] of Object.entries(ifaces)) this.store.set(path, iface, plain(props), 'replace');
    return next;
  }

  expand(map: string): void {
    for (const p of this.store.objects.maps.get(map)?.Paths ?? []) {
      if (this.store.objects.paths.has(p) || this.reading.has(p)) continue;
      this.reading.add(p);
      this.client
        .call(p, 'org.freedesktop.DBus.Properties', 'GetAll', [PATH], { type: 's' })
        .then(
          ([props]) => {
            this.store.set(p, PATH, plain(props as Record<string, Variant>), 'replace');
            this.changed();
          },
          // Gone meanwhile: InterfacesRemoved says so.
          () => {},
        )
        .finally(() => this.reading.delete(p));
    }
  }

  objects(): Objects {
    return this.store.snapshot();
  }

  close(): void {
    for (const s of this.subs) s.remove();
  }
}
