// The Cockpit page believes only the service. cockpit.js gives the page a signal's path,
// interface, member and arguments but not its sender, so the page cannot check it: the
// bridge must. Cockpit 287's bridge subscribes with the service's well-known name as sender
// (GLib, since the fix for CVE-2024-34397, delivers such a subscription only the current
// owner's signals) and its watch() cache compares every PropertiesChanged and
// InterfacesAdded/Removed sender with the owner itself. Proved here end to end: uid 65534
// sends forged signals straight to the bridge's connection, the page shows none of them,
// and the same signals sent by the service's own connection are shown, so nothing but the
// sender told them apart.
import * as dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUS_NAME, MAP_IFACE, mapObjectPath } from '../../src/frontends/dbus/api';
import { callMethod } from '../../src/frontends/dbus/bus/connection';
import { startHarness, type Harness } from '../helpers/service-harness';
import { openCockpit, type CockpitSession } from '../helpers/cockpit';
import { connectionsOf, forge, FORGED_MAP, MAX_SERIAL } from '../helpers/forged-signals';

let h: Harness;
let cockpit: CockpitSession;
/** The bridge's connections to the service's bus. */
let bridge: string[];

const mapRow = (name: string) => cockpit.page.locator(`tr[data-map="${name}"]`);
const events = () =>
  cockpit.page.locator('tr[data-kind]').evaluateAll((trs) => trs.map((r) => ({ serial: r.getAttribute('data-serial'), kind: r.getAttribute('data-kind'), text: r.textContent })));

beforeAll(async () => {
  h = await startHarness({ maps: 3, pathsPerMap: 4 }, {}, undefined, { simulatedMonitor: true });
  cockpit = await openCockpit(h.bus.address);
  await cockpit.page.goto(cockpit.ws.pageUrl);
  for (const m of h.sim.maps()) await cockpit.page.locator(`tr[data-map="${m.name}"][data-health="optimal"]`).waitFor({ timeout: 15_000 });
  const pids = cockpit.ws.leftovers().map((p) => Number(p.split(' ')[0]));
  bridge = await connectionsOf(h.client, pids);
}, 60_000);

afterAll(async () => {
  await cockpit?.stop();
  await h?.stop();
});

/** A real path failure of the first map; resolves once the page lists it as the newest event, with the service's serial. */
async function realFailure() {
  const map = h.sim.maps()[0];
  const dev = map.paths[0].dev;
  h.kernel(h.sim.failPath(dev));
  await expect.poll(() => cockpit.page.locator('tr[data-kind]').first().getAttribute('data-serial')).toBe(String(h.service.eventSerial));
  await expect.poll(() => mapRow(map.name).getAttribute('data-health')).toBe('degraded');
  return { map, dev };
}

async function reinstate(dev: string, name: string) {
  h.kernel(h.sim.reinstatePath(dev));
  await expect.poll(() => mapRow(name).getAttribute('data-health')).toBe('optimal');
}

describe('the Cockpit page against forged signals', () => {
  it("uid 65534 sends the bridge NameOwnerChanged, Map.Failed (next serial, 2^64-1) and a map's Health: none shown, the real failure after them is", async () => {
    expect(bridge.length).toBeGreaterThan(0);
    const map = h.sim.maps()[0];
    const [owner] = (await callMethod(h.client, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetNameOwner', 's', [BUS_NAME])) as [string];
    const next = h.service.eventSerial + 1n;
    await forge(h.bus.address, bridge, [
      { nameTakenFromUs: owner },
      { mapFailed: next },
      { mapFailed: MAX_SERIAL },
      { mapHealthFailed: mapObjectPath(map.wwid) },
    ]);
    const { dev } = await realFailure();
    const shown = await events();
    expect(shown[0]).toMatchObject({ serial: String(next), kind: 'PathFailed' });
    expect(shown.filter((e) => e.kind === 'Failed' || /forged/.test(e.text ?? '') || BigInt(e.serial ?? 0) > h.service.eventSerial)).toEqual([]);
    await reinstate(dev, map.name);
  });

  it('a serial far ahead from the service itself is checked against GetEvents, not shown', async () => {
    h.serviceBus.sendSignal(FORGED_MAP, MAP_IFACE, 'Failed', 't', [MAX_SERIAL]);
    const { map, dev } = await realFailure();
    expect((await events()).filter((e) => e.kind === 'Failed' || BigInt(e.serial ?? 0) > h.service.eventSerial)).toEqual([]);
    await reinstate(dev, map.name);
  });

  it("the same Map.Failed and Health sent to the bridge by the service's own connection are shown: only the sender told them apart", async () => {
    const map = h.sim.maps()[1];
    const next = h.service.eventSerial + 1n;
    const conn = h.serviceBus;
    // Addressed to the bridge, as the forger's were (sendSignal broadcasts).
    const signal = (path: string, iface: string, member: string, signature: string, body: unknown[]) =>
      bridge.forEach((destination) => conn.sendSignal(path, iface, member, signature, body, destination));
    signal(FORGED_MAP, MAP_IFACE, 'Failed', 't', [next]);
    signal(mapObjectPath(map.wwid), 'org.freedesktop.DBus.Properties', 'PropertiesChanged', 'sa{sv}as', [
      MAP_IFACE,
      { Health: new dbus.Variant('s', 'failed'), ValidPaths: new dbus.Variant('u', 0) },
      [],
    ]);
    await expect.poll(() => cockpit.page.locator('tr[data-kind]').first().getAttribute('data-kind')).toBe('Failed');
    expect(await cockpit.page.locator('tr[data-kind]').first().getAttribute('data-serial')).toBe(String(next));
    await expect.poll(() => mapRow(map.name).getAttribute('data-health')).toBe('failed');
  });
});
