// A native NVMe multipath namespace on the Cockpit page, in Debian's cockpit-ws and bridge
// (287) and Chromium: the real service reads a simulated NVMe sysfs tree (src/sim/nvme-sysfs.ts)
// beside the multipathd simulator's dm maps, polling it at the default interval. The page
// marks the map NVMe, shows its subsystem, ANA group and each path's controller and ANA
// state, follows an ANA state the kernel changes without an event, and offers no action
// (each would answer NotSupported).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/config/config-file';
import { NvmeSysfsSim } from '../../src/sim/nvme-sysfs';
import { startHarness, type Harness } from '../helpers/service-harness';
import { accessibilityProblems, msUntilShown, openCockpit, type CockpitSession } from '../helpers/cockpit';

// One namespace in ANA group 1: optimized through port 0 (controller nvme0), non-optimized
// through port 1 (nvme1).
const NS = 'nvme0n1';
const VIA0 = 'nvme0c0n1';
const VIA1 = 'nvme0c1n1';
const UNMANAGED = "Native NVMe multipath is the kernel's own";

let h: Harness;
let nvme: NvmeSysfsSim;
let cockpit: CockpitSession;

beforeAll(async () => {
  nvme = new NvmeSysfsSim({ namespaces: 1, ports: 2, anaGroups: 1 });
  h = await startHarness({ maps: 2, pathsPerMap: 2, groupsPerMap: 2 }, {}, undefined, {
    simulatedMonitor: true,
    nvme: { root: nvme.root, pollIntervalMs: DEFAULT_CONFIG.kernelPollInterval * 1000 },
  });
  cockpit = await openCockpit(h.bus.address);
}, 60_000);

afterAll(async () => {
  await cockpit?.stop();
  await h?.stop();
  nvme?.destroy();
});

const mapRow = (page: Page, name: string) => page.locator(`tr[data-map="${name}"]`);
const pathRow = (page: Page, dev: string) => page.locator(`tr[data-path="${dev}"]`);
const details = (page: Page) => page.locator(`[data-details="${NS}"]`);

/** The page with every map shown, the NVMe one expanded. */
async function expanded(page: Page): Promise<void> {
  await page.goto(cockpit.ws.pageUrl);
  await mapRow(page, NS).and(page.locator('[data-health="optimal"]')).waitFor({ timeout: 10_000 });
  await mapRow(page, NS).locator('td').first().locator('button').click();
  await pathRow(page, VIA1).waitFor();
}

describe('an NVMe namespace on the Cockpit page', () => {
  it('is a map beside the dm maps, marked NVMe, linked to its head device, with its NQN, I/O policy, ANA group and each path by controller and ANA state', async () => {
    const page = cockpit.page;
    await expanded(page);
    for (const m of h.sim.maps()) {
      await expect.poll(() => mapRow(page, m.name).getAttribute('data-health')).toBe('optimal');
      expect(await mapRow(page, m.name).locator('[data-kind-label]').count()).toBe(0);
    }
    expect(await page.locator('tr[data-map]').count()).toBe(h.sim.maps().length + 1);
    const row = mapRow(page, NS);
    expect(await row.locator('[data-kind-label="nvme"]').innerText()).toBe('NVMe');
    expect(await row.locator('.mp-count').textContent()).toBe('2/2');
    // Cockpit 287's Storage page shows /storage#/NAME as the block device /dev/NAME.
    expect(await row.locator('a.mp-storage-link').getAttribute('href')).toBe(`/storage#/${NS}`);

    const facts = await details(page).locator('.mp-facts').innerText();
    expect(facts).toContain(`Subsystem NQN: ${nvme.nqn(0)}`);
    expect(facts).toContain('I/O policy: numa');
    expect(facts).not.toMatch(/Features|Hardware handler|Queueing|Failback|Path faults/);
    expect(await details(page).locator('.mp-group-head').innerText()).toMatch(/^ANA group 1\s+active$/);
    expect(await details(page).locator('th').allInnerTexts()).toEqual(['Device', 'State', 'ANA state', 'Controller', 'Transport', 'Address']);
    const cells = (dev: string) => pathRow(page, dev).locator('td').allInnerTexts();
    expect(await cells(VIA0)).toEqual([VIA0, 'Active', 'optimized', 'nvme0 live', 'tcp', 'traddr=127.0.0.1,trsvcid=4420,src_addr=127.0.0.1']);
    expect(await cells(VIA1)).toEqual([VIA1, 'Active', 'non-optimized', 'nvme1 live', 'tcp', 'traddr=127.0.0.1,trsvcid=4421,src_addr=127.0.0.1']);
  });

  it('shows a path failed and the map degraded when a port turns inaccessible with no event (printed; under 3 s on the slowest day), and lists the PathFailed', async () => {
    const page = cockpit.page;
    const events = await page.locator('tr[data-kind]').count();
    const ms = await msUntilShown(page, [`tr[data-path="${VIA1}"][data-state="failed"][data-ana="inaccessible"]`, `tr[data-map="${NS}"][data-health="degraded"]`], () =>
      nvme.setPortAnaState(1, 1, 'inaccessible'),
    );
    console.log(`NVMe path shown failed, map degraded: ${ms} ms after the ANA state changed (polled every ${DEFAULT_CONFIG.kernelPollInterval} s)`);
    // The poll's interval (1 s) and a render; the bound is the dm test's, for a machine three times slower.
    expect(ms).toBeLessThan(3000);
    expect(await mapRow(page, NS).locator('.mp-count').textContent()).toBe('1/2');
    expect(await pathRow(page, VIA1).locator('td').nth(1).innerText()).toBe('Failed');
    await expect.poll(() => page.locator('tr[data-kind]').count()).toBe(events + 1);
    const newest = page.locator('tr[data-kind]').first();
    expect(await newest.getAttribute('data-kind')).toBe('PathFailed');
    expect(await newest.textContent()).toContain(`${VIA1} of ${NS}`);

    nvme.setPortAnaState(1, 1, 'non-optimized');
    await pathRow(page, VIA1).and(page.locator('[data-state="active"][data-ana="non-optimized"]')).waitFor({ timeout: 3000 });
    await expect.poll(() => mapRow(page, NS).getAttribute('data-health')).toBe('optimal');
  });

  it('offers no management action for it: no path or group action, its menu entries disabled and saying why, nothing called', async () => {
    const page = cockpit.page;
    expect(await details(page).getByRole('button').count()).toBe(0);
    expect(await details(page).locator('.mp-unmanaged').innerText()).toContain(UNMANAGED);
    await mapRow(page, NS).getByRole('button', { name: 'Actions' }).click();
    const items = page.getByRole('menuitem');
    expect(await items.allInnerTexts()).toEqual(['Queueing…', 'Resize…']);
    expect(await items.evaluateAll((es) => es.map((e) => e.getAttribute('aria-disabled')))).toEqual(['true', 'true']);
    await items.nth(1).hover();
    await expect.poll(() => page.getByRole('tooltip').innerText()).toContain(UNMANAGED);
    // As a user would click it anyway (Playwright's own click waits for it to be enabled).
    await items.nth(1).click({ force: true });
    await page.keyboard.press('Escape');
    await page.getByRole('menu').waitFor({ state: 'detached' });
    expect(await page.locator('#mp-action').count()).toBe(0);
    // A dm map keeps its actions.
    await mapRow(page, h.sim.maps()[0].name).getByRole('button', { name: 'Kebab toggle' }).click();
    expect(await page.getByRole('menuitem', { name: 'Resize…' }).getAttribute('aria-disabled')).not.toBe('true');
    await page.keyboard.press('Escape');
  });

  it('has no serious or critical accessibility violation (axe-core) with the NVMe map expanded and its menu open, light and dark', async () => {
    for (const style of ['light', 'dark']) {
      const page = await (await cockpit.browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
      try {
        if (style === 'dark') await page.addInitScript(() => localStorage.setItem('shell:style', 'dark'));
        await expanded(page);
        expect(await accessibilityProblems(page), style).toEqual([]);
        await mapRow(page, NS).getByRole('button', { name: 'Actions' }).click();
        await page.getByRole('menuitem', { name: 'Resize…' }).hover();
        await page.getByRole('tooltip').waitFor();
        expect(await accessibilityProblems(page), `${style}, menu`).toEqual([]);
      } finally {
        await page.context().close();
      }
    }
  });
});
