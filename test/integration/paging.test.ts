// GetManagedObjectsPage while objects come and go: the README promises that every object
// present throughout a paged read is returned exactly once, in byte order, never more than
// `max` a page. Maps are removed and added back between pages, on both sides of the cursor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_IFACE } from '../../src/frontends/dbus/api';
import { callMethod } from '../../src/frontends/dbus/bus/connection';
import { BUS_NAME, ROOT_PATH, startHarness, type Harness } from '../helpers/service-harness';

const MAPS = 12;
const PATHS = 2;
const GROUPS = 2;

type Page = [Record<string, unknown>, string];

async function page(h: Harness, after: string, max: number): Promise<Page> {
  return (await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetManagedObjectsPage', 'su', [after, max])) as Page;
}

async function allObjects(h: Harness): Promise<Set<string>> {
  const [objects] = (await callMethod(h.client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects', '', [])) as [Record<string, unknown>];
  return new Set(Object.keys(objects));
}

describe('GetManagedObjectsPage while maps come and go', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ maps: MAPS, pathsPerMap: PATHS, groupsPerMap: GROUPS });
  });
  afterAll(async () => h?.stop());

  /** Remove or add a map through the kernel's uevents and wait until the bus shows it. */
  async function toggle(name: string, present: boolean): Promise<void> {
    const member = present ? 'InterfacesAdded' : 'InterfacesRemoved';
    const seen = h.signals.length;
    h.kernel(present ? h.sim.addMap(name) : h.sim.removeMap(name));
    await h.waitFor((s) => s.slice(seen).some((x) => x.member === member), `${member} for ${name}`);
  }

  it('returns every object present throughout exactly once, at most max a page, in byte order', async () => {
    const before = await allObjects(h);
    expect(before.size).toBe(1 + MAPS * (1 + GROUPS + PATHS));
    const names = h.sim.maps().map((m) => m.name);
    const seen = new Map<string, number>();
    const touched = new Set<string>();
    let after = '';
    let pages = 0;
    do {
      const max = 1 + (pages % 5);
      const [objects, next] = await page(h, after, max);
      const paths = Object.keys(objects);
      expect(paths.length, `page ${pages} with max ${max}`).toBeLessThanOrEqual(max);
      expect([...paths].sort(), 'in byte order').toEqual(paths);
      for (const p of paths) {
        expect(p > after, `${p} comes after ${after}`).toBe(true);
        seen.set(p, (seen.get(p) ?? 0) + 1);
      }
      after = next;
      // Between pages: a map leaves and another comes back, before and after the cursor.
      const victim = names[pages % MAPS];
      const present = h.sim.maps().some((m) => m.name === victim);
      const was = await allObjects(h);
      await toggle(victim, !present);
      const now = await allObjects(h);
      for (const p of [...was, ...now]) if (was.has(p) !== now.has(p)) touched.add(p);
      pages++;
    } while (after !== '');

    expect(pages).toBeGreaterThan(MAPS / 2);
    const throughout = [...before].filter((p) => !touched.has(p));
    expect(throughout.length).toBeGreaterThan(0);
    for (const p of throughout) expect(seen.get(p), p).toBe(1);
    for (const [p, n] of seen) expect(n, `${p} returned once`).toBe(1);
  });
});
