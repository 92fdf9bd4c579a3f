// Messages past the bus's limit: a real dbus-daemon with a small max_message_size (it
// disconnects any sender that exceeds it, as the system bus does at 32 MiB), a topology
// whose GetManagedObjects would exceed it, and the clients a user runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_IFACE, mapObjectPath } from '../../src/frontends/dbus/api';
import { callMethod } from '../../src/frontends/dbus/bus/connection';
import { NOBODY } from '../helpers/dbus-daemon';
import { busctlPages } from '../helpers/pages';
import { BUS_NAME, busctl, CLI, ROOT_PATH, run, startHarness, type Harness } from '../helpers/service-harness';

const LIMIT = 256 * 1024;
const MAPS = 80; // about 5.5 KiB each with four paths: GetManagedObjects would be ~440 KiB
const OBJECTS = 1 + MAPS * (1 + 2 + 4);

const start = (topology: Parameters<typeof startHarness>[0]) =>
  startHarness(topology, { maxMessageSize: LIMIT }, undefined, { maxMessageSize: LIMIT });

async function stillServing(h: Harness): Promise<void> {
  const [owned] = await callMethod(h.client, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', 's', [BUS_NAME]);
  expect(owned, 'the service still owns its name').toBe(true);
  expect(h.service.topology.size).toBeGreaterThan(0);
  const r = await busctl(h, 'get-property', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Health');
  expect(r.code, r.stderr).toBe(0);
}

describe('a topology larger than one message', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start({ maps: MAPS, pathsPerMap: 4 });
  });
  afterAll(async () => h?.stop());

  it('GetManagedObjects is answered LimitsExceeded, naming the paged method, and the service stays on the bus', async () => {
    const r = await busctl(h, 'call', BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/GetManagedObjectsPage/);
    await expect(callMethod(h.client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects', '', [])).rejects.toThrow(
      /LimitsExceeded/,
    );
    await stillServing(h);
  });

  it('busctl reads every object in pages, each within the limit, in path order', async () => {
    const { objects, pages } = await busctlPages(h);
    expect(Object.keys(objects)).toHaveLength(OBJECTS);
    expect(pages).toBeGreaterThan(1);
    expect(objects).toHaveProperty([mapObjectPath(h.sim.maps()[MAPS - 1].wwid)]);
    await stillServing(h);
  });

  it.skipIf(process.getuid?.() !== 0)('uid 65534 may read the pages (the bus policy allows the method)', async () => {
    const { objects } = await busctlPages(h, NOBODY);
    expect(Object.keys(objects)).toHaveLength(OBJECTS);
  });

  it('show and status read it all, in pages', async () => {
    const show = await run(CLI, ['show', '--json', '--bus', h.bus.address]);
    expect(show.code, show.stderr).toBe(0);
    const maps = JSON.parse(show.stdout) as { Paths: string[] }[];
    expect(maps).toHaveLength(MAPS);
    expect(maps.every((m) => m.Paths.length === 4)).toBe(true);
    const status = await run(CLI, ['status', '--bus', h.bus.address]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout.trim().split('\n')).toHaveLength(MAPS);
    await stillServing(h);
  });

  it('a GetEvents page is cut to fit, and monitor --since replays every event across such pages', async () => {
    const first = h.service.eventSerial;
    const dev = h.sim.maps()[0].paths[0].dev;
    for (let i = 0; i < 750; i++) {
      h.kernel(h.sim.failPath(dev));
      h.kernel(h.sim.reinstatePath(dev));
    }
    const last = h.service.eventSerial;
    expect(last - first).toBe(1500n);
    const [, page] = (await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetEvents', 'tu', [first, 1000])) as [boolean, [bigint][]];
    expect(page.length).toBeGreaterThan(0);
    expect(page.length, 'cut below max by the size limit').toBeLessThan(1000);
    const [, next] = (await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetEvents', 'tu', [page[page.length - 1][0], 1000])) as [
      boolean,
      [bigint][],
    ];
    expect(next[0][0]).toBe(page[page.length - 1][0] + 1n);

    const mon = await run(CLI, ['monitor', '--json', '--since', String(first), '--bus', h.bus.address], { until: (out) => out.includes(`"serial":"${last}"`), killAfterMs: 60_000 });
    const serials = mon.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { serial?: string }).serial)
      .filter((s) => s !== undefined)
      .map(BigInt);
    expect(serials).toEqual(Array.from({ length: 1500 }, (_, i) => first + 1n + BigInt(i)));
    await stillServing(h);
  });
});

describe('a signal larger than the limit', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start('small');
  });
  afterAll(async () => h?.stop());

  it('is not sent; clients are told to re-read (Resynchronized), and the service stays on the bus', async () => {
    h.sim.setVendorProduct('HUGE', 'P'.repeat(LIMIT + 1024));
    await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []);
    await h.waitFor((s) => s.some((x) => x.member === 'Resynchronized' && x.args[0] === 'message-size'), 'Resynchronized("message-size")');
    await stillServing(h);
    // The pages stop before the oversized object, then name it; Properties.Get still reads the rest of it.
    const first = await busctl(h, '--json=short', 'call', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetManagedObjectsPage', 'su', '', '0');
    const [objects, next] = (JSON.parse(first.stdout) as { data: [Record<string, unknown>, string] }).data;
    expect(Object.keys(objects)).not.toContain(mapObjectPath(h.sim.maps()[0].wwid));
    const stuck = await busctl(h, 'call', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetManagedObjectsPage', 'su', next, '0');
    expect(stuck.stderr).toMatch(/maps\/.* alone is larger than the message size limit/);
    const name = await busctl(h, 'get-property', BUS_NAME, mapObjectPath(h.sim.maps()[0].wwid), `${BUS_NAME}.Map`, 'Vendor');
    expect(name.stdout.trim()).toBe('s "HUGE"');

    h.sim.setVendorProduct('Linux', 'scsi_debug');
    await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []);
    await h.waitFor((s) => s.some((x) => x.member === 'PropertiesChanged' && (x.args[1] as Record<string, unknown>).Product === 'scsi_debug'), 'Product back');
    await stillServing(h);
  });
});
