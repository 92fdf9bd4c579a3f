// The metrics sink on the real service: what a scrape shows after real transitions, checked
// by promtool; counts kept across scrapes, removals and re-creations.
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsSink } from '../../../src/outputs/metrics/metrics-sink';
import { promtoolCheckMetrics, sampleValue, samples } from '../../helpers/prometheus';
import { startHarness, type Harness } from '../../helpers/service-harness';
import { NvmeSysfsSim } from '../../../src/sim/nvme-sysfs';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function start() {
  const metrics = new MetricsSink();
  h = await startHarness('small', {}, undefined, { sinks: [metrics] });
  const map = h.sim.maps()[0];
  const path = { map: map.name, wwid: map.wwid, device: map.paths[0].dev };
  return { h, metrics, map, path, scrape: () => metrics.withProcess.metrics() };
}

/** Wait until a scrape satisfies the predicate. */
async function until(scrape: () => Promise<string>, pred: (text: string) => boolean, what: string): Promise<string> {
  const end = Date.now() + 10_000;
  for (;;) {
    const text = await scrape();
    if (pred(text)) return text;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${text}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('metrics', () => {
  it('promtool accepts the scrape, which has every metric named in the README and the process metrics', async () => {
    const { scrape, path } = await start();
    const text = await scrape();
    expect(promtoolCheckMetrics(text)).toEqual({ code: 0, output: '' });
    const names = new Set(samples(text).map((s) => s.name));
    for (const n of [
      'multipath_path_up',
      'multipath_map_paths',
      'multipath_map_valid_paths',
      'multipath_map_health',
      'multipath_path_failures_total',
      'multipath_path_reinstatements_total',
      'multipath_resyncs_total',
      'multipath_uevent_overflows_total',
      'multipath_multipathd_up',
      'multipath_dbus_signals_dropped_total',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
    ]) {
      expect(names, n).toContain(n);
    }
    expect(sampleValue(text, 'multipath_path_up', path)).toBe(1);
    expect(sampleValue(text, 'multipath_path_failures_total', path)).toBe(0);
    expect(sampleValue(text, 'multipath_map_paths', { map: path.map })).toBe(2);
    expect(sampleValue(text, 'multipath_map_health', { map: path.map, health: 'optimal' })).toBe(1);
    expect(sampleValue(text, 'multipath_map_health', { map: path.map, health: 'degraded' })).toBe(0);
    expect(sampleValue(text, 'multipath_multipathd_up')).toBe(1);
  });

  it('a flap between two scrapes still counts: one failure, one reinstatement, the path up', async () => {
    const { h, scrape, path } = await start();
    expect(sampleValue(await scrape(), 'multipath_path_failures_total', path)).toBe(0);
    h.kernel([...h.sim.failPath(path.device), ...h.sim.reinstatePath(path.device)]);
    const text = await until(scrape, (t) => sampleValue(t, 'multipath_path_reinstatements_total', path) === 1, 'the reinstatement');
    expect(sampleValue(text, 'multipath_path_failures_total', path)).toBe(1);
    expect(sampleValue(text, 'multipath_path_up', path)).toBe(1);
  });

  it('a path down shows in the gauges; a removed map loses its series; re-created, its counters resume', async () => {
    const { h, scrape, path } = await start();
    h.kernel(h.sim.failPath(path.device));
    let text = await until(scrape, (t) => sampleValue(t, 'multipath_path_up', path) === 0, 'the path down');
    expect(sampleValue(text, 'multipath_map_valid_paths', { map: path.map })).toBe(1);
    expect(sampleValue(text, 'multipath_map_health', { map: path.map, health: 'degraded' })).toBe(1);
    h.kernel(h.sim.reinstatePath(path.device));
    h.kernel(h.sim.removeMap(path.map));
    text = await until(scrape, (t) => sampleValue(t, 'multipath_map_paths', { map: path.map }) === undefined, 'the map gone');
    expect(samples(text).filter((s) => s.labels.wwid === path.wwid)).toEqual([]);
    expect(sampleValue(text, 'multipath_map_paths', { map: h.sim.maps()[0].name })).toBe(2);
    h.kernel(h.sim.addMap(path.map));
    text = await until(scrape, (t) => sampleValue(t, 'multipath_map_paths', { map: path.map }) === 2, 'the map back');
    expect(sampleValue(text, 'multipath_path_failures_total', path)).toBe(1);
    expect(sampleValue(text, 'multipath_path_reinstatements_total', path)).toBe(1);
  });

  it('an NVMe path is a series like any other: its ANA state going inaccessible and back counts once each', async () => {
    const metrics = new MetricsSink();
    const nvme = new NvmeSysfsSim({ namespaces: 1, ports: 2, anaGroups: 1 });
    try {
      h = await startHarness('small', {}, undefined, { sinks: [metrics], nvme: { root: nvme.root, pollIntervalMs: 100 } });
      const scrape = () => metrics.withProcess.metrics();
      const path = { map: 'nvme0n1', wwid: 'uuid.00000000-0000-4000-8000-000000000001', device: 'nvme0c1n1' };
      expect(sampleValue(await scrape(), 'multipath_path_up', path)).toBe(1);
      nvme.setPortAnaState(1, 1, 'inaccessible');
      let text = await until(scrape, (t) => sampleValue(t, 'multipath_path_up', path) === 0, 'the NVMe path down');
      expect(sampleValue(text, 'multipath_map_health', { map: 'nvme0n1', health: 'degraded' })).toBe(1);
      nvme.setPortAnaState(1, 1, 'non-optimized');
      text = await until(scrape, (t) => sampleValue(t, 'multipath_path_up', path) === 1, 'the NVMe path up');
      expect(sampleValue(text, 'multipath_path_failures_total', path)).toBe(1);
      expect(sampleValue(text, 'multipath_path_reinstatements_total', path)).toBe(1);
      expect(promtoolCheckMetrics(text)).toEqual({ code: 0, output: '' });
    } finally {
      nvme.destroy();
    }
  });

  it('multipathd down, resyncs by reason and dropped signals are counted', async () => {
    const { h, scrape } = await start();
    await h.sim.die();
    await h.service.resync('overflow');
    let text = await until(scrape, (t) => sampleValue(t, 'multipath_multipathd_up') === 0, 'multipathd down');
    await h.sim.restart();
    await h.service.resync('overflow');
    text = await until(scrape, (t) => sampleValue(t, 'multipath_resyncs_total', { reason: 'multipathd-restart' }) === 1, 'the restart resync');
    expect(sampleValue(text, 'multipath_multipathd_up')).toBe(1);
    expect(sampleValue(text, 'multipath_resyncs_total', { reason: 'overflow' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(text, 'multipath_resyncs_total', { reason: 'backpressure' })).toBe(0);
  });

  it('hostile map names and WWIDs are escaped and never break the exposition', async () => {
    const { h, path } = await start();
    const real = h.service.topology.get(path.wwid)!;
    const hostile = { ...real, name: 'a"b\\c\nd}', wwid: 'w w\n"' };
    const sink = new MetricsSink();
    sink.burst({ topology: new Map([[hostile.wwid, hostile]]), changed: new Map(), manager: undefined!, eventSerial: 0n });
    const text = await sink.registry.metrics();
    expect(promtoolCheckMetrics(text)).toEqual({ code: 0, output: '' });
    expect(text).toContain('map="a\\"b\\\\c\\nd}"');
  });
});
