// Who is calling: the Unix uid and pid behind a unique bus name, asked of the bus daemon once
// per name (org.freedesktop.DBus.GetConnectionCredentials: a unique name is never reused, and
// its process and user never change) and forgotten when the name goes away, so the cache
// holds at most the connections that are alive and have called us. Each call asks once, when
// it is admitted (the object server carries that uid to its handler and to the charge for its
// reply): one answer to "who is this" per call, whatever the bus says afterwards.
import { BUS_DRIVER, callDriver, onSignal, type BusConnection } from './connection';


export interface Credentials {
  uid: number;
  /** 0 when the bus could not say (a peer on another machine, a bus without pids). */
  pid: number;
}

export class Callers {
  private readonly lookups = new Map<string, Promise<Credentials | undefined>>();
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(private readonly bus: BusConnection) {}

  /** Follow the bus driver's NameOwnerChanged (onSignal checks it is the driver's), so names that leave are forgotten. */
  async start(): Promise<void> {
    this.unsubscribe = await onSignal(this.bus, { sender: BUS_DRIVER.name, iface: BUS_DRIVER.iface, member: 'NameOwnerChanged' }, (s) => {
      const [name, , newOwner] = s.args as [string, string, string];
      if (newOwner === '') this.lookups.delete(name);
    });
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
  }

  /** The caller's uid and pid; undefined when the daemon cannot say (the caller is already gone). */
  credentials(sender: string): Promise<Credentials | undefined> {
    let lookup = this.lookups.get(sender);
    if (!lookup) {
      lookup = callDriver(this.bus, 'GetConnectionCredentials', 's', [sender]).then(
        ([creds]) => {
          const { UnixUserID: uid, ProcessID: pid } = creds as Record<string, unknown>;
          if (typeof uid !== 'number') throw new Error('no UnixUserID');
          return { uid, pid: typeof pid === 'number' ? pid : 0 };
        },
      ).catch(() => {
        this.lookups.delete(sender);
        return undefined;
      });
      this.lookups.set(sender, lookup);
    }
    return lookup;
  }

  /** The caller's uid; undefined when the daemon cannot say. */
  async uid(sender: string): Promise<number | undefined> {
    return (await this.credentials(sender))?.uid;
  }

  /** Number of names remembered (tests check that leaving names are forgotten). */
  get size(): number {
    return this.lookups.size;
  }
}
