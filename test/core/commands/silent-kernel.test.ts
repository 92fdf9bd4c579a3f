// Path.Fail and Path.Reinstate while kernel events are on: the kernel's uevent is how the
// change is published (its PATH_FAILED carries DM_SEQNUM), but when multipathd accepts the
// command and the kernel says nothing (a lost uevent, or dm-mpath and multipathd
// disagreeing), a read confirms it instead of the caller waiting 20 s for a timeout. The
// real service on a private bus, with a simulated uevent socket fed by the simulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_IFACE, PATH_IFACE, pathObjectPath, ROOT_PATH } from '../../../src/frontends/dbus/api';
import { callMethod } from '../../../src/frontends/dbus/bus/connection';
import { BUS_NAME, busctl, startHarness, type Harness } from '../../helpers/service-harness';

let h: Harness;
const sim = () => h.sim.maps()[0];
const dev = () => sim().paths[0].dev;

async function dmState(): Promise<string> {
  const r = await busctl(h, 'get-property', BUS_NAME, pathObjectPath(dev()), PATH_IFACE, 'DmState');
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** Call as root (no polkit needed); resolves with how long it took. */
async function timed(member: 'Fail' | 'Reinstate'): Promise<number> {
  const t0 = performance.now();
  await callMethod(h.client, BUS_NAME, pathObjectPath(dev()), PATH_IFACE, member, 'a{sv}', [{}]);
  return performance.now() - t0;
}

describe.skipIf(process.getuid?.() !== 0)('a path change the kernel does not announce', () => {
  beforeAll(async () => {
    h = await startHarness({ maps: 1, pathsPerMap: 2, groupsPerMap: 2 }, {}, undefined, { simulatedMonitor: true });
  });
  afterAll(async () => h?.stop());

  it('is published from the kernel\'s uevent when it comes, with its DM_SEQNUM', async () => {
    const ms = await timed('Fail');
    expect(await dmState()).toBe('s "failed"');
    const signal = h.signals.find((s) => s.member === 'PathFailed');
    expect(signal?.args.slice(0, 4)).toEqual([pathObjectPath(dev()), sim().paths[0].devT, 1, h.sim.topology.maps[0].dmSeqnum]);
    console.log(`Path.Fail with the kernel's uevent: ${ms.toFixed(0)} ms`);
    await timed('Reinstate');
  });

  it('is confirmed by a read when multipathd accepts it and the kernel stays silent', async () => {
    h.sim.silenceKernel(true);
    try {
      for (const [member, state] of [['Fail', 's "failed"'], ['Reinstate', 's "active"']] as const) {
        // The reads the last change set off are over: only the call's own can show this one.
        await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []);
        const emitted = h.sim.emitted.length;
        const ms = await timed(member);
        console.log(`Path.${member} without a uevent: answered in ${ms.toFixed(0)} ms`);
        // The kernel would have announced it; nobody heard.
        expect(h.sim.emitted.length).toBe(emitted + 1);
        // Answered in about a second (the wait for the uevent, then a read), not at the 20 s timeout.
        expect(ms).toBeGreaterThanOrEqual(990);
        expect(ms).toBeLessThan(5000);
        expect(await dmState()).toBe(state);
        expect(sim().paths[0].failed).toBe(member === 'Fail');
      }
    } finally {
      h.sim.silenceKernel(false);
    }
  });
});
