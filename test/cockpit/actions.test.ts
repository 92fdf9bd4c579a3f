// The page's actions, decided by a real polkitd: cockpit-ws (and so its bridge) runs as the
// uid that the rules grant, and as the one they deny; each action is confirmed in its
// dialog, and either changes what multipathd and the kernel hold, or shows the refusal.
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

const map = () => h.sim.maps()[0];
/** multipathd got this command for the first map (switchgroup takes its dm name, the others its dm-N). */
const sentForMap = (verb: string, rest = '') =>
  expect(h.sim.requests).toContain(`${verb} map ${verb === 'switchgroup' ? map().name : map().sysfs}${rest}`);

async function open(as: typeof granted, uid: number): Promise<Page> {
  as.ws = await startCockpitWs(h.bus.address, { uid });
  as.page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  await as.page.goto(as.ws.pageUrl);
  await as.page.locator(`tr[data-map="${map().name}"] td button`).first().click();
  await as.page.locator(`[data-details="${map().name}"]`).waitFor();
  return as.page;
}

/** Click through the confirmation dialog; resolves when it closed (done) or shows an error. */
async function confirm(page: Page, button: string): Promise<string | null> {
  const dialog = page.locator('#mp-action');
  await dialog.getByRole('button', { name: button }).click();
  const error = dialog.locator('[data-error]');
  await Promise.race([dialog.waitFor({ state: 'detached', timeout: 15_000 }), error.waitFor({ timeout: 15_000 })]);
  return (await error.count()) ? error.getAttribute('data-error') : null;
}

describe.skipIf(process.getuid?.() !== 0)('the Cockpit page acts through the management methods, and polkit decides', () => {
  beforeAll(async () => {
    h = await startHarness({ maps: 3, pathsPerMap: 4, groupsPerMap: 2, noPathRetry: 'queue' }, {}, undefined, {
      busIncludes: [POLKIT_BUS_POLICY],
      simulatedMonitor: true,
    });
    polkit = await startPolkit(h.bus.address, { rules: { '10-test.rules': rulesFor(`${BUS_NAME}.`, [GRANTED_UID], [NOBODY]) } });
    browser = await launchChromium();
    await Promise.all([open(granted, GRANTED_UID), open(denied, NOBODY)]);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await granted.ws?.stop();
    await denied.ws?.stop();
    await polkit?.stop().catch(() => undefined);
    await h?.stop();
  });

  it('a granted user fails a path and reinstates it: the kernel state changes, the page shows it', async () => {
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

  it('a granted user switches the path group and turns queueing off', async () => {
    const page = granted.page!;
    await page.locator('[data-group="2"]').getByRole('button', { name: 'Switch to this group' }).click();
    expect(await confirm(page, 'Switch group')).toBeNull();
    sentForMap('switchgroup', ' group 2');
    // dm-mpath names group 2 next and drops its current group; I/O will pick group 2 (the
    // API does not publish "next", so the page sees no active group and the PolicyChanged).
    expect(h.sim.maps()[0].nextGroup).toBe(2);
    await page.locator('[data-group="1"]:not(.mp-group-active)').waitFor({ timeout: 5000 });
    await expect.poll(() => page.locator('tr[data-kind="PolicyChanged"]').first().textContent()).toContain('ActiveGroup');

    await page.locator(`tr[data-map="${map().name}"]`).getByRole('button', { name: 'Kebab toggle' }).click();
    await page.getByRole('menuitem', { name: 'Disable queueing…' }).click();
    expect(await confirm(page, 'Disable queueing')).toBeNull();
    sentForMap('disablequeueing');
    await page.locator(`[data-details="${map().name}"]`).getByText('Queueing: off').waitFor({ timeout: 5000 });
  });

  it('a granted user resizes a map and reconfigures multipathd', async () => {
    const page = granted.page!;
    await page.locator(`tr[data-map="${map().name}"]`).getByRole('button', { name: 'Kebab toggle' }).click();
    await page.getByRole('menuitem', { name: 'Resize…' }).click();
    expect(await confirm(page, 'Resize')).toBeNull();
    sentForMap('resize');
    await page.getByRole('button', { name: 'Reconfigure…' }).click();
    expect(await confirm(page, 'Reconfigure')).toBeNull();
    expect(h.sim.requests).toContain('reconfigure');
  });

  it('a denied user sees the refusal in the dialog, and nothing changes', async () => {
    const page = denied.page!;
    const dev = map().paths[1].dev;
    const from = h.sim.requests.length;
    await page.locator(`tr[data-path="${dev}"]`).getByRole('button', { name: 'Fail' }).click();
    expect(await confirm(page, 'Fail path')).toBe(`${BUS_NAME}.Error.NotAuthorized`);
    await expect(page.locator('#mp-action [data-error]').textContent()).resolves.toContain('Not authorized');
    expect(h.sim.requests.slice(from).filter((r) => !r.startsWith('show'))).toEqual([]);
    expect(h.sim.maps()[0].paths[1].failed).toBe(false);
    await page.locator('#mp-action').getByRole('button', { name: 'Cancel' }).click();
    await expect(page.locator(`tr[data-path="${dev}"]`).getAttribute('data-state')).resolves.toBe('active');
  });
});
