// Two ways to read the service's tree and keep it current, behind one interface so the
// session does not care which: Cockpit's own watch() (one GetManagedObjects, then the
// bridge's cache follows the signals), and, for hosts whose tree is more than one of the
// service's pages (GetManagedObjects may answer LimitsExceeded), a reader of every map's
// summary (all the table and the overview show) that reads a map's groups and paths only
// when it is expanded.
import { GROUP, MANAGER, MAP, MAP_SUMMARY_FIELDS, PATH, ROOT, emptyObjects, type Objects } from './api';
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
const PROPERTIES = 'org.freedesktop.DBus.Properties';

/** What the page shows of the manager (not its Maps and Paths: 40,000 object paths on a big host). */
const MANAGER_SHOWN = ['Version', 'InstanceId', 'EventSerial', 'Health', 'MultipathdAvailable', 'KernelEventsAvailable'];

/** A path's object path from its kernel name, escaped as the service escapes an element (every byte outside [A-Za-z0-9] as _xx). */
function pathObject(device: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(device)) {
    const alnum = (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122);
    out += alnum ? String.fromCharCode(b) : `_${b.toString(16).padStart(2, '0')}`;
  }
  return `${ROOT}/paths/${out || '_'}`;
}

type Summary = [string, ...unknown[]];

/**
 * Manager.GetMapSummaries with the ObjectManager and PropertiesChanged signals subscribed
 * first (when it is made), so that nothing that changes while the summaries are read is
 * missed (signals and replies arrive in the order the service sent them). Only what the page
 * shows is read: the manager's properties one by one and every map's summary (what the table
 * and the overview show); an expanded map's own properties, groups and paths are read with
 * Properties.GetAll, and followed from then on.
 */
export class SummarySource implements TopologySource {
  private readonly store = new Store();
  private readonly subs: Subscription[];
  private readonly reading = new Set<string>();
  /** Objects in the tree, counted from the summaries: a map, its paths, and at most as many groups. */
  private objectsAtMost = 1;

  constructor(
    private readonly client: DBusClient,
    private readonly changed: () => void,
  ) {
    this.subs = [
      client.subscribe({ interface: PROPERTIES, member: 'PropertiesChanged', path_namespace: ROOT }, (path, _i, _s, args) => {
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

  /** Reads the manager's properties and every map's summary. */
  async open(): Promise<void> {
    const manager = async () => {
      const values = await Promise.all(MANAGER_SHOWN.map((p) => this.client.call(ROOT, PROPERTIES, 'Get', [MANAGER, p], { type: 'ss' })));
      this.store.set(ROOT, MANAGER, Object.fromEntries(MANAGER_SHOWN.map((p, i) => [p, (values[i][0] as Variant).v])), 'upsert');
    };
    const maps = async () => {
      let after = '';
      do {
        const [summaries, next] = (await this.client.call(ROOT, MANAGER, 'GetMapSummaries', [after, 0, {}], { type: 'sua{sv}' })) as [Summary[], string];
        for (const [path, ...values] of summaries) {
          const props: Record<string, unknown> = Object.fromEntries(MAP_SUMMARY_FIELDS.map((f, i) => [f, values[i]]));
          props.Paths = (values[MAP_SUMMARY_FIELDS.length] as string[]).map(pathObject);
          this.objectsAtMost += 1 + 2 * Math.max(1, props.NumPaths as number);
          // Merged: an InterfacesAdded that came first said as much, and more.
          this.store.set(path, MAP, props, 'upsert');
        }
        after = next;
      } while (after !== '');
    };
    await Promise.all([manager(), maps()]);
    this.changed();
  }

  /** At most this many objects: one watch() of them all would be as cheap. */
  small(limit: number): boolean {
    return this.objectsAtMost <= limit;
  }

  /** The map's own properties, then its groups and paths; called again after each render while it is shown expanded. */
  expand(map: string): void {
    const m = this.store.objects.maps.get(map);
    if (!m) return;
    if (m.PathGroups === undefined) return this.read(map, MAP);
    for (const g of m.PathGroups) if (!this.store.objects.groups.has(g)) this.read(g, GROUP);
    for (const p of m.Paths ?? []) if (!this.store.objects.paths.has(p)) this.read(p, PATH);
  }

  private read(path: string, iface: string): void {
    if (this.reading.has(path)) return;
    this.reading.add(path);
    this.client
      .call(path, PROPERTIES, 'GetAll', [iface], { type: 's' })
      .then(
        ([props]) => {
          this.store.set(path, iface, plain(props as Record<string, Variant>), 'upsert');
          this.changed();
        },
        // Gone meanwhile: InterfacesRemoved says so.
        () => {},
      )
      .finally(() => this.reading.delete(path));
  }

  objects(): Objects {
    return this.store.snapshot();
  }

  close(): void {
    for (const s of this.subs) s.remove();
  }
}
