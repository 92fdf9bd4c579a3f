// What the client commands share: reaching the service on the chosen bus.
import { BUS_NAME, MANAGER_IFACE, ROOT_PATH } from '../frontends/dbus/api';
import { callMethod, connectBus, DBusCallError, getManagedObjects, type BusConnection, type Props } from '../frontends/dbus/bus/connection';
import { assemble, type ObjectTree, type TreeMap } from './tree';

export class ClientError extends Error {}

export async function openClient(bus: string): Promise<BusConnection> {
  try {
    return await connectBus(bus);
  } catch (e) {
    throw new ClientError(`cannot connect to the ${bus} bus: ${(e as Error).message}`);
  }
}

/** Every object: GetManagedObjects, or in pages when its reply would exceed the bus's message size limit. */
export async function fetchObjects(bus: BusConnection): Promise<ObjectTree> {
  try {
    try {
      return await getManagedObjects(bus, BUS_NAME, ROOT_PATH);
    } catch (e) {
      if (!(e instanceof DBusCallError && e.type === 'org.freedesktop.DBus.Error.LimitsExceeded')) throw e;
      return await fetchPages(bus);
    }
  } catch (e) {
    const msg = (e as Error).message;
    if (/ServiceUnknown|NameHasNoOwner|not provided by any|was not provided/.test(msg) || /ServiceUnknown/.test((e as { type?: string }).type ?? '')) {
      throw new ClientError(`the multipath-dbus service (${BUS_NAME}) is not running on this bus`);
    }
    throw new ClientError(`cannot read from ${BUS_NAME}: ${msg}`);
  }
}

/** Manager.GetManagedObjectsPage from the first object to the last; each page as large as the service allows. */
export async function fetchPages(bus: BusConnection): Promise<Map<string, Map<string, Props>>> {
  const out = new Map<string, Map<string, Props>>();
  let after = '';
  do {
    const [objects, next] = (await callMethod(bus, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetManagedObjectsPage', 'su', [after, 0])) as [
      Record<string, Record<string, Props>>,
      string,
    ];
    for (const [path, ifaces] of Object.entries(objects)) out.set(path, new Map(Object.entries(ifaces)));
    after = next;
  } while (after !== '');
  return out;
}

export async function fetchMaps(bus: BusConnection): Promise<TreeMap[]> {
  return assemble(await fetchObjects(bus));
}
