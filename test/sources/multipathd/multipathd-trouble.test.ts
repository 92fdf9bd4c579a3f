// When clients are told that multipathd is gone, how often it is looked for meanwhile, and
// what they are told when it is back (README, Reliability: "multipathd slow, hung, crashed,
// restarted"). The real service on a private bus; multipathd's answers and the clock are
// the test's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_IFACE, ROOT_PATH } from '../../../src/frontends/dbus/api';
import { callMethod } from '../../../src/frontends/dbus/bus/connection';
import { MultipathdError } from '../../../src/sources/multipathd/client';
import { SimTopology } from '../../../src/sim/topology';
import { fakeTimers } from '../../helpers/fake-timers';
import { ScriptedMultipathd, scriptedService, startPrivateBus, type PrivateBus, type ScriptedService } from '../../helpers/scripted-service';
import { BUS_NAME } from '../../helpers/service-harness';

let bus: PrivateBus;
beforeAll(async () => {
  bus = await startPrivateBus();
});
afterAll(async () => bus?.stop());

const timeout = () => new MultipathdError('timeout', 'multipathd did not answer "show maps json" within 6000 ms (@test)');
const available = async (s: ScriptedService) =>
  ((await callMethod(s.client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MANAGER_IFACE, 'MultipathdAvailable'])) as [boolean])[0];
const availability = (s: ScriptedService) =>
  s.signals.filter((x) => x.member === 'PropertiesChanged' && 'MultipathdAvailable' in (x.args[1] as object)).map((x) => (x.args[1] as Record<string, unknown>).MultipathdAvailable);

async function started(multipathd: ScriptedMultipathd) {
  const { timers, advance } = fakeTimers();
  const s = await scriptedService(bus, { multipathd, timers });
  const starting = s.service.start();
  await advance(0);
  await starting;
  expect(await available(s)).toBe(true);
  /** Refresh through the bus, the clock moved on until it is answered (reads are a second apart at most). */
  const refresh = async () => {
    let answer: string | undefined;
    void s.refresh().then((a) => (answer = a));
    while (answer === undefined) await advance(100);
    return answer;
  };
  return { s, timers, advance, refresh };
}

describe('multipathd trouble', () => {
  it('one timeout may be a blip: MultipathdAvailable stays true; the second in a row makes it false', async () => {
    const multipathd = new ScriptedMultipathd(new SimTopology({ maps: 2, pathsPerMap: 2 }).showMapsJson());
    const { s, refresh } = await started(multipathd);
    try {
      multipathd.failure = timeout();
      expect(await refresh()).toBe('');
      expect(await available(s)).toBe(true);
      expect(await refresh()).toBe('');
      expect(await available(s)).toBe(false);
      expect(availability(s)).toEqual([false]);
      expect(s.logs.filter((l) => /multipathd unavailable/.test(l))).toHaveLength(1);
      // The published maps stay: the kernel's view is still served.
      expect((await s.objects()).size).toBeGreaterThan(1);
    } finally {
      await s.stop();
    }
  });

  it('nobody listening is certain at once; it is looked for after 1, 2, 4 ... 30 s; back: Resynchronized("multipathd-restart")', async () => {
    const multipathd = new ScriptedMultipathd(new SimTopology({ maps: 2, pathsPerMap: 2 }).showMapsJson());
    const { s, timers, advance, refresh } = await started(multipathd);
    try {
      multipathd.failure = new MultipathdError('not-running', 'multipathd is not running (@test: ECONNREFUSED)');
      const asked: number[] = [];
      const origin = timers.now();
      const request = multipathd.request.bind(multipathd);
      multipathd.request = (command) => {
        if (command === 'show maps json') asked.push(timers.now() - origin);
        return request(command);
      };
      expect(await refresh()).toBe('');
      expect(await available(s)).toBe(false);
      await advance(2 * 60_000);
      // The gaps between attempts: doubling from one second, capped at thirty.
      const gaps = asked.slice(1).map((t, i) => t - asked[i]);
      expect(gaps.slice(0, 7)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);

      multipathd.failure = undefined;
      await advance(30_000);
      await advance(0);
      expect(await available(s)).toBe(true);
      expect(availability(s)).toEqual([false, true]);
      expect(s.signals.filter((x) => x.member === 'Resynchronized').map((x) => x.args[0])).toEqual(['multipathd-restart']);
    } finally {
      await s.stop();
    }
  });
});
