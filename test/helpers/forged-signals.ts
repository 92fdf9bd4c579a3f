// A local user forging the service's signals: sent by uid 65534 straight to a client's
// connection (the system bus lets any uid address a signal to any unique name), naming the
// service's paths and interfaces. Only the sender's unique name tells them from the real ones.
import { BUS_DRIVER, callDriver, type BusConnection } from '../../src/frontends/dbus/bus/connection';
import { BUS_NAME, MAP_IFACE, ROOT_PATH } from '../../src/frontends/dbus/api';
import { NOBODY, runAs } from './dbus-daemon';
import { worldReadable } from './world-readable-copy';

const driver = (bus: BusConnection, member: string, signature: string, args: unknown[]) =>
  callDriver(bus, member, signature, args);

/** A map that does not exist: whoever prints an event about it was fooled. */
export const FORGED_MAP = `${ROOT_PATH}/maps/forged`;
export const MAX_SERIAL = 2n ** 64n - 1n;

/** The unique names of the bus connections that these processes hold. */
export async function connectionsOf(bus: BusConnection, pids: number[]): Promise<string[]> {
  const [names] = (await driver(bus, 'ListNames', '', [])) as [string[]];
  const found: string[] = [];
  for (const name of names.filter((n) => n.startsWith(':'))) {
    const pid = await driver(bus, 'GetConnectionUnixProcessID', 's', [name]).then(([p]) => p as number, () => 0);
    if (pids.includes(pid)) found.push(name);
  }
  return found;
}

export type Forgery =
  /** `Map.Failed` of FORGED_MAP with this serial. */
  | { mapFailed: bigint }
  /** The bus driver's NameOwnerChanged saying the forger now owns the service's name. */
  | { nameTakenFromUs: string }
  /** PropertiesChanged saying this map object has lost every path. */
  | { mapHealthFailed: string };

/** Sent by uid 65534 to each of `targets`; resolves once the bus daemon has passed them on. */
export async function forge(address: string, targets: string[], forgeries: Forgery[]): Promise<void> {
  const messages = targets.flatMap((destination) =>
    forgeries.map((f) =>
      'mapFailed' in f
        ? { destination, path: FORGED_MAP, interface: MAP_IFACE, member: 'Failed', signature: 't', body: [{ uint64: f.mapFailed.toString() }] }
        : 'nameTakenFromUs' in f
          ? { destination, path: BUS_DRIVER.path, interface: BUS_DRIVER.iface, member: 'NameOwnerChanged', signature: 'sss', body: [BUS_NAME, f.nameTakenFromUs, { self: true }] }
          : {
              destination,
              path: f.mapHealthFailed,
              interface: 'org.freedesktop.DBus.Properties',
              member: 'PropertiesChanged',
              signature: 'sa{sv}as',
              body: [MAP_IFACE, { Health: { variant: ['s', 'failed'] }, ValidPaths: { variant: ['u', 0] } }, []],
            },
    ),
  );
  const r = await runAs(NOBODY, process.execPath, [worldReadable('test/helpers/forge-signal.js'), address, JSON.stringify(messages)]);
  if (r.code !== 0 || !r.stdout.includes('sent')) throw new Error(`the forger failed (${r.code}): ${r.stderr}`);
}
