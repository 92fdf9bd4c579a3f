// A topology too large for one D-Bus message: a real dbus-daemon with a small
// max_message_size (as the system bus has 32 MiB), so GetManagedObjects answers
// LimitsExceeded; the page then reads every map's summary (Manager.GetMapSummaries), a map's
// groups and paths when it is expanded, and follows the signals, in Debian's
// cockpit-ws/bridge and Chromium.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_IFACE } from '../../src/frontends/dbus/api';
import { BUS_NAME, busctl, ROOT_PATH, startHarness, type Harness } from '../helpers/service-harness';
import { openCockpit, type CockpitSession } from '../helpers/cockpit';

const LIMIT = 256 * 1024;
const MAPS = 120; // about 5.5 KiB each with four paths: GetManagedObjects would be ~660 KiB

let h: Harness;
let cockpit: CockpitSession;

beforeAll(async () => {
  h = await startHarness({ maps: MAPS, pathsPerMap: 4 }, { maxMessageSize: LIMIT }, undefined, { maxMessageSize: LIMIT, simulatedMonitor: true });
  cockpit = await openCockpit(h.bus.address);
}, 60_000);

afterAll(async () => {
  await cockpit?.stop();
  await h?.stop();
});

describe('the Cockpit page on a topology past the bus limit', () => {
  it('is refused GetManagedObjects, reads the summaries instead, and shows every map', async () => {
    const whole = await busctl(h, 'call', BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects');
    expect(whole.stderr).toMatch(/LimitsExceeded|too large|GetManagedObjectsPage/i);

    const t0 = Date.now();
    await cockpit.page.goto(cockpit.ws.pageUrl);
    await cockpit.page.locator('[data-page="ready"][data-paged="true"]').waitFor({ timeout: 20_000 });
    await expect.poll(() => cockpit.page.locator('[data-map-count]').getAttribute('data-map-count'), { timeout: 10_000 }).toBe(String(MAPS));
    console.log(`${MAPS} maps read in summaries and shown in ${Date.now() - t0} ms`);
    await expect(cockpit.page.locator('[data-overall]').getAttribute('data-overall')).resolves.toBe('optimal');
  });

  it('follows a path failure through the signals it subscribed to', async () => {
    const map = h.sim.maps()[0];
    await cockpit.page.locator(`tr[data-map="${map.name}"] td button`).first().click();
    h.kernel(h.sim.failPath(map.paths[1].dev));
    await cockpit.page.locator(`tr[data-path="${map.paths[1].dev}"][data-state="failed"]`).waitFor({ timeout: 5000 });
    await cockpit.page.locator(`tr[data-map="${map.name}"][data-health="degraded"]`).waitFor({ timeout: 5000 });
    const r = await busctl(h, 'get-property', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Health');
    expect(r.stdout).toContain('degraded');
  });
});
