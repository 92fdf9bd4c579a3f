// The page's actions, decided by a real polkitd: cockpit-ws (and so its bridge) runs as the
// uid that the rules grant, and as the one they deny; each action is confirmed in its
// dialog, and either changes what multipathd and the kernel hold and the page then shows
// it (a new size, a setting multipathd loaded), or shows the refusal and changes nothing.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUS_NAME, startHarness, type Harness } from '../helpers/service-harness';
import { NOBODY } from '../helpers/dbus-daemon';
import { GRANTED_UID, POLKIT_BUS_POLICY, rulesFor, startPolkit, type Polkit } from '../helpers/polkit';
import { launchChromium, startCockpitWs, type CockpitWs } from '../helpers/cockpit';

let h: Harness;
let polkit: Polkit;
let browser: Browser;
const granted: { ws?: CockpitWs; page?: Page } = {};
const denied: { ws?: CockpitWs; page?: Page } = {};

const map = (i = 0) => h.sim.maps()[i];
/** multipathd got this command for the first map (switchgroup takes its dm name, the others its dm-N). */
const sentForMap = (verb: string, rest = '') =>
  expect(h.sim.requests).toContain(`${verb} map ${verb === 'switchgroup' ? map().name : map().sysfs}${rest}`);
const sizeOf = (page: Page, name: string) => page.locator(`tr[data-map="${name}"] td[data-label="Size"]`).textContent();
/** The facts a map's details show ("Queueing: on", "Features: 0"…). */
const facts = (page: Page, name: string) => page.locator(`[data-details="${name}"] .mp-facts`).innerText();
/** Everything the page shows of a map: its row (size, health, paths) and its details (facts, groups, paths). */
const shown = async (page: Page, name: string) => [await page.locator(`tr[data-map="${name}"]`).innerText(), await page.locator(`[data-details="${name}"]`).innerText()];

async function open(as: typeof granted, uid: number, name: string): Promise<Page> {
  as.ws = await startCockpitWs(h.bus.address, { uid });
  as.page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  await as.page.goto(as.ws.pageUrl);
  await as.page.locator(`tr[data-map="${name}"] td button`).first().click();
  await as.page.locator(`[data-details="${name}"]`).waitFor();
  return as.page;
}

async function mapMenu(page: Page, name: string, item: string): Promise<void> {
  await page.locator(`tr[data-map="${name}"]`).getByRole('button', { name: 'Kebab toggle' }).click();
  await page.getByRole('menuitem', { name: item }).click();
}

/** Click through the confirmation dialog; resolves when it closed (done) or shows an error. */
async function confirm(page: Page, button: string): Promise<string | null> {
  const dialog = page.locator('#mp-action');
  await dialog.getByRole('button', { name: button }).click();
  const error = dialog.locator('[data-error]');
  await Promise.race([dialog.waitFor({ state: 'detached', timeout: 15_000 }), error.waitFor({ timeout: 15_000 })]);
  return (await error.count()) ? error.getAttribute('data-error') : null;
}

/**
 * The denied user confirms: the dialog says NotAuthorized, multipathd was sent nothing, and
 * once the dialog is dismissed the map `name` shows what it showed before. Dismissed before
 * anything is asserted, so that the next action's test starts from the page, whatever failed.
 */
async function refused(page: Page, name: string, button: string): Promise<void> {
  const before = await shown(page, name);
  const from = h.sim.requests.length;
  const dialog = page.locator('#mp-action');
  const error = await confirm(page, button);
  const reason = error && (await dialog.locator('[data-error]').textContent());
  if (await dialog.count()) {
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
  }
  expect(error).toBe(`${BUS_NAME}.Error.NotAuthorized`);
  expect(reason).toContain('Not authorized');
  expect(h.sim.requests.slice(from).filter((r) => !r.startsWith('show'))).toEqual([]);
  expect(await shown(page, name)).toEqual(before);
}

describe.skipIf(process.getuid?.() !== 0)('the Cockpit page acts through the management methods, and polkit decides', () => {
  beforeAll(async () => {
    h = await startHarness({ maps: 3, pathsPerMap: 4, groupsPerMap: 2, noPathRetry: 'queue' }, {}, undefined, {
      busIncludes: [POLKIT_BUS_POLICY],
      simulatedMonitor: true,
    });
    polkit = await startPolkit(h.bus.address, { rules: { '10-test.rules': rulesFor(`${BUS_NAME}.`, [GRANTED_UID], [NOBODY]) } });
    browser = await launchChromium();
    // Each on its own map, so that what the granted user did is not what the denied one sees unchanged.
    await Promise.all([open(granted, GRANTED_UID, map(0).name), open(denied, NOBODY, map(1).name)]);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await granted.ws?.stop();
    await denied.ws?.stop();
    await polkit?.stop().catch(() => undefined);
    await h?.stop();
  });

  describe('a granted user', () => {
    it('fails a path and reinstates it: the kernel state changes, the page shows it', async () => {
      const page = granted.page!;
      const dev = map().paths[0].dev;
      const row = page.locator(`tr[data-path="${dev}"]`);
      await row.getByRole('button', { name: 'Fail' }).click();
      await expect(page.locator('#mp-action').textContent()).resolves.toContain(`Fail path ${dev}?`);
      expect(await confirm(page, 'Fail path')).toBeNull();
      expect(h.sim.requests).toContain(`fail path ${dev}`);
      await page.locator(`tr[data-path="${dev}"][data-state="failed"]`).waitFor({ timeout: 5000 });
      expect(h.sim.maps()[0].paths[0].failed).toBe(true);

      await row.getByRole('button', { name: 'Reinstate' }).click();
      expect(await confirm(page, 'Reinstate')).toBeNull();
      await page.locator(`tr[data-path="${dev}"][data-state="active"]`).waitFor({ timeout: 5000 });
      expect(h.sim.maps()[0].paths[0].failed).toBe(false);
    });

    it('switches the path group, turns queueing off and restores it', async () => {
      const page = granted.page!;
      await page.locator('[data-group="2"]').getByRole('button', { name: 'Switch to this group' }).click();
      expect(await confirm(page, 'Switch group')).toBeNull();
      sentForMap('switchgroup', ' group 2');
      // dm-mpath names group 2 next and drops its current group; I/O will pick group 2 (the
      // API does not publish "next", so the page sees no active group and the PolicyChanged).
      expect(h.sim.maps()[0].nextGroup).toBe(2);
      await page.locator('[data-group="1"]:not(.mp-group-active)').waitFor({ timeout: 5000 });
      await expect.poll(() => page.locator('tr[data-kind="PolicyChanged"]').first().textContent()).toContain('ActiveGroup');

      await mapMenu(page, map().name, 'Disable queueing…');
      expect(await confirm(page, 'Disable queueing')).toBeNull();
      sentForMap('disablequeueing');
      await expect.poll(() => facts(page, map().name), { timeout: 5000 }).toMatch(/Features: 0\s+.*Queueing: off/s);
      await mapMenu(page, map().name, 'Restore queueing…');
      expect(await confirm(page, 'Restore queueing')).toBeNull();
      sentForMap('restorequeueing');
      await expect.poll(() => facts(page, map().name), { timeout: 5000 }).toMatch(/Features: 1 queue_if_no_path\s+.*Queueing: on/s);
    });

    it('resizes a map whose LUN grew: the page shows the new size', async () => {
      const page = granted.page!;
      const name = map().name;
      expect(await sizeOf(page, name)).toBe('8.0 MiB');
      // The array grew the LUN by half and the disks were rescanned; the map keeps its size until resized.
      h.sim.setDiskSize(name, (map().sizeSectors * 3) / 2);
      await mapMenu(page, name, 'Resize…');
      expect(await confirm(page, 'Resize')).toBeNull();
      sentForMap('resize');
      expect(map().sizeSectors).toBe(24576);
      await expect.poll(() => sizeOf(page, name), { timeout: 5000 }).toBe('12.0 MiB');
    });

    it('reconfigures multipathd after multipath.conf changed: the page shows what multipathd loaded', async () => {
      const page = granted.page!;
      const name = map().name;
      expect(await facts(page, name)).toContain('Queueing: on');
      const reconfigures = h.sim.reconfigures;
      const uevents = h.sim.emitted.length;
      // no_path_retry queue -> 12: every map still queues, so no table is reloaded and the kernel
      // says nothing; only the service's read after the command can show the new setting.
      h.sim.editConfig({ noPathRetry: 12 });
      await page.getByRole('button', { name: 'Reconfigure…' }).click();
      expect(await confirm(page, 'Reconfigure')).toBeNull();
      expect(h.sim.reconfigures).toBe(reconfigures + 1);
      expect(h.sim.emitted.length).toBe(uevents);
      await expect.poll(() => facts(page, name), { timeout: 5000 }).toContain('Queueing: 12 chk');
    });
  });

  // Every action the page offers, each as the uid the rules deny, on a map it shows expanded.
  describe('a denied user sees NotAuthorized in the dialog, and nothing changes', () => {
    const name = () => map(1).name;

    it('Fail: the path stays active', async () => {
      const page = denied.page!;
      const dev = map(1).paths[0].dev;
      await page.locator(`tr[data-path="${dev}"]`).getByRole('button', { name: 'Fail' }).click();
      await refused(page, name(), 'Fail path');
      expect(map(1).paths[0].failed).toBe(false);
    });

    it('Reinstate: the path stays failed', async () => {
      const page = denied.page!;
      const dev = map(1).paths[1].dev;
      // The kernel fails it (as a broken link would), so the page offers Reinstate.
      h.kernel(h.sim.failPath(dev));
      await page.locator(`tr[data-path="${dev}"][data-state="failed"]`).waitFor({ timeout: 5000 });
      await page.locator(`tr[data-path="${dev}"]`).getByRole('button', { name: 'Reinstate' }).click();
      await refused(page, name(), 'Reinstate');
      expect(map(1).paths[1].failed).toBe(true);
    });

    it('SwitchGroup: group 1 stays active', async () => {
      const page = denied.page!;
      await page.locator(`[data-details="${name()}"] [data-group="2"]`).getByRole('button', { name: 'Switch to this group' }).click();
      await refused(page, name(), 'Switch group');
      expect([map(1).activeGroup, map(1).nextGroup]).toEqual([1, 0]);
    });

    it('SetQueueing: the map still queues', async () => {
      const page = denied.page!;
      await mapMenu(page, name(), 'Disable queueing…');
      await refused(page, name(), 'Disable queueing');
      expect(map(1).features).toBe('1 queue_if_no_path');
    });

    it('Resize: the map keeps its size though its LUN grew', async () => {
      const page = denied.page!;
      h.sim.setDiskSize(name(), map(1).sizeSectors * 2);
      await mapMenu(page, name(), 'Resize…');
      await refused(page, name(), 'Resize');
      expect(map(1).sizeSectors).toBe(16384);
    });

    it('Reconfigure: multipathd keeps the configuration it loaded though multipath.conf changed', async () => {
      const page = denied.page!;
      const reconfigures = h.sim.reconfigures;
      h.sim.editConfig({ noPathRetry: 'fail' });
      await page.getByRole('button', { name: 'Reconfigure…' }).click();
      await refused(page, name(), 'Reconfigure');
      expect(h.sim.reconfigures).toBe(reconfigures);
      expect(map(1).features).toBe('1 queue_if_no_path');
    });
  });
});
