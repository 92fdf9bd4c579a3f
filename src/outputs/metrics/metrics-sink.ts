// The metrics sink: Prometheus metrics read from the event stream. Gauges describe the
// topology of the newest burst; the failure and reinstatement counters are counted from
// the events themselves, so a path that fails and comes back between two scrapes still
// counts. Everything is rendered at scrape time from the state kept here.
//
// A removed map or path loses its series (a scrape after the removal no longer shows
// it), but its counts are remembered, keyed by WWID and path key (dev_t, or an NVMe path's name): when the map is created
// again its counters resume where they were instead of starting from zero. Up to
// RETAINED_ABSENT removed paths are remembered, so a host that churns LUNs stays bounded.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { mapHealth, pathKey, validPaths, type Health, type MapState, type PathState, type Topology } from '../../model/topology';
import type { Burst, CoreEvent, ManagerState, Sink } from '../../core/events';

const HEALTHS: readonly Health[] = ['optimal', 'degraded', 'failed', 'unknown'];
// The reasons the service resynchronizes for; shown at 0 from the start so that
// increase() sees the first one.
const RESYNC_REASONS = ['overflow', 'backpressure', 'multipathd-restart'];
const RETAINED_ABSENT = 10_000;

interface PathCounts {
  failures: number;
  reinstatements: number;
}

// A path key (dev_t, or an NVMe path's kernel name) never holds a space; the WWID (outside data) might.
const countKey = (wwid: string, path: { devT: string; device: string }) => `${wwid} ${pathKey(path)}`;
const mapLabels = (m: MapState) => ({ map: m.name, wwid: m.wwid });
// Until its kernel name is known a path is named by its dev_t, so two paths never share a series.
const pathLabels = (m: MapState, p: PathState) => ({ ...mapLabels(m), device: p.device || p.devT });

export class MetricsSink implements Sink {
  /** The multipath metrics only (what the textfile collector gets). */
  readonly registry = new Registry();
  /** The multipath metrics and the process's own (what the HTTP endpoint serves). */
  readonly withProcess: Registry;
  private topology: Topology = new Map();
  private manager: ManagerState | undefined;
  private readonly counts = new Map<string, PathCounts>();
  private readonly resyncs = new Map<string, number>(RESYNC_REASONS.map((r) => [r, 0]));

  constructor() {
    const registers = [this.registry];
    const state = this;
    const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge) => void) =>
      new Gauge({ name, help, labelNames, registers, collect() { this.reset(); fill(this); } });
    const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter) => void) =>
      new Counter({ name, help, labelNames, registers, collect() { this.reset(); fill(this); } });

    gauge('multipath_path_up', 'Whether device-mapper is sending I/O down the path (1) or has failed it (0).', ['map', 'wwid', 'device'], (g) =>
      state.eachPath((m, p) => g.set(pathLabels(m, p), p.dmState === 'active' ? 1 : 0)),
    );
    gauge('multipath_map_paths', 'Paths of the map.', ['map', 'wwid'], (g) => state.eachMap((m) => g.set(mapLabels(m), m.paths.size)));
    gauge('multipath_map_valid_paths', 'Paths of the map device-mapper has not failed.', ['map', 'wwid'], (g) =>
      state.eachMap((m) => g.set(mapLabels(m), validPaths(m))),
    );
    gauge('multipath_map_health', 'The health of the map: 1 for its current state, 0 for the others.', ['map', 'wwid', 'health'], (g) =>
      state.eachMap((m) => {
        const now = mapHealth(m);
        for (const h of HEALTHS) g.set({ ...mapLabels(m), health: h }, h === now ? 1 : 0);
      }),
    );
    counter('multipath_path_failures_total', 'Times device-mapper failed the path, counted from events.', ['map', 'wwid', 'device'], (c) =>
      state.eachPath((m, p) => c.inc(pathLabels(m, p), state.countsOf(m, p)?.failures ?? 0)),
    );
    counter('multipath_path_reinstatements_total', 'Times device-mapper reinstated the path, counted from events.', ['map', 'wwid', 'device'], (c) =>
      state.eachPath((m, p) => c.inc(pathLabels(m, p), state.countsOf(m, p)?.reinstatements ?? 0)),
    );
    counter('multipath_resyncs_total', 'Times the service re-read all state because events were lost, by reason.', ['reason'], (c) => {
      for (const [reason, n] of state.resyncs) c.inc({ reason }, n);
    });
    counter('multipath_uevent_overflows_total', 'Times the kernel uevent socket overflowed and events were lost.', [], (c) =>
      c.inc(state.manager?.ueventOverflows ?? 0),
    );
    counter('multipath_dbus_signals_dropped_total', 'D-Bus signals dropped because the bus daemon was not reading.', [], (c) =>
      c.inc(state.manager?.signalsDropped ?? 0),
    );
    gauge('multipath_multipathd_up', 'Whether multipathd answers (1) or not (0).', [], (g) => g.set(state.manager?.multipathdAvailable ? 1 : 0));

    const processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
    // Gauges whose names end in _total (promtool rejects them); nodejs_active_* say the same.
    for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      processRegistry.removeSingleMetric(n);
    }
    this.withProcess = Registry.merge([this.registry, processRegistry]);
  }

  event(e: CoreEvent): void {
    if (e.name === 'PathFailed' || e.name === 'PathReinstated') {
      const key = countKey(e.wwid, e);
      const c = this.counts.get(key) ?? { failures: 0, reinstatements: 0 };
      if (e.name === 'PathFailed') c.failures++;
      else c.reinstatements++;
      this.counts.set(key, c);
    } else if (e.name === 'Resynchronized') {
      for (const reason of e.reason.split(',')) this.resyncs.set(reason, (this.resyncs.get(reason) ?? 0) + 1);
    }
  }

  burst(b: Burst): void {
    this.topology = b.topology;
    this.manager = b.manager;
    this.forgetOldest();
  }

  private eachMap(fn: (m: MapState) => void): void {
    for (const m of this.topology.values()) fn(m);
  }

  private eachPath(fn: (m: MapState, p: PathState) => void): void {
    for (const m of this.topology.values()) for (const p of m.paths.values()) fn(m, p);
  }

  private countsOf(m: MapState, p: PathState): PathCounts | undefined {
    return this.counts.get(countKey(m.wwid, p));
  }

  /** Keep the counts of at most RETAINED_ABSENT paths that are not there any more. */
  private forgetOldest(): void {
    let live = 0;
    for (const m of this.topology.values()) live += m.paths.size;
    let excess = this.counts.size - live - RETAINED_ABSENT;
    for (const key of this.counts.keys()) {
      if (excess <= 0) return;
      const cut = key.lastIndexOf(' ');
      const [wwid, path] = [key.slice(0, cut), key.slice(cut + 1)];
      if (this.topology.get(wwid)?.paths.has(path)) continue;
      this.counts.delete(key);
      excess--;
    }
  }
}
