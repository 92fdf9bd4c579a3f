// Manager.GetMapSummaries as the README documents it: every map once, in byte order of its
// object path, never more than `max` a page nor more than one message holds, with the values
// of the map's own properties and the serial of the newest event they reflect; an unknown
// option is refused; an unprivileged caller's replies are charged to its budget.
import * as dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_IFACE, MAP_IFACE, MAP_SUMMARY } from '../../src/frontends/dbus/api';
import { sizeOf } from '../../src/frontends/dbus/bus/wire';
import { callMethod, DBusCallError } from '../../src/frontends/dbus/bus/connection';
import { NOBODY, runAs } from '../helpers/dbus-daemon';
import { BUS_NAME, ROOT_PATH, startHarness, type Harness } from '../helpers/service-harness';

type Summary = [string, string, string, string, string, string, bigint, string, number, number, string, string[]];
type Page = [Summary[], string, bigint];

const summaries = async (h: Harness, after: string, max: number, options: Record<string, unknown> = {}): Promise<Page> =>
  (await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetMapSummaries', 'sua{sv}', [after, max, options])) as Page;

const get = async (h: Harness, path: string, iface: string, prop: string): Promise<unknown> =>
  (await callMethod(h.client, BUS_NAME, path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [iface, prop]))[0];

/** Every page from the first, `max` at a time; `between` runs after each page. */
async function readAll(h: Harness, max: number, between: (pages: number) => Promise<void> = async () => {}): Promise<Summary[][]> {
  const pages: Summary[][] = [];
  let after = '';
  do {
    const [maps, next] = await summaries(h, after, max);
    pages.push(maps);
    after = next;
    await between(pages.length);
  } while (after !== '');
  return pages;
}

describe('GetMapSummaries', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ maps: 12, pathsPerMap: 3, groupsPerMap: 2 }, {}, undefined, { simulatedMonitor: true });
  });
  afterAll(async () => h?.stop());

  it("says what the map's properties say, for every map, and the serial of the state it shows", async () => {
    const map = h.sim.maps()[0];
    h.kernel(h.sim.failPath(map.paths[1].dev));
    await h.waitFor((s) => s.some((x) => x.member === 'PathFailed'), 'PathFailed');
    await h.waitFor((s) => s.some((x) => x.member === 'PropertiesChanged' && x.args[0] === MAP_IFACE), 'the map PropertiesChanged');

    const [maps, next, serial] = await summaries(h, '', 0);
    expect(next).toBe('');
    expect(serial).toBe(await get(h, ROOT_PATH, MANAGER_IFACE, 'EventSerial'));
    expect(maps.map((m) => m[0])).toEqual(((await get(h, ROOT_PATH, MANAGER_IFACE, 'Maps')) as string[]).sort());
    const fields = ['Name', 'Wwid', 'SysfsName', 'Vendor', 'Product', 'Size', 'Health', 'NumPaths', 'ValidPaths', 'Queueing', 'Kind'];
    for (const m of maps) {
      const [props] = (await callMethod(h.client, BUS_NAME, m[0], 'org.freedesktop.DBus.Properties', 'GetAll', 's', [MAP_IFACE])) as [Record<string, unknown>];
      expect(m.slice(1, 12), m[0]).toEqual(fields.map((f) => props[f]));
      const devices = (props.Paths as string[]).map((p) => p.slice(p.lastIndexOf('/') + 1));
      expect([...m[12]].sort(), m[0]).toEqual(devices.sort());
    }
    const failed = maps.find((m) => m[1] === map.name)!;
    expect([failed[7], failed[8], failed[9]]).toEqual(['degraded', 3, 2]);
    h.kernel(h.sim.reinstatePath(map.paths[1].dev));
    await h.waitFor((s) => s.some((x) => x.member === 'PathReinstated'), 'PathReinstated');
  });

  it('returns every map present throughout exactly once, at most max a page, while maps come and go', async () => {
    const names = h.sim.maps().map((m) => m.name);
    const before = new Set((await readAll(h, 0)).flat().map((m) => m[0]));
    const touched = new Set<string>();
    const pages = await readAll(h, 3, async (n) => {
      const victim = names[n % names.length];
      const present = h.sim.maps().some((m) => m.name === victim);
      const member = present ? 'InterfacesRemoved' : 'InterfacesAdded';
      const seen = h.signals.length;
      h.kernel(present ? h.sim.removeMap(victim) : h.sim.addMap(victim));
      await h.waitFor((s) => s.slice(seen).some((x) => x.member === member), `${member} for ${victim}`);
      touched.add(h.signals.slice(seen).find((x) => x.member === member)!.args[0] as string);
    });
    const seen = new Map<string, number>();
    for (const page of pages) {
      expect(page.length).toBeLessThanOrEqual(3);
      for (const m of page) seen.set(m[0], (seen.get(m[0]) ?? 0) + 1);
    }
    const order = pages.flat().map((m) => m[0]);
    expect(order, 'in byte order').toEqual([...order].sort());
    const throughout = [...before].filter((p) => !touched.has(p));
    expect(throughout.length).toBeGreaterThan(0);
    for (const p of throughout) expect(seen.get(p), p).toBe(1);
    for (const [p, n] of seen) expect(n, `${p} returned once`).toBe(1);
  });

  it('refuses an option it does not know, naming none of the caller text', async () => {
    const e = await summaries(h, '', 0, { 'Kind\n\x1b[31m': new dbus.Variant('b', true) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DBusCallError);
    expect((e as DBusCallError).type).toBe('org.freedesktop.DBus.Error.InvalidArgs');
    expect((e as DBusCallError).detail).toBe('GetMapSummaries takes no options; got 1');
  });
});

describe('GetMapSummaries on a bus with a small message limit', () => {
  const LIMIT = 256 * 1024;
  let h: Harness;
  beforeAll(async () => {
    // About 200 bytes a summary: 1,500 maps are more than one message holds.
    h = await startHarness({ maps: 1500, pathsPerMap: 1 }, { maxMessageSize: LIMIT }, undefined, { maxMessageSize: LIMIT });
  }, 60_000);
  afterAll(async () => h?.stop());

  it('cuts each page to fit, and every map is read', async () => {
    const pages = await readAll(h, 0);
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.flat().length).toBe(1500);
    expect(new Set(pages.flat().map((m) => m[0])).size).toBe(1500);
    // Each page but the last as full as the limit allows: one more summary would not fit.
    for (const page of pages.slice(0, -1)) {
      expect(sizeOf(`a${MAP_SUMMARY}`, page)).toBeLessThanOrEqual(LIMIT);
      expect(sizeOf(`a${MAP_SUMMARY}`, page) + 2 * sizeOf(MAP_SUMMARY, page[0])).toBeGreaterThan(LIMIT - 1024);
    }
  });
});

describe.skipIf(process.getuid?.() !== 0)('GetMapSummaries and the caller budgets', () => {
  // A budget of about one read a second after a burst of two, against 2,000 maps (a reply of about 500 KB).
  const budget = { bytesPerSecond: 512 * 1024, burstBytes: 1024 * 1024, perCallBytes: 4096, maxWaiting: 32, managementCallBytes: 2 * 1024 * 1024 };
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ maps: 2000, pathsPerMap: 4 }, {}, undefined, { budget });
  }, 60_000);
  afterAll(async () => h?.stop());

  const readAs = async (uid: number, n: number): Promise<number> => {
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
      const r = await runAs(uid, 'busctl', [`--address=${h.bus.address}`, 'call', '--quiet', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetMapSummaries', 'sua{sv}', '', '0', '0']);
      expect(r.code, r.stderr).toBe(0);
    }
    return Date.now() - t0;
  };

  it("charges an unprivileged caller its replies' bytes, and never root", async () => {
    const [maps] = await summaries(h, '', 0);
    expect(maps.length).toBe(2000);
    const reply = sizeOf(`a${MAP_SUMMARY}`, maps);
    const n = 8;
    const root = await readAs(0, n);
    const nobody = await readAs(NOBODY, n);
    // A call is admitted while the bucket is positive and charged its reply after: the last
    // call starts once the first n - 1 replies, less the burst, were refilled.
    const owed = ((n - 1) * reply - budget.burstBytes) / budget.bytesPerSecond;
    console.log(`${n} reads of 2,000 summaries (${reply} bytes each): root ${root} ms, uid ${NOBODY} ${nobody} ms (the budget makes it wait at least ${Math.round(owed * 1000)} ms)`);
    expect(nobody).toBeGreaterThanOrEqual(owed * 1000);
    expect(root).toBeLessThan(owed * 1000);
  }, 60_000);
});
