// The marshalled GetManagedObjects entries are kept while calls use them (a client's pages,
// a repeated read), then let go: kept for good they were the whole reply's size again in
// memory (48 MiB at 8,192 x 4). What stays is each entry's size, so a refusal still costs
// nothing to repeat. An ObjectServer with the real tables on a real dbus-daemon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUS_NAME, MANAGER, MAP, PATH, PATH_GROUP, PATH_IFACE, pathObjectPath, ROOT_PATH } from '../../../../src/frontends/dbus/api';
import { callMethod, connectBus, disconnect, requestName, type BusConnection } from '../../../../src/frontends/dbus/bus/connection';
import { ObjectServer, type Props } from '../../../../src/frontends/dbus/bus/object-server';
import { startPrivateBus, type PrivateBus } from '../../../helpers/dbus-daemon';

const OBJECTS = 500;
const KEPT_MS = 200;

const dev = (i: number) => `sd${i.toString(36)}`;
const values = (i: number): Props => ({
  ...Object.fromEntries(PATH.properties.map((p) => [p.name, { s: 'x', o: ROOT_PATH, u: 1, i: -1, t: 1n, b: true }[p.type]])),
  Device: dev(i),
  DevT: `8:${i}`,
});

let bus: PrivateBus;
let serverConn: BusConnection;
let client: BusConnection;
let server: ObjectServer;
const charged: number[] = [];
let released: () => void = () => undefined;
let releases = 0;

beforeAll(async () => {
  bus = await startPrivateBus();
  serverConn = await connectBus(bus.address);
  server = new ObjectServer(serverConn, {
    objectManagerPath: ROOT_PATH,
    interfaces: [MANAGER, MAP, PATH_GROUP, PATH],
    handlers: {},
    admit: async () => 1000,
    charge: (_uid, bytes) => charged.push(bytes),
    entriesKeptMs: KEPT_MS,
    onEntriesReleased: () => {
      releases++;
      released();
    },
  });
  for (let i = 0; i < OBJECTS; i++) server.setObject(pathObjectPath(dev(i)), new Map([[PATH_IFACE, values(i)]]));
  await requestName(serverConn, BUS_NAME);
  client = await connectBus(bus.address);
}, 60_000);

afterAll(async () => {
  if (client) disconnect(client);
  if (serverConn) disconnect(serverConn);
  await bus?.stop();
});

const getManagedObjects = () => callMethod(client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects', '', []);
const nextRelease = () => new Promise<void>((r) => (released = r));

describe('the kept GetManagedObjects entries', () => {
  it('are let go once calls stop using them, and the next reply is the same', async () => {
    const release = nextRelease();
    const before = await getManagedObjects();
    await release;
    expect(releases).toBe(1);
    expect(await getManagedObjects()).toEqual(before);
  });

  it('stay while calls keep using them', async () => {
    const release = nextRelease();
    const at = releases;
    const t0 = Date.now();
    // Calls closer together than KEPT_MS, for longer than it: nothing is let go meanwhile.
    while (Date.now() - t0 < KEPT_MS * 3) await getManagedObjects();
    expect(releases).toBe(at);
    await release;
    expect(releases).toBe(at + 1);
  });

  it('leave their sizes: a refusal after they went measures nothing again', async () => {
    await getManagedObjects();
    await nextRelease();
    const limit = serverConn.maxMessageBytes;
    serverConn.maxMessageBytes = 64 * 1024;
    try {
      charged.length = 0;
      await expect(getManagedObjects()).rejects.toThrow(/LimitsExceeded/);
      // Charged the 4 KiB minimum only: the running total was still known.
      expect(charged.every((b) => b <= 4096)).toBe(true);
    } finally {
      serverConn.maxMessageBytes = limit;
    }
  });
});
