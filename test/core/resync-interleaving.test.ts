// A read confirms only the losses that happened before it began: one that began before an
// overflow may have read multipathd's state from before it. Deterministic: the test holds
// multipathd's answers and moves the coalescer's clock itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CoreEvent, Sink } from '../../src/core/events';
import { NvmeSysfsSim } from '../../src/sim/nvme-sysfs';
import { SimTopology } from '../../src/sim/topology';
import { fakeMonitor } from '../helpers/fake-monitor';
import { fakeTimers, settle } from '../helpers/fake-timers';
import { ScriptedMultipathd, scriptedService, startPrivateBus, type PrivateBus } from '../helpers/scripted-service';

let bus: PrivateBus;
beforeAll(async () => {
  bus = await startPrivateBus();
});
afterAll(async () => bus?.stop());

class Recorder implements Sink {
  readonly resyncs: string[] = [];
  event(e: CoreEvent): void {
    if (e.name === 'Resynchronized') this.resyncs.push(e.reason);
  }
  burst(): void {}
}

describe('pending resync', () => {
  it('a loss during a read waits for the next read; a loss before a read is confirmed by it', async () => {
    const { timers, advance } = fakeTimers();
    const monitor = fakeMonitor();
    const multipathd = new ScriptedMultipathd(new SimTopology({ maps: 2, pathsPerMap: 2 }).showMapsJson());
    const sink = new Recorder();
    const s = await scriptedService(bus, { multipathd, timers, openMonitor: monitor.open, sinks: [sink], minRefreshIntervalMs: 1000 });
    try {
      multipathd.hold = true;
      const started = s.service.start();
      await advance(0);
      expect(multipathd.waiting).toBe(1); // the first read is asking multipathd
      await monitor.deliver((h) => h.onOverflow());
      multipathd.hold = false;
      multipathd.release();
      await started;
      expect(sink.resyncs).toEqual([]); // that read may hold multipathd's state from before the loss
      const reads = multipathd.requests.filter((r) => r === 'show maps json').length;

      await advance(1000);
      await settle();
      expect(multipathd.requests.filter((r) => r === 'show maps json').length).toBe(reads + 1);
      expect(sink.resyncs).toEqual(['overflow']);

      await monitor.deliver((h) => h.onOverflow());
      await advance(1000);
      await settle();
      expect(sink.resyncs).toEqual(['overflow', 'overflow']);
      expect(s.service.stats.overflows).toBe(2);
    } finally {
      await s.stop();
    }
  });

  it('a poll that reads one source alone neither asks multipathd nor confirms a loss', async () => {
    const { timers, advance } = fakeTimers();
    const monitor = fakeMonitor();
    const multipathd = new ScriptedMultipathd(new SimTopology({ maps: 2, pathsPerMap: 2 }).showMapsJson());
    const nvme = new NvmeSysfsSim({ namespaces: 1 });
    const sink = new Recorder();
    const s = await scriptedService(bus, { multipathd, timers, openMonitor: monitor.open, sinks: [sink], minRefreshIntervalMs: 1000, nvme: { root: nvme.root, pollIntervalMs: 500 } });
    try {
      const started = s.service.start();
      await advance(0);
      await started;
      const reads = () => multipathd.requests.filter((r) => r === 'show maps json').length;
      const before = reads();
      multipathd.hold = true;
      await monitor.deliver((h) => h.onOverflow()); // its full read waits for the coalescer's second
      nvme.setPortAnaState(1, 1, 'inaccessible');
      await advance(500);
      await settle();
      // The poll's read of the NVMe source alone published the change, asking multipathd nothing
      // and confirming nothing: it cannot have repaired what the overflow hid from the others.
      expect(s.service.topology.get('uuid.00000000-0000-4000-8000-000000000001')!.paths.get('nvme0c1n1')!.dmState).toBe('failed');
      expect(reads()).toBe(before);
      expect(sink.resyncs).toEqual([]);
      await advance(500);
      expect(multipathd.waiting).toBe(1);
      multipathd.hold = false;
      multipathd.release();
      await settle();
      expect(sink.resyncs).toEqual(['overflow']);
    } finally {
      await s.stop();
      nvme.destroy();
    }
  });
});
