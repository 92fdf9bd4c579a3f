// A storm: 10,000 kernel path events in one burst. Every PathFailed/PathReinstated reaches
// a subscriber in per-map DM_SEQNUM order, properties are batched, the history stays bounded,
// and the published state equals the simulated truth afterwards. A bus that stops reading
// during a storm: backpressure.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATH_IFACE, pathObjectPath } from '../../src/frontends/dbus/api';
import { getManagedObjects } from '../../src/frontends/dbus/bus/connection';
import { BUS_NAME, ROOT_PATH, startHarness, type Harness } from '../helpers/service-harness';

const EVENTS = 10_000;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ maps: 64, pathsPerMap: 4 }, { historySize: 2048 });
});
afterAll(async () => h?.stop());

describe('event storm', () => {
  it(`delivers all ${EVENTS} path signals in order per map and converges`, async () => {
    const paths = h.sim.maps().flatMap((m) => m.paths.map((p) => p.dev));
    const datagrams: Buffer[] = [];
    // Each path flaps; the last round leaves every third path failed.
    for (let i = 0; datagrams.length < EVENTS; i++) {
      const dev = paths[i % paths.length];
      const failed = h.sim.maps().flatMap((m) => m.paths).find((p) => p.dev === dev)!.failed;
      datagrams.push(...(failed ? h.sim.reinstatePath(dev) : h.sim.failPath(dev)));
    }
    h.signals.length = 0;
    h.kernel(datagrams);
    await h.waitFor((s) => s.filter((x) => /^Path(Failed|Reinstated)$/.test(x.member)).length >= EVENTS, 'all path signals', 30_000);
    await h.settle(500);

    const pathSignals = h.signals.filter((x) => /^Path(Failed|Reinstated)$/.test(x.member));
    expect(pathSignals).toHaveLength(EVENTS);
    const lastSeq = new Map<string, number>();
    for (const s of pathSignals) {
      const seq = s.args[3] as number;
      expect(seq).toBeGreaterThan(lastSeq.get(s.path) ?? 0);
      lastSeq.set(s.path, seq);
    }
    const serials = pathSignals.map((s) => s.args[4] as bigint);
    expect(serials.every((v, i) => i === 0 || v > serials[i - 1])).toBe(true);

    // Batched: far fewer PropertiesChanged than events.
    const changes = h.signals.filter((x) => x.member === 'PropertiesChanged').length;
    expect(changes).toBeLessThan(EVENTS / 4);

    const objects = await getManagedObjects(h.client, BUS_NAME, ROOT_PATH);
    for (const m of h.sim.maps()) {
      for (const p of m.paths) {
        expect(objects.get(pathObjectPath(p.dev))!.get(PATH_IFACE)!.DmState, p.dev).toBe(p.failed ? 'failed' : 'active');
      }
    }
    expect(h.service.stats.malformed).toBe(0);
  }, 60_000);
});
