// Two ways to read the service's tree and keep it current, behind one interface so the
// session does not care which: Cockpit's own watch() (one GetManagedObjects, then the
// bridge's cache follows the signals), and, for hosts whose tree does not fit in one
// D-Bus message (GetManagedObjects answers LimitsExceeded), the service's paged reader.
import { GROUP, MANAGER, MAP, PATH, ROOT, emptyObjects, type Objects } from './api';
import type { DBusClient, DBusProxies, DBusProxy, Subscription } from './cockpit';

export interface TopologySource {
  /** Resolves once the whole tree was read; `changed` is called after every later change. */
  open(): Promise<void>;
  objects(): Objects;
  close(): void;
}

const IFACES = { [MANAGER]: 'manager', [MAP]: 'maps', [GROUP]: 'groups', [PATH]: 'paths' } as const;

/** One watch() on the ObjectManager root, one proxies() per interface. */
export class WatchedSource implements TopologySource {
  private watch: ReturnType<DBusClient['watch']> | null = null;
  private readonly proxies: Record<string, DBusProxies> = {};

  constructor(
    private readonly client: DBusClient,
    private readonly changed: () => void,
  ) {}

  async open(): Promise<void> {
    for (const iface of Object.keys(IFACES)) {
      const proxies = this.client.proxies(iface, ROOT, { watch: false });
      for (const ev of ['added', 'changed', 'removed'] as const) proxies.addEventListener(ev, this.changed);
      this.proxies[iface] = proxies;
    }
    this.watch = this.client.watch({ path_namespace: ROOT });
    await this.watch;
  }

  objects(): Objects {
    const out = emptyObjects();
    for (const [iface, key] of Object.entries(IFACES)) {
      const proxies = this.proxies[iface];
      if (!proxies) continue;
      for (const path of Object.keys(proxies)) {
        const proxy = proxies[path] as DBusProxy;
        if (!proxy.valid) continue;
        if (key === 'manager') out.manager = proxy.data as never;
        else out[key].set(path, proxy.data as never);
      }
    }
    return out;
  }

  close(): void {
    this.watch?.remove();
  }
}

type Variant = { t: string; v: unknown };
type Ifaces = Record<string, Record<string, Variant>>;

/**
 * Manager.GetManagedObjectsPage(after, max) until the cursor comes back empty, with the
 * ObjectManager and PropertiesChanged signals subscribed first, so that nothing that
 * changes while the pages are read is missed (signals and replies arrive in the order the
 * service sent them).
 */
export class PagedSource implements TopologySource {
  private readonly store = emptyObjects();
  private readonly subs: Subscription[] = [];

  constructor(
    private readonly client: DBusClient,
    private readonly changed: () => void,
  ) {}

  async open(): Promise<void> {
    this.subs.push(
      this.client.subscribe({ interface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged', path_namespace: ROOT }, (path, _i, _s, args) => {
        this.update(path, { [args[0] as string]: args[1] as Record<string, Variant> }, false);
      }),
      this.client.subscribe({ interface: 'org.freedesktop.DBus.ObjectManager', path: ROOT }, (_p, _i, signal, args) => {
        if (signal === 'InterfacesAdded') this.update(args[0] as string, args[1] as Ifaces, true);
        else if (signal === 'InterfacesRemoved') for (const iface of args[1] as string[]) this.remove(args[0] as string, iface);
      }),
    );
    let after = '';
    do {
      const [objects, next] = (await this.client.call(ROOT, MANAGER, 'GetManagedObjectsPage', [after, 1000])) as [Record<string, Ifaces>, string];
      for (const [path, ifaces] of Object.entries(objects)) this.update(path, ifaces, true);
      after = next;
    } while (after !== '');
  }

  private update(path: string, ifaces: Record<string, Record<string, Variant>>, whole: boolean): void {
    for (const [iface, props] of Object.entries(ifaces)) {
      const key = IFACES[iface as keyof typeof IFACES];
      if (!key) continue;
      const values: Record<string, unknown> = {};
      for (const [name, variant] of Object.entries(props)) values[name] = variant.v;
      if (key === 'manager') this.store.manager = { ...(whole ? {} : this.store.manager), ...values } as never;
      else {
        const old = whole ? undefined : this.store[key].get(path);
        if (!whole && !old) continue;
        this.store[key].set(path, { ...old, ...values } as never);
      }
    }
    this.changed();
  }

  private remove(path: string, iface: string): void {
    const key = IFACES[iface as keyof typeof IFACES];
    if (key && key !== 'manager') this.store[key].delete(path);
    this.changed();
  }

  objects(): Objects {
    return this.store;
  }

  close(): void {
    for (const s of this.subs) s.remove();
  }
}
