// Two ways to read the service's tree and keep it current, behind one interface so the
// session does not care which: Cockpit's own watch() (one GetManagedObjects, then the
// bridge's cache follows the signals), and, for hosts whose tree is more than one of the
// service's pages (GetManagedObjects may answer LimitsExceeded), its paged reader.
import { GROUP, MANAGER, MAP, PATH, ROOT, emptyObjects, type Objects } from './api';
import type { DBusClient, Subscription } from './cockpit';

export interface TopologySource {
  /** Resolves once the whole tree was read; `changed` is called after every later change. */
  open(): Promise<void>;
  objects(): Objects;
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
 * as "notify" batches, which fill the store. Not cockpit's proxies(): Map has both a
 * property and a method named SwitchGroup, and cockpit.js (287) throws "Cannot redefine
 * property" building a proxy for such an interface.
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

  close(): void {
    this.watch?.remove();
  }
}

type Variant = { t: string; v: unknown };
type Ifaces = Record<string, Record<string, Variant>>;
const plain = (props: Record<string, Variant>) => Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.v]));

/**
 * Manager.GetManagedObjectsPage(after, max) until the cursor comes back empty, with the
 * ObjectManager and PropertiesChanged signals subscribed first, so that nothing that
 * changes while the pages are read is missed (signals and replies arrive in the order the
 * service sent them).
 */
export class PagedSource implements TopologySource {
  private readonly store = new Store();
  private readonly subs: Subscription[] = [];

  constructor(
    private readonly client: DBusClient,
    private readonly changed: () => void,
  ) {}

  async open(): Promise<void> {
    this.subs.push(
      this.client.subscribe({ interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged', path_namespace: ROOT }, (path, _i, _s, args) => {
        this.store.set(path, args[0] as string, plain(args[1] as Record<string, Variant>), 'update');
        this.changed();
      }),
      this.client.subscribe({ interface: 'org.freedesktop.DBus.ObjectManager', path: ROOT }, (_p, _i, signal, args) => {
        const path = args[0] as string;
        if (signal === 'InterfacesAdded') for (const [iface, props] of Object.entries(args[1] as Ifaces)) this.store.set(path, iface, plain(props), 'replace');
        else if (signal === 'InterfacesRemoved') for (const iface of args[1] as string[]) this.store.remove(path, iface);
        this.changed();
      }),
    );
    let after = '';
    do {
      const [objects, next] = (await this.client.call(ROOT, MANAGER, 'GetManagedObjectsPage', [after, 1000], { type: 'su' })) as [Record<string, Ifaces>, string];
      for (const [path, ifaces] of Object.entries(objects)) for (const [iface, props] of Object.entries(ifaces)) this.store.set(path, iface, plain(props), 'replace');
      this.changed();
      after = next;
    } while (after !== '');
  }

  objects(): Objects {
    return this.store.snapshot();
  }

  close(): void {
    for (const s of this.subs) s.remove();
  }
}
