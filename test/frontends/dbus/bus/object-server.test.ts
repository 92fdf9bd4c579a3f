// The export layer on its own: an ObjectServer with the real tables and made-up values on a
// private system-like bus, judged by real clients (busctl, gdbus) and a dbus-next client.
import * as fs from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BUS_NAME,
  groupObjectPath,
  MANAGER,
  MANAGER_IFACE,
  MAP,
  MAP_IFACE,
  mapObjectPath,
  PATH,
  PATH_GROUP,
  PATH_GROUP_IFACE,
  PATH_IFACE,
  pathObjectPath,
  ROOT_PATH,
} from '../../../../src/frontends/dbus/api';
import { callMethod, connectBus, disconnect, getManagedObjects, onSignal, requestName, type BusConnection } from '../../../../src/frontends/dbus/bus/connection';
import type { InterfaceSpec } from '../../../../src/frontends/dbus/bus/interface-spec';
import { DBusError, ObjectServer, variant, type MethodCall, type Props } from '../../../../src/frontends/dbus/bus/object-server';
import { NOBODY, run, runAs, spawnAs, startPrivateBus, type PrivateBus } from '../../../helpers/dbus-daemon';

const WWID = '3600a0b80005ad1d7000094c74b6a6e2f';
const MAP_PATH = mapObjectPath(WWID);
const GROUP_PATH = groupObjectPath(WWID, 1);
const SDB = pathObjectPath('sdb');
const SDC = pathObjectPath('sdc');
const PROPS = 'org.freedesktop.DBus.Properties';

/** A value of every property of an interface, by type, with overrides. */
function fake(spec: InterfaceSpec, overrides: Props = {}): Props {
  const byType: Record<string, unknown> = { s: 'x', o: ROOT_PATH, u: 2, i: -1, t: 1n << 40n, b: true, ao: [SDB, SDC], 'a(ss)': [['devnode', '^sd[a-z]']] };
  return { ...Object.fromEntries(spec.properties.map((p) => [p.name, byType[p.type]])), ...overrides };
}

const objects = (): [string, string, Props][] => [
  [ROOT_PATH, MANAGER_IFACE, fake(MANAGER, { Health: 'optimal', Maps: [MAP_PATH], EventSerial: 7n, Blacklist: [['devnode', '^loop'], ['wwid', '36001405']] })],
  [MAP_PATH, MAP_IFACE, fake(MAP, { Name: 'mpatha', Wwid: WWID, Size: 10n * 1024n ** 3n, ValidPaths: 2, Health: 'optimal', PathGroups: [GROUP_PATH] })],
  [GROUP_PATH, PATH_GROUP_IFACE, fake(PATH_GROUP, { Number: 1, Map: MAP_PATH })],
  [SDB, PATH_IFACE, fake(PATH, { Device: 'sdb', DevT: '8:16', DmState: 'active', Map: MAP_PATH, PathGroup: GROUP_PATH })],
  [SDC, PATH_IFACE, fake(PATH, { Device: 'sdc', DevT: '8:32', DmState: 'active', Map: MAP_PATH, PathGroup: GROUP_PATH })],
];

interface Seen {
  path: string;
  iface: string;
  member: string;
  args: unknown[];
}

let bus: PrivateBus;
let serverConn: BusConnection;
let client: BusConnection;
let server: ObjectServer;
let signals: Seen[] = [];
const calls: MethodCall[] = [];
const internalErrors: unknown[] = [];
let marker = 0;

beforeAll(async () => {
  bus = await startPrivateBus();
  serverConn = await connectBus(bus.address);
  server = new ObjectServer(serverConn, {
    objectManagerPath: ROOT_PATH,
    interfaces: [MANAGER, MAP, PATH_GROUP, PATH],
    onInternalError: (e) => internalErrors.push(e),
    handlers: {
      [`${MANAGER_IFACE}.GetEvents`]: (call) => {
        calls.push(call);
        const [since, max] = call.args as [bigint, number];
        if (max === 0) throw new DBusError('org.kernel.linux.storage.multipath1.Error.InvalidMax', 'max must be at least 1');
        return [since === 0n, [[since + 1n, 'PathFailed', MAP_PATH, { DevT: variant('s', '8:16'), ValidPaths: variant('u', 1) }]]];
      },
      [`${MANAGER_IFACE}.Refresh`]: async (call) => {
        calls.push(call);
        if (call.sender === refreshFailsFor) throw new Error('secret: /etc/shadow unreadable');
        return [];
      },
    },
  });
  for (const [p, i, v] of objects()) server.setObject(p, new Map([[i, v]]));
  await requestName(serverConn, BUS_NAME);
  client = await connectBus(bus.address);
  await onSignal(client, { sender: BUS_NAME }, (m) => signals.push(m));
});

afterAll(async () => {
  if (client) disconnect(client);
  if (serverConn) disconnect(serverConn);
  await bus?.stop();
});

beforeEach(() => {
  signals = [];
  calls.length = 0;
});

let refreshFailsFor = '';

/**
 * Everything the server sent before now: a marker signal is sent last, and the bus keeps
 * one sender's messages in order, so once it arrives nothing earlier is still on its way.
 */
async function sentSoFar(): Promise<Seen[]> {
  const serial = BigInt(++marker);
  server.emitSignal(ROOT_PATH, MANAGER_IFACE, 'Resynchronized', ['marker', serial]);
  const end = Date.now() + 5000;
  while (!signals.some((s) => s.member === 'Resynchronized' && s.args[1] === serial)) {
    if (Date.now() > end) throw new Error('the marker signal never arrived');
    await new Promise((r) => setTimeout(r, 10));
  }
  return signals.filter((s) => s.member !== 'Resynchronized');
}

/** Let the server's end-of-burst flush run. */
const nextTurn = () => new Promise((r) => setImmediate(r));

const errorName = (p: Promise<unknown>) => p.then(
  () => 'no error',
  (e: Error) => e.message,
);

describe('what clients see', () => {
  it('busctl tree walks from / down to every object', async () => {
    const r = await run('busctl', [`--address=${bus.address}`, 'tree', '--list', BUS_NAME]);
    expect(r.code, r.stderr).toBe(0);
    const listed = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
    for (const p of ['/', '/org', '/org/kernel', ROOT_PATH, `${ROOT_PATH}/maps`, MAP_PATH, GROUP_PATH, `${ROOT_PATH}/paths`, SDB, SDC]) {
      expect(listed).toContain(p);
    }
  });

  it('gdbus introspect --recurse reaches every object with its interface', async () => {
    const r = await run('gdbus', ['introspect', '--address', bus.address, '--dest', BUS_NAME, '--object-path', '/', '--recurse']);
    expect(r.code, r.stderr).toBe(0);
    for (const [p, iface] of objects().map(([p, i]) => [p, i])) {
      const section = r.stdout.slice(r.stdout.indexOf(`node ${p} {`));
      expect(section, p).toContain(`interface ${iface} {`);
    }
    expect(r.stdout).toMatch(/interface org\.freedesktop\.DBus\.ObjectManager \{[\s\S]*GetManagedObjects\(out a\{oa\{sa\{sv\}\}\} objects\)/);
  });

  it('busctl reads properties with the types of the tables', async () => {
    const get = (p: string, i: string, name: string) => run('busctl', [`--address=${bus.address}`, 'get-property', BUS_NAME, p, i, name]);
    expect((await get(MAP_PATH, MAP_IFACE, 'Size')).stdout.trim()).toBe('t 10737418240');
    expect((await get(ROOT_PATH, MANAGER_IFACE, 'Blacklist')).stdout.trim()).toBe('a(ss) 2 "devnode" "^loop" "wwid" "36001405"');
    expect((await get(SDB, PATH_IFACE, 'Priority')).stdout.trim()).toBe('i -1');
    expect((await get(MAP_PATH, MAP_IFACE, 'PathGroups')).stdout.trim()).toBe(`ao 1 "${GROUP_PATH}"`);
    const all = await run('busctl', [`--address=${bus.address}`, 'introspect', BUS_NAME, SDB, PATH_IFACE]);
    expect(all.stdout).toMatch(/\.DevT\s+property\s+s\s+"8:16"\s+emits-change/);
  });

  it('GetManagedObjects returns exactly what was set, as plain values', async () => {
    const got = await getManagedObjects(client, BUS_NAME, ROOT_PATH);
    expect([...got.keys()].sort()).toEqual(objects().map(([p]) => p).sort());
    for (const [p, i, v] of objects()) expect(got.get(p)?.get(i), p).toEqual(v);
  });

  it('Peer answers on any path', async () => {
    await expect(callMethod(client, BUS_NAME, '/', 'org.freedesktop.DBus.Peer', 'Ping', '', [])).resolves.toEqual([]);
    const [id] = await callMethod(client, BUS_NAME, MAP_PATH, 'org.freedesktop.DBus.Peer', 'GetMachineId', '', []);
    expect(id).toBe(fs.readFileSync('/etc/machine-id', 'utf8').trim());
  });
});

describe('change announcements', () => {
  it('setting unchanged values (fresh copies) announces nothing', async () => {
    for (const [p, i, v] of objects()) server.setObject(p, new Map([[i, structuredClone(v)]]));
    server.flush();
    expect(await sentSoFar()).toEqual([]);
  });

  it('a number where the table says t is the same value as the bigint', async () => {
    server.setObject(MAP_PATH, new Map([[MAP_IFACE, { Size: 10 * 1024 ** 3 }]]));
    server.flush();
    expect(await sentSoFar()).toEqual([]);
  });

  it('a burst of changes: one PropertiesChanged per object, with just what changed, without being asked to flush', async () => {
    server.setObject(MAP_PATH, new Map([[MAP_IFACE, { ValidPaths: 1 }]]));
    server.setObject(SDB, new Map([[PATH_IFACE, { DmState: 'failed', FailCount: 3 }]]));
    server.setObject(MAP_PATH, new Map([[MAP_IFACE, { Health: 'degraded', NumPaths: 2 }]]));
    server.setObject(MAP_PATH, new Map([[MAP_IFACE, { Vendor: 'NETAPP' }]]));
    server.setObject(MAP_PATH, new Map([[MAP_IFACE, { Vendor: 'x' }]])); // back to what clients saw
    await nextTurn();
    const sent = await sentSoFar();
    expect(sent).toEqual([
      { path: MAP_PATH, iface: PROPS, member: 'PropertiesChanged', sender: expect.any(String), args: [MAP_IFACE, { ValidPaths: 1, Health: 'degraded' }, []] },
      { path: SDB, iface: PROPS, member: 'PropertiesChanged', sender: expect.any(String), args: [PATH_IFACE, { DmState: 'failed', FailCount: 3 }, []] },
    ]);
    const [health] = await callMethod(client, BUS_NAME, MAP_PATH, PROPS, 'Get', 'ss', [MAP_IFACE, 'Health']);
    expect(health).toBe('degraded');
  });

  it('a change undone within the burst announces nothing', async () => {
    server.setObject(SDC, new Map([[PATH_IFACE, { CheckerState: 'down' }]]));
    server.setObject(SDC, new Map([[PATH_IFACE, { CheckerState: 'x' }]]));
    server.flush();
    expect(await sentSoFar()).toEqual([]);
  });

  it('new objects are announced at once with all their properties; removed ones with all their interfaces', async () => {
    const sdd = pathObjectPath('sdd');
    const props = fake(PATH, { Device: 'sdd', DevT: '8:48', Map: MAP_PATH, PathGroup: GROUP_PATH });
    server.setObject(sdd, new Map([[PATH_IFACE, props]]));
    server.setObject(sdd, new Map([[PATH_IFACE, { DmState: 'failed' }]]));
    server.removeObject(sdd); // the pending change dies with it
    await nextTurn();
    expect(await sentSoFar()).toEqual([
      { path: ROOT_PATH, iface: 'org.freedesktop.DBus.ObjectManager', member: 'InterfacesAdded', sender: expect.any(String), args: [sdd, { [PATH_IFACE]: props }] },
      { path: ROOT_PATH, iface: 'org.freedesktop.DBus.ObjectManager', member: 'InterfacesRemoved', sender: expect.any(String), args: [sdd, [PATH_IFACE]] },
    ]);
    expect(server.has(sdd)).toBe(false);
    expect(await errorName(callMethod(client, BUS_NAME, sdd, PROPS, 'GetAll', 's', [PATH_IFACE]))).toMatch(/UnknownObject/);
  });

  it('a view: values are read from their owner when asked (no copy kept); a new view announces only what differs', async () => {
    const sde = pathObjectPath('sde');
    // The owner's values, immutable as the model's snapshots are: a change is a new object and a new view.
    let owner = Object.freeze(fake(PATH, { Device: 'sde', DevT: '8:64', DmState: 'active', Map: MAP_PATH, PathGroup: GROUP_PATH }));
    let reads = 0;
    const view = (of: Props) => () => (reads++, of);
    server.setObject(sde, new Map([[PATH_IFACE, view(owner)]]));
    const before = reads;
    const [all] = await callMethod(client, BUS_NAME, sde, PROPS, 'GetAll', 's', [PATH_IFACE]);
    expect((all as Props).DevT).toBe('8:64');
    expect(reads).toBeGreaterThan(before);
    server.setObject(sde, new Map([[PATH_IFACE, view({ ...owner })]])); // equal: nothing to say
    owner = Object.freeze({ ...owner, DmState: 'failed', FailCount: 1 });
    server.setObject(sde, new Map([[PATH_IFACE, view(owner)]]));
    await nextTurn();
    const [state] = await callMethod(client, BUS_NAME, sde, PROPS, 'Get', 'ss', [PATH_IFACE, 'DmState']);
    expect(state).toBe('failed');
    server.removeObject(sde);
    expect((await sentSoFar()).map((x) => [x.path, x.member, x.args[0], x.args[1]])).toEqual([
      [ROOT_PATH, 'InterfacesAdded', sde, { [PATH_IFACE]: expect.objectContaining({ DmState: 'active' }) }],
      [sde, 'PropertiesChanged', PATH_IFACE, { DmState: 'failed', FailCount: 1 }],
      [ROOT_PATH, 'InterfacesRemoved', sde, [PATH_IFACE]],
    ]);
  });

  it('an interface that leaves or joins an object is announced on its own', async () => {
    const odd = `${ROOT_PATH}/maps/odd`;
    const map = fake(MAP);
    const group = fake(PATH_GROUP);
    server.setObject(odd, new Map([[MAP_IFACE, map], [PATH_GROUP_IFACE, group]]));
    server.setObject(odd, new Map([[MAP_IFACE, map]]));
    server.setObject(odd, new Map([[MAP_IFACE, map], [PATH_GROUP_IFACE, group]]));
    server.removeObject(odd);
    const om = 'org.freedesktop.DBus.ObjectManager';
    expect((await sentSoFar()).map((s) => [s.iface, s.member, s.args])).toEqual([
      [om, 'InterfacesAdded', [odd, { [MAP_IFACE]: map, [PATH_GROUP_IFACE]: group }]],
      [om, 'InterfacesRemoved', [odd, [PATH_GROUP_IFACE]]],
      [om, 'InterfacesAdded', [odd, { [PATH_GROUP_IFACE]: group }]],
      [om, 'InterfacesRemoved', [odd, [MAP_IFACE, PATH_GROUP_IFACE]]],
    ]);
  });

  it('a property or interface outside the tables is a programming error, not a silent drop', () => {
    expect(() => server.setObject(MAP_PATH, new Map([[MAP_IFACE, { Colour: 'blue' }]]))).toThrow(/no property Colour/);
    expect(() => server.setObject('/elsewhere', new Map([['com.example.X', {}]]))).toThrow(/no interface com.example.X/);
    expect(server.has('/elsewhere')).toBe(false);
  });

  it('emitSignal takes the signature from the table and checks the arguments', async () => {
    server.emitSignal(MAP_PATH, MAP_IFACE, 'PathFailed', [SDB, '8:16', 1, 42, 9]);
    expect(await sentSoFar()).toEqual([
      { path: MAP_PATH, iface: MAP_IFACE, member: 'PathFailed', sender: expect.any(String), args: [SDB, '8:16', 1, 42, 9n] },
    ]);
    expect(() => server.emitSignal(MAP_PATH, MAP_IFACE, 'PathFailed', [SDB, '8:16', 1])).toThrow(/takes 5 arguments, got 3/);
    expect(() => server.emitSignal(MAP_PATH, MAP_IFACE, 'Exploded', [])).toThrow(/no signal/);
  });
});

describe('methods', () => {
  it('the handler sees the arguments, the caller and whether it allows interactive authorization', async () => {
    const [complete, events] = await callMethod(client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetEvents', 'tu', [0n, 10]);
    expect(complete).toBe(true);
    expect(events).toEqual([[1n, 'PathFailed', MAP_PATH, { DevT: '8:16', ValidPaths: 1 }]]);
    expect(calls[0]).toMatchObject({ path: ROOT_PATH, iface: MANAGER_IFACE, member: 'GetEvents', args: [0n, 10], sender: client.uniqueName, allowInteractive: false });

    for (const allow of ['yes', 'no']) {
      const r = await run('busctl', [`--address=${bus.address}`, `--allow-interactive-authorization=${allow}`, 'call', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh']);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(calls.slice(1).map((c) => c.allowInteractive)).toEqual([true, false]);
  });

  it('a call without an interface finds the method on the object', async () => {
    const r = await run('gdbus', ['call', '--address', bus.address, '--dest', BUS_NAME, '--object-path', ROOT_PATH, '--method', `${MANAGER_IFACE}.GetEvents`, '5', '1']);
    expect(r.stdout.trim()).toBe(`(false, [(uint64 6, 'PathFailed', objectpath '${MAP_PATH}', {'DevT': <'8:16'>, 'ValidPaths': <uint32 1>})])`);
  });
});

describe('careless and hostile callers', () => {
  it('wrong argument types: InvalidArgs, and the handler is never called', async () => {
    const r = await run('busctl', [`--address=${bus.address}`, 'call', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetEvents', 's', 'lots']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/takes arguments of type "tu", got "s"/);
    expect(await errorName(callMethod(client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', 'u', [1]))).toMatch(/InvalidArgs/);
    expect(await errorName(callMethod(client, BUS_NAME, ROOT_PATH, PROPS, 'Get', 's', [MANAGER_IFACE]))).toMatch(/InvalidArgs/);
    expect(calls).toEqual([]);
  });

  it('unknown objects, interfaces, methods and properties get the matching errors', async () => {
    const cases: [string, string, string, string, unknown[], RegExp][] = [
      [`${ROOT_PATH}/maps/nothing`, MAP_IFACE, 'Foo', '', [], /UnknownObject/],
      [`${ROOT_PATH}/maps/nothing`, 'org.freedesktop.DBus.Introspectable', 'Introspect', '', [], /UnknownObject/],
      [`${ROOT_PATH}/maps/nothing`, PROPS, 'GetAll', 's', [MAP_IFACE], /UnknownObject/],
      [ROOT_PATH, MANAGER_IFACE, 'Explode', '', [], /UnknownMethod/],
      [MAP_PATH, MANAGER_IFACE, 'Refresh', '', [], /UnknownMethod/],
      [ROOT_PATH, PROPS, 'Delete', '', [], /UnknownMethod/],
      [ROOT_PATH, PROPS, 'Get', 'ss', ['no.such.Iface', 'X'], /UnknownInterface/],
      [MAP_PATH, PROPS, 'GetAll', 's', [MANAGER_IFACE], /UnknownInterface/],
      [ROOT_PATH, PROPS, 'Get', 'ss', [MANAGER_IFACE, 'Nope'], /UnknownProperty/],
      [ROOT_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects', 'u', [1], /InvalidArgs/],
      [MAP_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects', '', [], /UnknownMethod/],
    ];
    for (const [p, i, m, sig, args, want] of cases) expect(await errorName(callMethod(client, BUS_NAME, p, i, m, sig, args)), `${p} ${i}.${m}`).toMatch(want);
  });

  it('Set is refused: every property is read-only', async () => {
    const set = callMethod(client, BUS_NAME, ROOT_PATH, PROPS, 'Set', 'ssv', [MANAGER_IFACE, 'Health', variant('s', 'failed')]);
    expect(await errorName(set)).toMatch(/PropertyReadOnly/);
    const [health] = await callMethod(client, BUS_NAME, ROOT_PATH, PROPS, 'Get', 'ss', [MANAGER_IFACE, 'Health']);
    expect(health).toBe('optimal');
  });

  it('a handler DBusError reaches the caller as that error', async () => {
    expect(await errorName(callMethod(client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetEvents', 'tu', [0n, 0]))).toBe(
      'org.kernel.linux.storage.multipath1.Error.InvalidMax: max must be at least 1',
    );
  });

  it('a failing handler: Failed without its details, reported inside, and the server keeps answering', async () => {
    refreshFailsFor = client.uniqueName;
    const msg = await errorName(callMethod(client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []));
    refreshFailsFor = '';
    expect(msg).toBe('org.freedesktop.DBus.Error.Failed: Refresh failed');
    expect(internalErrors.map((e) => (e as Error).message)).toContain('secret: /etc/shadow unreadable');
    await expect(callMethod(client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', [])).resolves.toEqual([]);
  });

  it('the name has one owner: a second connection cannot take it', async () => {
    const other = await connectBus(bus.address);
    try {
      await expect(requestName(other, BUS_NAME)).rejects.toThrow(`cannot own ${BUS_NAME}: another process owns it`);
    } finally {
      disconnect(other);
    }
  });
});

describe.skipIf(process.getuid?.() !== 0)('as uid 65534', () => {
  it('reaches the handlers it is allowed to, as itself', async () => {
    const r = await runAs(NOBODY, 'busctl', [`--address=${bus.address}`, 'call', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetEvents', 'tu', '3', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`ba(tsoa{sv}) false 1 4 "PathFailed" "${MAP_PATH}" 2 "DevT" s "8:16" "ValidPaths" u 1`);
    expect(calls).toHaveLength(1);
    expect(calls[0].sender).not.toBe(client.uniqueName);
  });

  it('receives the signals', async () => {
    const monitor = spawnAs(NOBODY, 'gdbus', ['monitor', '--address', bus.address, '--dest', BUS_NAME, '--object-path', MAP_PATH]);
    let out = '';
    monitor.stdout!.on('data', (d) => (out += d));
    try {
      // gdbus prints this once its match rule is in place.
      await until(() => out.includes('Monitoring signals'), 'gdbus monitor to start');
      server.emitSignal(MAP_PATH, MAP_IFACE, 'Failed', [11]);
      server.setObject(MAP_PATH, new Map([[MAP_IFACE, { MapLoads: 5 }]]));
      server.flush();
      await until(() => out.includes('PropertiesChanged'), 'the signals to reach uid 65534');
      expect(out).toContain(`${MAP_PATH}: ${MAP_IFACE}.Failed (uint64 11,)`);
      expect(out).toContain(`('${MAP_IFACE}', {'MapLoads': <uint32 5>}, @as [])`);
    } finally {
      monitor.kill();
    }
  });
});

async function until(pred: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
