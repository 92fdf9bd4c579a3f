// The service on a real private dbus-daemon, judged by real clients (busctl, gdbus) and a
// separate connection that records signals. multipathd and the kernel are simulated; the
// real-kernel tier (test/vm) repeats the important parts on dm-multipath.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MANAGER_IFACE, MAP_IFACE, mapObjectPath, PATH_IFACE, pathObjectPath } from '../../src/frontends/dbus/api';
import { callMethod, getManagedObjects } from '../../src/frontends/dbus/bus/connection';
import { BUS_NAME, busctl, ROOT_PATH, run, startHarness, type Harness } from '../helpers/service-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('small');
});
afterAll(async () => h?.stop());
beforeEach(async () => {
  await h.settle(100);
  h.signals.length = 0;
});

const getProp = async (path: string, iface: string, name: string) => {
  const r = await busctl(h, '--json=short', 'get-property', BUS_NAME, path, iface, name);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout).data;
};

describe('objects', () => {
  it('busctl tree shows the manager, every map, group and path', async () => {
    const r = await busctl(h, 'tree', BUS_NAME);
    const maps = h.sim.maps();
    expect(r.stdout).toContain(ROOT_PATH);
    for (const m of maps) {
      expect(r.stdout).toContain(mapObjectPath(m.wwid));
      expect(r.stdout).toContain(`${mapObjectPath(m.wwid)}/group1`);
      for (const p of m.paths) expect(r.stdout).toContain(pathObjectPath(p.dev));
    }
  });

  it('GetManagedObjects equals the simulated topology', async () => {
    const objects = await getManagedObjects(h.client, BUS_NAME, ROOT_PATH);
    for (const m of h.sim.maps()) {
      const map = objects.get(mapObjectPath(m.wwid))!.get(MAP_IFACE)!;
      expect(map).toMatchObject({ Name: m.name, Wwid: m.wwid, SysfsName: m.sysfs, DevT: m.devT, NumPaths: m.paths.length, Health: 'optimal' });
      expect(map.Size).toBeTypeOf('bigint');
      // udisks escapes every byte outside [A-Za-z0-9] as _xx: dm-3 is block_devices/dm_2d3.
      expect(map.UDisksBlock).toBe(`/org/freedesktop/UDisks2/block_devices/${m.sysfs.replace('-', '_2d')}`);
      for (const p of m.paths) {
        const path = objects.get(pathObjectPath(p.dev))!.get(PATH_IFACE)!;
        expect(path).toMatchObject({ Device: p.dev, DevT: p.devT, DmState: 'active', Map: mapObjectPath(m.wwid) });
        expect(path.UDisksBlock).toBe(`/org/freedesktop/UDisks2/block_devices/${p.dev}`);
      }
    }
    const manager = objects.get(ROOT_PATH)!.get(MANAGER_IFACE)!;
    expect(manager).toMatchObject({ MultipathdAvailable: true, Health: 'optimal', KernelEventsAvailable: false });
    expect((manager.Maps as string[]).length).toBe(h.sim.maps().length);
  });

  it('busctl get-property and gdbus introspect read the manager', async () => {
    expect(await getProp(ROOT_PATH, MANAGER_IFACE, 'Health')).toBe('optimal');
    expect(await getProp(ROOT_PATH, MANAGER_IFACE, 'UserFriendlyNames')).toBe(true);
    const g = await run('gdbus', ['introspect', '--address', h.bus.address, '--dest', BUS_NAME, '--object-path', ROOT_PATH]);
    expect(g.stdout).toContain(`interface ${MANAGER_IFACE}`);
    expect(g.stdout).toMatch(/GetEvents\(in {2}t since,\s+in {2}u max,\s+out b complete,\s+out a\(tsoa\{sv\}\) events\)/);
  });
});

describe('path failure and recovery', () => {
  it('emits PathFailed at once, then PropertiesChanged with just the changes, each value announced once', async () => {
    const map = h.sim.maps()[0];
    const dev = map.paths[0];
    try {
      h.kernel(h.sim.failPath(dev.dev));
      await h.waitFor((s) => s.some((x) => x.member === 'PropertiesChanged'), 'PropertiesChanged');
      await h.settle(300);
      const first = h.signals[0];
      expect(first.member).toBe('PathFailed');
      expect(first.path).toBe(mapObjectPath(map.wwid));
      expect(first.args.slice(0, 3)).toEqual([pathObjectPath(dev.dev), dev.devT, map.paths.length - 1]);
      expect(typeof first.args[4]).toBe('bigint');

      // The kernel's news is one burst; multipathd's follow-up read (checker state, path
      // faults) may be a second one. No value is ever announced twice.
      const changed = h.signals.filter((s) => s.member === 'PropertiesChanged');
      const seen = new Map<string, Set<string>>();
      for (const c of changed.filter((x) => x.path !== ROOT_PATH)) {
        const keys = seen.get(c.path) ?? new Set<string>();
        for (const k of Object.keys(c.args[1] as object)) {
          expect(keys.has(k), `${c.path} ${k} announced twice`).toBe(false);
          keys.add(k);
        }
        seen.set(c.path, keys);
      }
      const pathChange = changed.find((c) => c.path === pathObjectPath(dev.dev))!;
      expect(pathChange.args[0]).toBe(PATH_IFACE);
      expect(pathChange.args[1]).toMatchObject({ DmState: 'failed', FailCount: 1 });
      const mapChange = changed.find((c) => c.path === mapObjectPath(map.wwid))!;
      expect(mapChange.args[1]).toMatchObject({ ValidPaths: map.paths.length - 1, Health: 'degraded' });
      expect(seen.get(mapObjectPath(map.wwid))!.has('Name')).toBe(false);
      expect(await getProp(mapObjectPath(map.wwid), MAP_IFACE, 'Health')).toBe('degraded');
    } finally {
      h.signals.length = 0;
      h.kernel(h.sim.reinstatePath(dev.dev));
    }
    await h.waitFor((s) => s.some((x) => x.member === 'PathReinstated'), 'PathReinstated');
    expect(await getProp(mapObjectPath(map.wwid), MAP_IFACE, 'Health')).toBe('optimal');
  });

  it('Failed when a map loses its last path, Restored when one returns, Health follows', async () => {
    const map = h.sim.maps()[1];
    h.kernel(map.paths.flatMap((p) => h.sim.failPath(p.dev)));
    await h.waitFor((s) => s.some((x) => x.member === 'Failed'), 'Failed');
    expect(h.signals.filter((s) => s.member === 'PathFailed')).toHaveLength(map.paths.length);
    expect(await getProp(mapObjectPath(map.wwid), MAP_IFACE, 'Health')).toBe('failed');
    expect(await getProp(ROOT_PATH, MANAGER_IFACE, 'Health')).toBe('failed');
    h.kernel(h.sim.reinstatePath(map.paths[0].dev));
    await h.waitFor((s) => s.some((x) => x.member === 'Restored'), 'Restored');
    h.kernel(map.paths.slice(1).flatMap((p) => h.sim.reinstatePath(p.dev)));
    await h.settle();
    expect(await getProp(ROOT_PATH, MANAGER_IFACE, 'Health')).toBe('optimal');
  });

  it('serials increase by one and GetEvents replays them', async () => {
    const before = (await getProp(ROOT_PATH, MANAGER_IFACE, 'EventSerial')) as number;
    // A path outside the active group: failing it switches no group, so only the two path events count.
    const map = h.sim.maps()[0];
    const dev = map.paths.find((p) => p.group !== map.activeGroup)!;
    h.kernel(h.sim.failPath(dev.dev));
    h.kernel(h.sim.reinstatePath(dev.dev));
    await h.waitFor((s) => s.some((x) => x.member === 'PathReinstated'), 'PathReinstated');
    const serials = h.signals.filter((s) => /^Path(Failed|Reinstated)$/.test(s.member)).map((s) => s.args[4] as bigint);
    expect(serials).toEqual([BigInt(before) + 1n, BigInt(before) + 2n]);
    const [complete, events] = (await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetEvents', 'tu', [BigInt(before), 10])) as [
      boolean,
      [bigint, string, string, Record<string, unknown>][],
    ];
    expect(complete).toBe(true);
    expect(events.map((e) => [e[0], e[1]])).toEqual([
      [serials[0], 'PathFailed'],
      [serials[1], 'PathReinstated'],
    ]);
    expect(events[0][3]).toMatchObject({ DevT: dev.devT, Synthesized: false });
  });

  it('ignores a replayed (stale) kernel event', async () => {
    const dev = h.sim.maps()[0].paths[0];
    const fail = h.sim.failPath(dev.dev);
    h.kernel(fail);
    h.kernel(h.sim.reinstatePath(dev.dev));
    await h.waitFor((s) => s.some((x) => x.member === 'PathReinstated'), 'PathReinstated');
    h.signals.length = 0;
    h.kernel(fail);
    await h.settle();
    expect(h.signals.filter((s) => s.member === 'PathFailed')).toEqual([]);
    expect(await getProp(pathObjectPath(dev.dev), PATH_IFACE, 'DmState')).toBe('active');
  });
});

describe('refresh', () => {
  it('a refresh that changes nothing emits nothing', async () => {
    const r = await busctl(h, 'call', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh');
    expect(r.stderr).toBe('');
    await h.settle();
    expect(h.signals).toEqual([]);
  });

  it('a flood of Refresh calls causes few reads', async () => {
    const before = h.service.stats.reads;
    await Promise.all(Array.from({ length: 50 }, () => callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', [])));
    expect(h.service.stats.reads - before).toBeLessThanOrEqual(2);
  });

  it('a change no event announced is found by the refresh and marked synthesized', async () => {
    const dev = h.sim.maps()[0].paths[0];
    h.sim.failPath(dev.dev); // the datagram is "lost"
    await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []);
    await h.waitFor((s) => s.some((x) => x.member === 'PathFailed'), 'PathFailed');
    const serial = h.signals.find((s) => s.member === 'PathFailed')!.args[4] as bigint;
    const [, events] = (await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetEvents', 'tu', [serial - 1n, 1])) as [
      boolean,
      [bigint, string, string, Record<string, unknown>][],
    ];
    expect(events[0][3]).toMatchObject({ Synthesized: true });
    h.kernel(h.sim.reinstatePath(dev.dev));
    await h.waitFor((s) => s.some((x) => x.member === 'PathReinstated'), 'PathReinstated');
  });

  it('a lost sequence number triggers Resynchronized after the rebuild', async () => {
    const dev = h.sim.maps()[0].paths[0];
    h.sim.failPath(dev.dev); // lost
    h.kernel(h.sim.reinstatePath(dev.dev)); // DM_SEQNUM jumps by two
    await h.waitFor((s) => s.some((x) => x.member === 'Resynchronized'), 'Resynchronized');
    const r = h.signals.find((s) => s.member === 'Resynchronized')!;
    expect(r.args[0]).toBe('seqnum-gap');
    expect(await getProp(pathObjectPath(dev.dev), PATH_IFACE, 'DmState')).toBe('active');
  });
});

describe('maps coming and going', () => {
  it('del map / add map give InterfacesRemoved / InterfacesAdded for map, groups and paths', async () => {
    const map = h.sim.maps()[1];
    h.kernel(h.sim.removeMap(map.name));
    await h.waitFor((s) => s.some((x) => x.member === 'InterfacesRemoved' && x.args[0] === mapObjectPath(map.wwid)), 'map removal');
    await h.settle();
    const removed = h.signals.filter((s) => s.member === 'InterfacesRemoved').map((s) => s.args[0]);
    expect(removed).toEqual(expect.arrayContaining([mapObjectPath(map.wwid), `${mapObjectPath(map.wwid)}/group1`, ...map.paths.map((p) => pathObjectPath(p.dev))]));
    expect(((await getProp(ROOT_PATH, MANAGER_IFACE, 'Maps')) as string[]).includes(mapObjectPath(map.wwid))).toBe(false);

    h.signals.length = 0;
    h.kernel(h.sim.addMap(map.name));
    await h.waitFor((s) => s.some((x) => x.member === 'InterfacesAdded' && x.args[0] === mapObjectPath(map.wwid)), 'map added');
    const added = h.signals.find((s) => s.member === 'InterfacesAdded' && s.args[0] === mapObjectPath(map.wwid))!;
    expect((added.args[1] as Record<string, Record<string, unknown>>)[MAP_IFACE]).toMatchObject({ Name: map.name });

    // The re-created dm device numbers its events from 1 again; they must not look stale.
    h.signals.length = 0;
    h.kernel(h.sim.failPath(map.paths[0].dev));
    await h.waitFor((s) => s.some((x) => x.member === 'PathFailed'), 'PathFailed on the re-created map');
    h.kernel(h.sim.reinstatePath(map.paths[0].dev));
    await h.waitFor((s) => s.some((x) => x.member === 'PathReinstated'), 'PathReinstated on the re-created map');
  });
});

describe('multipathd trouble', () => {
  it('a dead multipathd: MultipathdAvailable false, maps stay, events still signal; back: Resynchronized', async () => {
    await h.sim.die();
    await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []);
    expect(await getProp(ROOT_PATH, MANAGER_IFACE, 'MultipathdAvailable')).toBe(false);
    expect(((await getProp(ROOT_PATH, MANAGER_IFACE, 'Maps')) as string[]).length).toBe(h.sim.maps().length);
    const dev = h.sim.maps()[0].paths[0];
    h.signals.length = 0;
    h.kernel(h.sim.failPath(dev.dev));
    await h.waitFor((s) => s.some((x) => x.member === 'PathFailed'), 'PathFailed while multipathd is down');
    await h.sim.restart();
    await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []);
    await h.waitFor((s) => s.some((x) => x.member === 'Resynchronized'), 'Resynchronized');
    expect(await getProp(ROOT_PATH, MANAGER_IFACE, 'MultipathdAvailable')).toBe(true);
    h.kernel(h.sim.reinstatePath(dev.dev));
    await h.waitFor((s) => s.some((x) => x.member === 'PathReinstated'), 'PathReinstated');
  });

  it('a hung multipathd times out without blocking events or callers', async () => {
    h.sim.stall(true);
    const refresh = callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []);
    const dev = h.sim.maps()[0].paths[1];
    h.kernel(h.sim.failPath(dev.dev));
    await h.waitFor((s) => s.some((x) => x.member === 'PathFailed'), 'PathFailed while multipathd hangs', 1000);
    expect(await getProp(ROOT_PATH, MANAGER_IFACE, 'Health')).toBe('degraded');
    await refresh;
    h.sim.stall(false);
    h.kernel(h.sim.reinstatePath(dev.dev));
    await h.waitFor((s) => s.some((x) => x.member === 'PathReinstated'), 'PathReinstated');
  });
});
