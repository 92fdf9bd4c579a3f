// The Cockpit page in a real browser: Debian's cockpit-ws and cockpit-bridge serve
// cockpit/dist, the bridge talks to a private system bus where the real service runs on
// the multipathd simulator, and Debian's Chromium renders it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callMethod } from '../../src/frontends/dbus/bus/connection';
import { MANAGER_IFACE } from '../../src/frontends/dbus/api';
import { BUS_NAME, ROOT_PATH, startHarness, type Harness } from '../helpers/service-harness';
import { msUntilShown, openCockpit, type CockpitSession } from '../helpers/cockpit';

/** Set to a file name (docs/cockpit.png) to keep the screenshot the README shows. */
const SCREENSHOT = process.env.COCKPIT_SCREENSHOT;

let h: Harness;
let cockpit: CockpitSession;

const mapRow = (name: string) => cockpit.page.locator(`tr[data-map="${name}"]`);
const pathRow = (dev: string) => cockpit.page.locator(`tr[data-path="${dev}"]`);

beforeAll(async () => {
  h = await startHarness({ maps: 6, pathsPerMap: 4, groupsPerMap: 2, vendor: 'NETAPP', product: 'LUN C-Mode' }, {}, undefined, { simulatedMonitor: true });
  cockpit = await openCockpit(h.bus.address);
}, 60_000);

afterAll(async () => {
  await cockpit?.stop();
  await h?.stop();
});

describe('the Cockpit page', () => {
  it('shows every map with its health and valid/total paths', async () => {
    const t0 = Date.now();
    await cockpit.page.goto(cockpit.ws.pageUrl);
    for (const m of h.sim.maps()) {
      await expect.poll(() => mapRow(m.name).getAttribute('data-health')).toBe('optimal');
      await expect(mapRow(m.name).locator('.mp-count').textContent()).resolves.toBe('4/4');
    }
    console.log(`page populated in ${Date.now() - t0} ms`);
    expect(await cockpit.page.locator('[data-overall]').getAttribute('data-overall')).toBe('optimal');
  });

  it('turns a failed path red and its map degraded at once (printed; under 3 s on the slowest day), and lists the event', async () => {
    const map = h.sim.maps()[1];
    await mapRow(map.name).locator('td').first().locator('button').click();
    const dev = map.paths[2].dev;
    await expect.poll(() => pathRow(dev).getAttribute('data-state')).toBe('active');
    const events = await cockpit.page.locator('tr[data-kind]').count();

    const ms = await msUntilShown(cockpit.page, [`tr[data-path="${dev}"][data-state="failed"]`, `tr[data-map="${map.name}"][data-health="degraded"]`], () =>
      h.kernel(h.sim.failPath(dev)),
    );
    console.log(`failed path shown red, map degraded: ${ms} ms after the kernel event`);
    // Usually 0.1-0.6 s; the bound is for a machine three times slower than that, loaded.
    expect(ms).toBeLessThan(3000);
    await expect(pathRow(dev).evaluate((tr) => getComputedStyle(tr.querySelector('td')!).backgroundColor)).resolves.not.toBe('rgba(0, 0, 0, 0)');

    await expect.poll(() => cockpit.page.locator('tr[data-kind]').count()).toBe(events + 1);
    const newest = cockpit.page.locator('tr[data-kind]').first();
    expect(await newest.getAttribute('data-kind')).toBe('PathFailed');
    expect(await newest.getAttribute("data-serial")).toBe(String(h.service.eventSerial));
    await expect(newest.textContent()).resolves.toContain(dev);

    if (SCREENSHOT) {
      fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await cockpit.page.screenshot({ path: SCREENSHOT, fullPage: true });
    }
    h.kernel(h.sim.reinstatePath(dev));
    await pathRow(dev).and(cockpit.page.locator('[data-state="active"]')).waitFor({ timeout: 2000 });
    await expect.poll(() => cockpit.page.locator('tr[data-kind]').first().getAttribute('data-kind')).toBe('PathReinstated');
  });

  it('follows maps that go and come back, and fills a serial gap from GetEvents', async () => {
    const map = h.sim.maps()[4];
    h.kernel(h.sim.removeMap(map.name));
    await mapRow(map.name).waitFor({ state: 'detached', timeout: 5000 });
    h.kernel(h.sim.addMap(map.name));
    await mapRow(map.name).waitFor({ timeout: 5000 });
    // MapRemoved/MapAdded are in the history but have no signal: the next signal's serial
    // skips them, and the page must read them from GetEvents rather than trust the signal.
    const before = h.service.eventSerial;
    h.kernel(h.sim.failPath(map.paths[0].dev));
    await expect.poll(() => cockpit.page.locator('tr[data-kind]').first().getAttribute('data-serial')).toBe(String(h.service.eventSerial));
    expect(h.service.eventSerial).toBeGreaterThan(before);
    const rows = await cockpit.page.locator('tr[data-kind]').evaluateAll((trs) => trs.map((r) => [Number(r.getAttribute('data-serial')), r.getAttribute('data-kind'), r.textContent]));
    expect(rows.map(([serial]) => serial)).toEqual(rows.map(([serial]) => serial).sort((a, b) => Number(b) - Number(a)));
    expect(rows.slice(0, 3).map(([, kind, text]) => [kind, String(text).includes(map.name)])).toEqual([
      ['PathFailed', true],
      ['MapAdded', true],
      ['MapRemoved', true],
    ]);
    h.kernel(h.sim.reinstatePath(map.paths[0].dev));
    await expect.poll(() => mapRow(map.name).getAttribute('data-health')).toBe('optimal');
  });

  it('says so when multipathd is gone, and lists the Resynchronized when it is back', async () => {
    await h.sim.die();
    await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []);
    await cockpit.page.locator('[data-alert="multipathd"]').waitFor({ timeout: 5000 });
    await expect.poll(() => cockpit.page.locator('tr[data-map]').count()).toBe(h.sim.maps().length);
    await h.sim.restart();
    await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []);
    await cockpit.page.locator('[data-alert="multipathd"]').waitFor({ state: 'detached', timeout: 5000 });
    await expect.poll(() => cockpit.page.locator('tr[data-kind]').first().getAttribute('data-kind')).toBe('Resynchronized');
  });

  it('is in the Cockpit shell: its navigation entry leads to the page, in the shell frame', async () => {
    const shell = await cockpit.browser.newPage({ viewport: { width: 1360, height: 900 } });
    try {
      await shell.goto(`${cockpit.ws.shellUrl}/system`);
      const entry = shell.locator('#host-apps a', { hasText: 'Multipath' });
      await entry.click();
      await shell.waitForURL(/\/multipath-dbus$/);
      const frame = shell.frameLocator('iframe[name$="/multipath-dbus"]');
      await expect.poll(() => frame.locator('tr[data-map]').count(), { timeout: 10_000 }).toBe(h.sim.maps().length);
    } finally {
      await shell.close();
    }
  });

  it('shows the service absent when it stops, and recovers when it is back', async () => {
    await h.stopService();
    await cockpit.page.locator('[data-state="absent"]').waitFor({ timeout: 5000 });
    await expect(cockpit.page.locator('[data-state="absent"]').textContent()).resolves.toContain('not installed');
    await h.startService();
    await mapRow(h.sim.maps()[0].name).waitFor({ timeout: 5000 });
    await expect.poll(() => cockpit.page.locator('tr[data-map]').count()).toBe(h.sim.maps().length);
  });

  it('leaves nothing running once cockpit-ws stops (its bridge, the session bus)', async () => {
    await cockpit.page.close();
    expect(cockpit.ws.leftovers().length).toBeGreaterThan(0);
    await cockpit.ws.stop();
    await expect.poll(() => cockpit.ws.leftovers(), { timeout: 5000 }).toEqual([]);
  });
});
