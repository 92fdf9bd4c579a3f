// Fair limits per caller: an unprivileged user hammering Refresh (bench/hammer.ts as uid
// 65534, 16 calls in flight) shares one read per 10 s with every other unprivileged caller,
// so it cannot make the service re-read multipathd (which holds multipathd's main lock)
// more often; root is not throttled. The CPU it costs is measured against the same
// hammering as root in the same run: a ratio holds on a slow day, a fixed figure does not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_IFACE } from '../../src/frontends/dbus/api';
import { callMethod } from '../../src/frontends/dbus/bus/connection';
import { NOBODY } from '../helpers/dbus-daemon';
import { BUS_NAME, ROOT_PATH, startHarness, type Harness } from '../helpers/service-harness';
import { hammerAs, multipathdReads as reads, untilReadsExceed } from '../helpers/unprivileged-callers';

const SECONDS = 6;

/** CPU-s per second of this process (the service and the simulator run in it) while `work` runs. */
async function cpuPerSecond<T>(work: () => Promise<T>): Promise<{ result: T; cpu: number; wall: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const result = await work();
  const wall = (Date.now() - t0) / 1000;
  const used = process.cpuUsage(cpu0);
  return { result, cpu: (used.user + used.system) / 1e6 / wall, wall };
}

describe.skipIf(process.getuid?.() !== 0)('an unprivileged caller hammering Refresh', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ maps: 250, pathsPerMap: 4 });
  });
  afterAll(async () => h?.stop());

  it(`causes at most one read per 10 s and less CPU than the same hammering as root, while root is served at once`, async () => {
    const before = reads(h);
    let rootMs = 0;
    const nobody = await cpuPerSecond(async () => {
      const hammering = hammerAs(NOBODY, h.bus.address, 'Refresh', SECONDS);
      // Root meanwhile, once the unprivileged caller has had its read (its next calls wait for
      // the next one, 10 s later): not throttled, root's call causes a read of its own at once.
      await untilReadsExceed(h, before);
      const r0 = reads(h);
      const tr = Date.now();
      await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []);
      rootMs = Date.now() - tr;
      expect(reads(h)).toBeGreaterThan(r0);
      return hammering;
    });
    const nobodyReads = reads(h) - before;
    const root = await cpuPerSecond(() => hammerAs(0, h.bus.address, 'Refresh', SECONDS));
    console.log(
      `Refresh hammered ${SECONDS} s, 16 in flight: uid 65534 ${nobody.cpu.toFixed(3)} CPU-s/s (${nobody.result.ok} calls, ${nobodyReads} reads with root's one, ${nobody.wall.toFixed(1)} s), ` +
        `root ${root.cpu.toFixed(3)} CPU-s/s (${root.result.ok} calls); root's own call meanwhile ${rootMs} ms`,
    );
    // Not behind the unprivileged caller's pending read, which is 10 s away.
    expect(rootMs).toBeLessThan(3000);
    // Every unprivileged call got its answer, from the shared reads.
    expect(nobody.result.ok).toBeGreaterThan(0);
    expect(nobody.result.errors).toEqual({});
    // Unprivileged: the first read at once, the next 10 s later; plus root's one.
    expect(nobodyReads).toBeLessThanOrEqual(Math.floor(nobody.wall / 10) + 1 + 1);
    // Re-reading as often as asked, as root may, costs more: 2x to 7x in four runs here (npm run bench:callers:
    // 4.8x), but root's share of a contended machine varies 2x from run to run, so the bound is
    // only "less than root" (a throttle that does not hold costs as much as root or more).
    expect(nobody.cpu).toBeLessThan(root.cpu);
  }, 60_000);
});
