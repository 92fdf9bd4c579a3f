// What the client commands share: reaching the service on the chosen bus.
import { BUS_NAME, ROOT_PATH } from '../dbus/api';
import { connectBus, getManagedObjects, type BusConnection } from '../dbus/connection';
import { assemble, type ObjectTree, type TreeMap } from './tree';

export class ClientError extends Error {}

export async function openClient(bus: string): Promise<BusConnection> {
  try {
    return await connectBus(bus);
  } catch (e) {
    throw new ClientError(`cannot connect to the ${bus} bus: ${(e as Error).message}`);
  }
}

export async function fetchObjects(bus: BusConnection): Promise<ObjectTree> {
  try {
    return await getManagedObjects(bus, BUS_NAME, ROOT_PATH);
  } catch (e) {
    const msg = (e as Error).message;
    if (/ServiceUnknown|NameHasNoOwner|not provided by any|was not provided/.test(msg) || /ServiceUnknown/.test((e as { type?: string }).type ?? '')) {
      throw new ClientError(`the multipath-dbus service (${BUS_NAME}) is not running on this bus`);
    }
    throw new ClientError(`cannot read from ${BUS_NAME}: ${msg}`);
  }
}

export async function fetchMaps(bus: BusConnection): Promise<TreeMap[]> {
  return assemble(await fetchObjects(bus));
}
