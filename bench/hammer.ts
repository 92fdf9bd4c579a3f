// A hostile caller: calls one method of the service as fast as it is answered, with several
// calls in flight, for a number of seconds, and prints what came back as JSON. Run it as an
// unprivileged uid (setpriv) to see what the caller budgets allow; the benchmark
// (bench/callers.ts) and test/integration/caller-limits.test.ts both do.
import { BUS_NAME, MANAGER_IFACE, ROOT_PATH } from '../src/dbus/api';
import { callMethod, connectBus, DBusCallError, disconnect } from '../src/dbus/connection';

type Call = [path: string, iface: string, member: string, signature: string, args: unknown[]];

export const METHODS = ['Refresh', 'GetEvents', 'GetManagedObjects', 'GetManagedObjectsPage', 'GetAll', 'Introspect', 'Ping'] as const;
export type Method = (typeof METHODS)[number];

async function main(): Promise<void> {
  const [address, method, secondsArg, inFlightArg] = process.argv.slice(2) as [string, Method, string, string];
  const seconds = Number(secondsArg ?? 10);
  const inFlight = Number(inFlightArg ?? 16);
  if (!METHODS.includes(method)) throw new Error(`method must be one of ${METHODS.join(', ')}`);
  const bus = await connectBus(address);
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
    }
  };
  let end = Date.now() + seconds * 1000;
  // Told to stop early (bench/large.ts, once it has measured under this load): finish and report.
  process.once('SIGTERM', () => (end = 0));
  const result = { method, seconds, inFlight, ok: 0, errors: {} as Record<string, number> };
  const worker = async () => {
    while (Date.now() < end) {
      const [path, iface, member, sig, args] = next();
      try {
        const out = await callMethod(bus, BUS_NAME, path, iface, member, sig, args);
        if (method === 'GetManagedObjectsPage') cursor = out[1] as string;
        result.ok++;
      } catch (e) {
        const name = e instanceof DBusCallError ? e.type : 'other';
        result.errors[name] = (result.errors[name] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  disconnect(bus);
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
}

if (require.main === module) {
  main().catch((e: Error) => {
    process.stderr.write(`hammer: ${e.message}\n`);
    process.exit(1);
  });
}
