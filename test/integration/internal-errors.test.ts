// A bug where asynchronous work starts (a read, a kernel datagram, a method call, a timer,
// the end of a burst) is logged with its context, answers the caller Failed, and is
// followed by a re-read; the service stays on the bus. Each test injects a throwing
// dependency at one entry point; vitest fails a test file on any unhandled rejection or
// uncaught exception, which is what these used to be.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUS_NAME, mapObjectPath, ROOT_PATH } from '../../src/frontends/dbus/api';
import { callMethod } from '../../src/frontends/dbus/bus/connection';
import type { DmSource } from '../../src/sources/device-mapper/reader';
import type { DmDeviceInfo } from '../../src/native/addon';
import type { Sink } from '../../src/core/events';
import { MultipathdSimulator } from '../../src/sim/simulator';
import { fakeMonitor } from '../helpers/fake-monitor';
import { fakeTimers } from '../helpers/fake-timers';
import { assertObjectGraph } from '../helpers/object-graph';
import { ScriptedMultipathd, scriptedService, startPrivateBus, type PrivateBus, type ScriptedService } from '../helpers/scripted-service';

let bus: PrivateBus;
beforeAll(async () => {
  bus = await startPrivateBus();
});
afterAll(async () => bus?.stop());

/** The simulator's device-mapper, which returns a record without a uuid (a binding bug) `broken` times. */
function faultyDm(sim: MultipathdSimulator): DmSource & { broken: number } {
  return {
    broken: 0,
    dmListDevices() {
      if (this.broken <= 0) return sim.dmListDevices();
      this.broken--;
      return [{ name: 'broken' } as DmDeviceInfo];
    },
    dmTableStatus: (name, table) => sim.dmTableStatus(name, table),
  };
}

/** A sink with a bug, armed per call kind. */
function faultySink() {
  const sink: Sink & { onEvent: number; onBurst: number } = {
    onEvent: 0,
    onBurst: 0,
    event() {
      if (this.onEvent-- > 0) throw new TypeError('injected: event sink bug');
    },
    burst() {
      if (this.onBurst-- > 0) throw new TypeError('injected: burst sink bug');
    },
  };
  return sink;
}

/** Still serving: the name answers, and the objects are the simulator's maps, consistently linked. */
async function assertServing(s: ScriptedService, sim: MultipathdSimulator): Promise<void> {
  expect(s.conn.connected).toBe(true);
  await callMethod(s.client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.Peer', 'Ping', '', []);
  const objects = await s.objects();
  for (const m of sim.maps()) expect(objects.has(mapObjectPath(m.wwid)), m.name).toBe(true);
  assertObjectGraph(objects);
}

async function until(pred: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 15_000;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const reported = (s: ScriptedService, context: string) => s.logs.some((l) => l.includes(`internal error in ${context}`));

describe('internal errors', () => {
  let sim: MultipathdSimulator;
  beforeAll(async () => {
    sim = new MultipathdSimulator({ socket: `@multipath-dbus-internal-${process.pid}`, topology: { maps: 2, pathsPerMap: 2 } });
  });

  it('a read that throws at start: the name is still owned, and the re-read publishes the maps', async () => {
    const dm = faultyDm(sim);
    dm.broken = 1;
    const s = await scriptedService(bus, { multipathd: new ScriptedMultipathd(sim.showMapsJson()), dm });
    try {
      await s.service.start();
      expect(reported(s, 'a read of the sources')).toBe(true);
      await until(() => s.signals.some((x) => x.member === 'Resynchronized' && x.args[0] === 'internal-error'), 'Resynchronized(internal-error)');
      await assertServing(s, sim);
    } finally {
      await s.stop();
    }
  });

  it('a method whose read throws answers Failed, and the next call succeeds', async () => {
    const dm = faultyDm(sim);
    const s = await scriptedService(bus, { multipathd: new ScriptedMultipathd(sim.showMapsJson()), dm });
    try {
      await s.service.start();
      dm.broken = 1;
      expect(await s.refresh()).toBe('org.freedesktop.DBus.Error.Failed');
      expect(reported(s, 'a read of the sources')).toBe(true);
      expect(await s.refresh()).toBe('');
      await assertServing(s, sim);
    } finally {
      await s.stop();
    }
  });

  it('a kernel datagram whose handling throws (a sink bug): logged, the signal still goes out, a re-read follows', async () => {
    const monitor = fakeMonitor();
    const sink = faultySink();
    const multipathd = new ScriptedMultipathd(sim.showMapsJson());
    const s = await scriptedService(bus, { multipathd, dm: sim, openMonitor: monitor.open, sinks: [sink] });
    try {
      await s.service.start();
      sink.onEvent = 1;
      const datagrams = sim.failPath('sda');
      multipathd.maps = sim.showMapsJson();
      await monitor.deliver((h) => datagrams.forEach((d) => h.onDatagram(d)));
      expect(reported(s, 'the Object sink (PathFailed event)')).toBe(true);
      await until(() => s.signals.some((x) => x.member === 'Resynchronized' && x.args[0] === 'internal-error'), 'Resynchronized(internal-error)');
      expect(s.signals.filter((x) => x.member === 'PathFailed')).toHaveLength(1);
      await assertServing(s, sim);
    } finally {
      sim.reinstatePath('sda');
      await s.stop();
    }
  });

  it('a timer whose read throws, and an end-of-burst flush that throws: logged, the service keeps serving', async () => {
    const { timers, advance } = fakeTimers();
    const dm = faultyDm(sim);
    const sink = faultySink();
    const s = await scriptedService(bus, { multipathd: new ScriptedMultipathd(sim.showMapsJson()), dm, timers, sinks: [sink] }, { refreshInterval: 1 });
    try {
      const started = s.service.start();
      await advance(0);
      await started;
      dm.broken = 1;
      sink.onBurst = 1;
      await advance(1000); // the safety net fires; its read throws
      expect(reported(s, 'a read of the sources')).toBe(true);
      await advance(1000); // the recovery read, whose burst the sink fails
      await until(() => reported(s, 'the Object sink (burst)'), 'the burst failure report');
      await advance(1000);
      await until(() => s.signals.some((x) => x.member === 'Resynchronized' && x.args[0] === 'internal-error'), 'Resynchronized(internal-error)');
      await assertServing(s, sim);
    } finally {
      await s.stop();
    }
  });
});
