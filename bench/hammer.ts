// A hostile caller: calls one method of the service as fast as it is answered, with several
// calls in flight, for a number of seconds, and prints what came back as JSON. Run it as an
// unprivileged uid (setpriv) to see what the caller budgets allow; the benchmark
// (bench/callers.ts) and test/integration/caller-limits.test.ts both do. With `forge`, it
// follows every call with a NameOwnerChanged sent straight to the service saying that the
// caller's connection has left the bus, as a caller hoping to be forgotten while its calls
// wait would (test/integration/forged-signals.test.ts). SIGTERM ends it early, with the report
// of the calls answered so far (calls still waiting are not counted).
import { BUS_NAME, MANAGER_IFACE, ROOT_PATH } from '../src/frontends/dbus/api';
import { BUS_DRIVER, callDriver, callMethod, connectBus, DBusCallError, disconnect, type BusConnection } from '../src/frontends/dbus/bus/connection';

type Call = [path: string, iface: string, member: string, signature: string, args: unknown[]];

export const METHODS = ['Refresh', 'GetEvents', 'GetManagedObjects', 'GetManagedObjectsPage', 'GetAll', 'Introspect', 'Ping'] as const;
/** Management methods it can also call (not in the benchmark's table: as root they would act). */
const MANAGEMENT = ['Reconfigure'] as const;
export type Method = (typeof METHODS)[number] | (typeof MANAGEMENT)[number];

/** dbus-daemon refuses a connection more than 128 calls awaiting replies: more calls in flight take more connections. */
const CALLS_PER_CONNECTION = 100;


/** A NameOwnerChanged saying `name` left the bus, as only the bus driver may say, sent from `bus` to `destination` alone. */
export function forgeLeaving(bus: BusConnection, destination: string, name = bus.uniqueName): void {
  bus.sendSignal(BUS_DRIVER.path, BUS_DRIVER.iface, 'NameOwnerChanged', 'sss', [name, name, ''], destination);
}

async function main(): Promise<void> {
  const [address, method, secondsArg, inFlightArg, mode] = process.argv.slice(2) as [string, Method, string, string, string | undefined];
  const seconds = Number(secondsArg ?? 10);
  const inFlight = Number(inFlightArg ?? 16);
  const accepted: readonly string[] = [...METHODS, ...MANAGEMENT];
  if (!accepted.includes(method)) throw new Error(`method must be one of ${accepted.join(', ')}`);
  if (mode !== undefined && mode !== 'forge') throw new Error(`the fifth argument may only be "forge"`);
  const buses = await Promise.all(Array.from({ length: Math.ceil(inFlight / CALLS_PER_CONNECTION) }, () => connectBus(address)));
  const [service] = mode === 'forge' ? ((await callDriver(buses[0], 'GetNameOwner', 's', [BUS_NAME])) as [string]) : [''];
  let cursor = '';
  const next = (): Call => {
    switch (method) {
      case 'Refresh':
        return [ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []];
      case 'GetEvents':
        return [ROOT_PATH, MANAGER_IFACE, 'GetEvents', 'tu', [0n, 1000]];
      case 'GetManagedObjects':
        return [ROOT_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects', '', []];
      case 'GetManagedObjectsPage':
        return [ROOT_PATH, MANAGER_IFACE, 'GetManagedObjectsPage', 'su', [cursor, 0]];
      case 'GetAll':
        return [ROOT_PATH, 'org.freedesktop.DBus.Properties', 'GetAll', 's', [MANAGER_IFACE]];
      case 'Introspect':
        return [`${ROOT_PATH}/paths`, 'org.freedesktop.DBus.Introspectable', 'Introspect', '', []];
      case 'Ping':
        return [ROOT_PATH, 'org.freedesktop.DBus.Peer', 'Ping', '', []];
      case 'Reconfigure':
        return [ROOT_PATH, MANAGER_IFACE, 'Reconfigure', 'a{sv}', [{}]];
    }
  };
  let end = Date.now() + seconds * 1000;
  // Told to stop early (bench/large.ts, once it has measured under this load): finish and report.
  process.once('SIGTERM', () => (end = 0));
  const result = { method, seconds, inFlight, ok: 0, errors: {} as Record<string, number> };
  const worker = async (bus: BusConnection) => {
    while (Date.now() < end) {
      const [path, iface, member, sig, args] = next();
      try {
        // The call is on its way (sent before callMethod's first await): the signal follows it.
        const reply = callMethod(bus, BUS_NAME, path, iface, member, sig, args);
        if (service) forgeLeaving(bus, service);
        const out = await reply;
        if (method === 'GetManagedObjectsPage') cursor = out[1] as string;
        result.ok++;
      } catch (e) {
        const name = e instanceof DBusCallError ? e.type : 'other';
        result.errors[name] = (result.errors[name] ?? 0) + 1;
      }
    }
  };
  const report = () => process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
  process.once('SIGTERM', report);
  await Promise.all(Array.from({ length: inFlight }, (_, i) => worker(buses[i % buses.length])));
  buses.forEach(disconnect);
  report();
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`hammer: ${e.message}\n`);
    process.exit(1);
  });
}
