// An ObjectServer with the real tables, exporting `count` path objects on a private
// dbus-daemon under the service's name, and a client connection: what the tests of the
// GetManagedObjects reply (its size limit, its kept entries) read.
import { BUS_NAME, MANAGER, MAP, PATH, PATH_GROUP, PATH_IFACE, pathObjectPath, ROOT_PATH } from '../../src/frontends/dbus/api';
import { callMethod, connectBus, disconnect, requestName, type BusConnection } from '../../src/frontends/dbus/bus/connection';
import { ObjectServer, type ObjectServerOptions, type Props } from '../../src/frontends/dbus/bus/object-server';
import { startPrivateBus, type PrivateBus } from './dbus-daemon';

export const pathDevice = (i: number) => `sd${i.toString(36)}`;

/** Path i's properties: every one of the table's with a value of its type, and its own names. */
export const pathValues = (i: number, checker = 'tur'): Props => ({
  ...Object.fromEntries(PATH.properties.map((p) => [p.name, { s: 'x', o: ROOT_PATH, u: 1, i: -1, t: 1n, b: true }[p.type]])),
  Device: pathDevice(i),
  DevT: `8:${i}`,
  Checker: checker,
});

export interface PathObjects {
  bus: PrivateBus;
  serverConn: BusConnection;
  server: ObjectServer;
  client: BusConnection;
  /** Per-call bytes the server charged its callers. */
  charged: number[];
  getManagedObjects(): Promise<unknown[]>;
  stop(): Promise<void>;
}

export async function exportPathObjects(
  count: number,
  options: Partial<ObjectServerOptions> = {},
  maxMessageBytes?: number,
): Promise<PathObjects> {
  const bus = await startPrivateBus();
  const serverConn = await connectBus(bus.address);
  if (maxMessageBytes !== undefined) serverConn.maxMessageBytes = maxMessageBytes;
  const charged: number[] = [];
  const server = new ObjectServer(serverConn, {
    objectManagerPath: ROOT_PATH,
    interfaces: [MANAGER, MAP, PATH_GROUP, PATH],
    handlers: {},
    admit: async () => 1000,
    charge: (_uid, bytes) => charged.push(bytes),
    ...options,
  });
  for (let i = 0; i < count; i++) server.setObject(pathObjectPath(pathDevice(i)), new Map([[PATH_IFACE, pathValues(i)]]));
  await requestName(serverConn, BUS_NAME);
  const client = await connectBus(bus.address);
  return {
    bus,
    serverConn,
    server,
    client,
    charged,
    getManagedObjects: () => callMethod(client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects', '', []),
    async stop() {
      disconnect(client);
      disconnect(serverConn);
      await bus.stop();
    },
  };
}
