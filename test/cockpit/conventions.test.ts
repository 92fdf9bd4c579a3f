// The page follows Cockpit's conventions, in Debian's cockpit-ws and bridge (287) and
// Chromium: it speaks the session's language (the CockpitLang cookie; po.de.js built from
// cockpit/po/de.po), takes the shell's dark theme, works at a phone's width and from the
// keyboard alone, has no serious or critical accessibility violation (axe-core), loads
// PatternFly's fonts from Cockpit, and links a map to Cockpit's Storage page.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/service-harness';
import { accessibilityProblems, openCockpit, PAGE_DIR, type CockpitSession } from '../helpers/cockpit';
import { extract } from '../../cockpit/po.mjs';

let h: Harness;
let cockpit: CockpitSession;

beforeAll(async () => {
  h = await startHarness({ maps: 6, pathsPerMap: 4, groupsPerMap: 2 }, {}, undefined, { simulatedMonitor: true });
  cockpit = await openCockpit(h.bus.address);
}, 60_000);

afterAll(async () => {
  await cockpit?.stop();
  await h?.stop();
});

const map = () => h.sim.maps()[0];

/** A new tab (in a context of its own: close it with its context) at `width`, with `init` run before the page's scripts, the maps shown. */
async function open(width: number, init?: () => void): Promise<Page> {
  const page = await (await cockpit.browser.newContext({ viewport: { width, height: 900 } })).newPage();
  if (init) await page.addInitScript(init);
  await page.goto(cockpit.ws.pageUrl);
  await page.locator(`tr[data-map="${map().name}"][data-health="optimal"]`).waitFor({ timeout: 10_000 });
  return page;
}

describe('the Cockpit page and Cockpit conventions', () => {
  it('extracts every message into the template, and German has them all', async () => {
    const ids = extract(path.resolve(__dirname, '..', '..', 'cockpit')).map((m: { msgid: string }) => m.msgid);
    expect(ids.length).toBeGreaterThan(100);
    const catalogue = fs.readFileSync(path.join(PAGE_DIR, 'po.de.js'), 'utf8');
    expect(ids.filter((id: string) => !catalogue.includes(JSON.stringify(id)))).toEqual([]);
    expect(fs.readFileSync(path.resolve(__dirname, '..', '..', 'cockpit', 'po', 'multipath-dbus.pot'), 'utf8')).toContain('msgid "Multipath devices"');
  });

  it('speaks German when the session does (CockpitLang=de)', async () => {
    const context = await cockpit.browser.newContext();
    try {
      await context.addCookies([{ name: 'CockpitLang', value: 'de', url: cockpit.ws.shellUrl }]);
      const page = await context.newPage();
      await page.goto(cockpit.ws.pageUrl);
      await page.locator('[data-overall="optimal"]').waitFor({ timeout: 10_000 });
      await expect(page.locator('html').getAttribute('lang')).resolves.toBe('de');
      await expect(page.locator('.mp-maps .pf-v6-c-card__title').innerText()).resolves.toBe('Multipath-Geräte');
      await expect(page.locator('th').filter({ hasText: 'Zustand' }).count()).resolves.toBe(1);
      await expect(page.locator('[data-overall] .mp-big').innerText()).resolves.toBe('Optimal');
      await expect(page.locator('[data-maps-optimal]').innerText()).resolves.toBe('6 optimal · 0 beeinträchtigt · 0 ausgefallen');
    } finally {
      await context.close();
    }
  });

  it("follows the shell's dark theme, at load and when it changes", async () => {
    const page = await open(1360, () => localStorage.setItem('shell:style', 'dark'));
    const background = () => page.locator('.mp-maps').evaluate((e) => getComputedStyle(e).backgroundColor);
    const luminance = async () => (await background()).match(/\d+/g)!.slice(0, 3).reduce((a, c) => a + Number(c), 0) / 3;
    try {
      await expect(page.locator('html').getAttribute('class')).resolves.toContain('pf-v6-theme-dark');
      expect(await luminance()).toBeLessThan(80);
      // The shell's theme switch in another tab of the origin: a storage event here.
      const shell = await page.context().newPage();
      await shell.goto(`${cockpit.ws.shellUrl}/cockpit/static/login.html`);
      await shell.evaluate(() => localStorage.setItem('shell:style', 'light'));
      await expect.poll(() => page.locator('html').getAttribute('class')).not.toContain('pf-v6-theme-dark');
      expect(await luminance()).toBeGreaterThan(200);
      await shell.close();
    } finally {
      await page.context().close();
    }
  });

  it('fits a phone (600 px) and is used from the keyboard alone: expand a map, open an action, Escape closes it', async () => {
    const page = await open(600);
    try {
      await expect(page.evaluate(() => document.documentElement.scrollWidth)).resolves.toBeLessThanOrEqual(600);
      const expand = page.locator(`tr[data-map="${map().name}"] td button`).first();
      let tabs = 0;
      while (!(await expand.evaluate((b) => b === document.activeElement))) {
        await page.keyboard.press('Tab');
        expect(++tabs).toBeLessThan(60);
      }
      await page.keyboard.press('Enter');
      const details = page.locator(`[data-details="${map().name}"]`);
      await details.waitFor();
      await expect(page.evaluate(() => document.documentElement.scrollWidth)).resolves.toBeLessThanOrEqual(600);
      const fail = details.getByRole('button', { name: 'Fail', exact: true }).first();
      while (!(await fail.evaluate((b) => b === document.activeElement))) {
        await page.keyboard.press('Tab');
        expect(++tabs).toBeLessThan(120);
      }
      await page.keyboard.press('Enter');
      const dialog = page.locator('#mp-action');
      await dialog.waitFor();
      await expect(dialog.evaluate((d) => d.contains(document.activeElement))).resolves.toBe(true);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      expect(h.sim.requests.filter((r) => r.startsWith('fail path'))).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it('has no serious or critical accessibility violation (axe-core), with a map expanded and with a dialog open, light and dark', async () => {
    for (const style of ['light', 'dark']) {
      const page = await open(1360, style === 'dark' ? () => localStorage.setItem('shell:style', 'dark') : undefined);
      try {
        await page.locator(`tr[data-map="${map().name}"] td button`).first().click();
        await page.locator(`[data-details="${map().name}"]`).waitFor();
        expect(await accessibilityProblems(page), style).toEqual([]);
        await page.locator(`[data-details="${map().name}"]`).getByRole('button', { name: 'Fail', exact: true }).first().click();
        await page.locator('#mp-action').waitFor();
        expect(await accessibilityProblems(page), `${style}, dialog`).toEqual([]);
      } finally {
        await page.context().close();
      }
    }
  });

  it("loads PatternFly's fonts from Cockpit, and the bundle carries none", async () => {
    const page = await cockpit.browser.newPage();
    const fonts: string[] = [];
    page.on('response', (r) => {
      if (/\.woff2?$/.test(r.url())) fonts.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
    try {
      await page.goto(cockpit.ws.pageUrl);
      await page.locator('[data-overall="optimal"]').waitFor({ timeout: 10_000 });
      await page.evaluate(() => document.fonts.ready);
      expect(fonts.length).toBeGreaterThan(0);
      expect(fonts.every((f) => /^200 \/cockpit\/static\/fonts\/RedHat\w+-\w+\.woff2$/.test(f)), fonts.join(', ')).toBe(true);
      const bundled = fs.readdirSync(PAGE_DIR, { recursive: true }).map(String);
      expect(bundled.filter((f) => /\.(woff2?|ttf|otf|eot)$/.test(f))).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it("links a map to its device on Cockpit's Storage page", async () => {
    const shell = await cockpit.browser.newPage({ viewport: { width: 1360, height: 900 } });
    try {
      await shell.goto(`${cockpit.ws.shellUrl}/multipath-dbus`);
      const frame = shell.frameLocator('iframe[name$="/multipath-dbus"]');
      const link = frame.locator(`tr[data-map="${map().name}"] a.mp-storage-link`);
      await expect(link.getAttribute('href')).resolves.toBe(`/storage#/${map().sysfs}`);
      await link.click();
      await shell.waitForURL(new RegExp(`/storage#/${map().sysfs}$`));
    } finally {
      await shell.close();
    }
  });
});
