// Who is calling: the Unix uid behind a unique bus name, asked of the bus daemon once per
// name (org.freedesktop.DBus.GetConnectionUnixUser) and forgotten when the name goes away,
// so the cache holds at most the connections that are alive and have called us.
import { callMethod, onSignal, type BusConnection } from './connection';

const DRIVER = { name: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus' };

interface Entry {
  lookup: Promise<number | undefined>;
  uid?: number;
}

export class Callers {
  private readonly uids = new Map<string, Entry>();
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(private readonly bus: BusConnection) {}

  /** Follow NameOwnerChanged, so names that leave are forgotten. */
  async start(): Promise<void> {
    this.unsubscribe = await onSignal(this.bus, { sender: DRIVER.name, iface: DRIVER.name, member: 'NameOwnerChanged' }, (s) => {
      const [name, , newOwner] = s.args as [string, string, string];
      if (newOwner === '') this.uids.delete(name);
    });
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
  }

  /** The caller's uid; undefined when the daemon cannot say (the caller is already gone). */
  uid(sender: string): Promise<number | undefined> {
    let hit = this.uids.get(sender);
    if (!hit) {
      const entry: Entry = {
        lookup: callMethod(this.bus, DRIVER.name, DRIVER.path, DRIVER.name, 'GetConnectionUnixUser', 's', [sender]).then(
          ([uid]) => (entry.uid = uid as number),
          () => {
            this.uids.delete(sender);
            return undefined;
          },
        ),
      };
      this.uids.set(sender, (hit = entry));
    }
    return hit.lookup;
  }

  /** The uid if already known (after `uid` resolved), without asking. */
  known(sender: string): number | undefined {
    return this.uids.get(sender)?.uid;
  }

  /** Number of names remembered (tests check that leaving names are forgotten). */
  get size(): number {
    return this.uids.size;
  }
}
