// The page on the hosts it is for: 2,000 and 8,192 maps of 4 paths, in Debian's cockpit-ws
// and bridge and Chromium. Measured from the navigation: the first page of maps shown with
// every map's health known (the count and the health of all of them in the overview); then
// how long a path failure takes to show, the tab's JavaScript heap and the bridge's memory.
// The figures are printed. The goals (2 s, 4 s, 1 s) are for an idle machine; the bounds
// are three times each, so that they hold on a machine three times slower, and the larger
// host may take at most the goals' ratio (2) of the smaller one's time in the same run.
// On 2 cores at load 7 to 8, back to back: reading Manager.GetMapSummaries this page took
// 1.7 s and 1.5 s; reading the maps and their groups with GetManagedObjectsPage, 3.5 s and
// 11.8 s (a ratio of 3.35, refused).
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/service-harness';
import { openCockpit, type CockpitSession } from '../helpers/cockpit';

type Clock = { shownAt?: number; failedAt?: Promise<number> };

/** Each host's time to the first page, in this run: the larger host is held to the smaller's, as the goals are (4 s / 2 s). */
const shownMs = new Map<number, { ms: number; goal: number }>();

describe.each([
  { maps: 2000, goal: 2000 },
  { maps: 8192, goal: 4000 },
])('the Cockpit page on a host with $maps maps of 4 paths', ({ maps, goal }) => {
  let h: Harness;
  let cockpit: CockpitSession;

  beforeAll(async () => {
    h = await startHarness({ maps, pathsPerMap: 4 }, {}, undefined, { simulatedMonitor: true });
    cockpit = await openCockpit(h.bus.address);
  }, 120_000);

  afterAll(async () => {
    await cockpit?.stop();
    await h?.stop();
  });

  it('shows the first page of maps with every map health known, in time', async () => {
    // Armed before the page's own scripts run: the moment (ms after the navigation started)
    // the overview counts every map by health and the table's first page is there.
    await cockpit.page.addInitScript((n: number) => {
      const clock = window as unknown as Clock;
      const done = () => {
        const count = document.querySelector(`[data-map-count="${n}"]`);
        const optimal = document.querySelector(`[data-maps-optimal="${n}"]`);
        const rows = document.querySelectorAll('tr[data-map][data-health="optimal"]').length;
        return count && optimal && rows >= 20;
      };
      const obs = new MutationObserver(() => {
        if (clock.shownAt === undefined && done()) {
          clock.shownAt = performance.now();
          obs.disconnect();
        }
      });
      document.addEventListener('DOMContentLoaded', () => obs.observe(document.body, { subtree: true, childList: true, attributes: true }));
    }, maps);
    await cockpit.page.goto(cockpit.ws.pageUrl);
    const ms = await cockpit.page.waitForFunction(() => (window as unknown as Clock).shownAt, undefined, { timeout: 120_000, polling: 100 });
    const shown = Math.round((await ms.jsonValue()) as number);
    console.log(`${maps} x 4: first page of maps, every map's health known, ${shown} ms after the navigation (goal ${goal} ms)`);
    expect(shown).toBeLessThan(3 * goal);
    const smaller = [...shownMs].find(([n]) => n < maps)?.[1];
    shownMs.set(maps, { ms: shown, goal });
    if (smaller) {
      // Machine speed cancels out: 4 times the maps may cost what the goals allow, no more.
      const ratio = shown / smaller.ms;
      console.log(`${maps} x 4 took ${ratio.toFixed(2)} x the smaller host's time in this run (goal at most ${goal / smaller.goal} x)`);
      expect(ratio).toBeLessThanOrEqual(goal / smaller.goal);
    }
  }, 150_000);

  it('shows a path failure in time, and reports the memory it took', async () => {
    const map = h.sim.maps()[0];
    const dev = map.paths[1].dev;
    await cockpit.page.locator(`tr[data-map="${map.name}"][data-health="optimal"]`).waitFor();
    await cockpit.page.evaluate((name) => {
      const clock = window as unknown as Clock;
      clock.failedAt = new Promise((resolve) => {
        const shown = () => document.querySelector(`tr[data-map="${name}"][data-health="degraded"]`) && document.querySelector('[data-failed-paths="1"]');
        const obs = new MutationObserver(() => {
          if (!shown()) return;
          obs.disconnect();
          resolve(Date.now());
        });
        obs.observe(document.body, { subtree: true, childList: true, attributes: true });
      });
    }, map.name);
    const t0 = Date.now();
    h.kernel(h.sim.failPath(dev));
    const ms = (await cockpit.page.evaluate(() => (window as unknown as Clock).failedAt!)) - t0;

    const cdp = await cockpit.page.context().newCDPSession(cockpit.page);
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
    const bridge = cockpit.ws.leftovers().find((p) => / cockpit-bridge\b|\/cockpit-bridge\b/.test(p));
    const rss = bridge ? Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${bridge.split(' ')[0]}/status`, 'latin1'))?.[1]) * 1024 : NaN;
    const mib = (n: number) => (n / 1048576).toFixed(0);
    console.log(`${maps} x 4: a failed path shown (map degraded, 1 path failed) ${ms} ms after the kernel event (goal 1000 ms); tab heap ${mib(usedSize)} MiB, bridge RSS ${mib(rss)} MiB`);
    expect(ms).toBeLessThan(3000);
    expect(rss).toBeGreaterThan(0);
  }, 60_000);
});
