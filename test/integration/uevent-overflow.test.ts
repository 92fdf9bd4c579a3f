// The kernel's uevent socket overflows (ENOBUFS): datagrams were lost. Paths change in the
// simulator without their datagrams reaching the service, then the monitor reports the
// overflow, as the addon does. A subscriber on the private bus must see every transition
// the re-read finds (marked Synthesized in the history), then Resynchronized("overflow");
// the socket stays open, and the metrics count one overflow.
import { afterEach, describe, expect, it } from 'vitest';
import { MANAGER_IFACE, MAP_IFACE, mapObjectPath, PATH_IFACE, pathObjectPath } from '../../src/frontends/dbus/api';
import { callMethod, getManagedObjects } from '../../src/frontends/dbus/bus/connection';
import { MetricsSink } from '../../src/outputs/metrics/metrics-sink';
import { fakeMonitor } from '../helpers/fake-monitor';
import { sampleValue } from '../helpers/prometheus';
import { BUS_NAME, ROOT_PATH, startHarness, type Harness } from '../helpers/service-harness';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const managerProperty = async (h: Harness, name: string) =>
  (await callMethod(h.client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MANAGER_IFACE, name]))[0];

const dmState = async (h: Harness, dev: string) =>
  (await getManagedObjects(h.client, BUS_NAME, ROOT_PATH)).get(pathObjectPath(dev))!.get(PATH_IFACE)!.DmState;

describe('a uevent socket that overflows', () => {
  it('the re-read finds what the lost datagrams said: each transition, then Resynchronized("overflow"); one overflow counted', async () => {
    const monitor = fakeMonitor();
    const metrics = new MetricsSink();
    h = await startHarness({ maps: 3, pathsPerMap: 2 }, {}, undefined, { openMonitor: monitor.open, sinks: [metrics] });
    expect(await managerProperty(h, 'KernelEventsAvailable')).toBe(true);
    const [degraded, down] = h.sim.maps();
    // What the kernel would have said, lost: one path of the first map, both of the second.
    const lost = [degraded.paths[0], ...down.paths].flatMap((p) => h!.sim.failPath(p.dev));
    expect(lost.length).toBeGreaterThan(0);
    expect(await dmState(h, degraded.paths[0].dev)).toBe('active');
    h.signals.length = 0;
    const before = (await managerProperty(h, 'EventSerial')) as bigint;

    await monitor.deliver((handlers) => handlers.onOverflow());
    await h.waitFor((s) => s.some((x) => x.member === 'Resynchronized'), 'Resynchronized');

    const numbered = h.signals.filter((s) => s.iface === MAP_IFACE || s.iface === MANAGER_IFACE);
    // What each says, its serial aside: the path and its dev_t, the properties, the reason.
    const path = (p: { dev: string; devT: string }) => [pathObjectPath(p.dev), p.devT];
    expect(numbered.map((s) => [s.member, s.path, ...s.args.slice(0, Math.min(2, s.args.length - 1))])).toEqual([
      ['PathFailed', mapObjectPath(degraded.wwid), ...path(degraded.paths[0])],
      ['PolicyChanged', mapObjectPath(degraded.wwid), ['ActiveGroup']],
      ['PathFailed', mapObjectPath(down.wwid), ...path(down.paths[0])],
      ['PathFailed', mapObjectPath(down.wwid), ...path(down.paths[1])],
      ['Failed', mapObjectPath(down.wwid)],
      ['Resynchronized', ROOT_PATH, 'overflow'],
    ]);
    // Each is numbered in turn, and the history marks the transitions as found by a read.
    expect(numbered.map((s) => s.args.at(-1))).toEqual(numbered.map((_, i) => before + BigInt(i + 1)));
    const [complete, events] = (await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetEvents', 'tu', [before, 100])) as [
      boolean,
      [bigint, string, string, Record<string, unknown>][],
    ];
    expect(complete).toBe(true);
    expect(events.map(([, name, , data]) => [name, data.Synthesized])).toEqual([
      ['PathFailed', true],
      ['PolicyChanged', true],
      ['PathFailed', true],
      ['PathFailed', true],
      ['Failed', true],
      ['Resynchronized', undefined],
    ]);

    // The published state is the simulator's; an overflow the addon recovered from leaves the socket open.
    const objects = await getManagedObjects(h.client, BUS_NAME, ROOT_PATH);
    for (const p of h.sim.maps().flatMap((m) => m.paths)) {
      expect(objects.get(pathObjectPath(p.dev))!.get(PATH_IFACE)!.DmState, p.dev).toBe(p.failed ? 'failed' : 'active');
    }
    expect(await managerProperty(h, 'KernelEventsAvailable')).toBe(true);
    expect(h.signals.some((s) => s.member === 'PropertiesChanged' && (s.args[1] as Record<string, unknown>).KernelEventsAvailable !== undefined)).toBe(false);
    const text = await metrics.registry.metrics();
    expect(sampleValue(text, 'multipath_uevent_overflows_total')).toBe(1);
    expect(sampleValue(text, 'multipath_resyncs_total', { reason: 'overflow' })).toBe(1);
  });
});
