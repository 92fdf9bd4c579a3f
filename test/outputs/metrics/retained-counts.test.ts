// The counts of removed paths are remembered (a LUN that comes back resumes its counters),
// but only for the newest 10,000 of them: a host that churns LUNs must not grow without
// bound. The sink alone, fed the events and bursts the service would give it.
import { describe, expect, it } from 'vitest';
import { MetricsSink } from '../../../src/outputs/metrics/metrics-sink';
import type { MapState, PathState, Topology } from '../../../src/model/topology';
import type { Burst, CoreEvent, ManagerState } from '../../../src/core/events';
import { sampleValue } from '../../helpers/prometheus';

const RETAINED = 10_000;

// What the failure counter reads of a map and a path: names and keys.
const path = (i: number) => ({ devT: `8:${i}`, device: `sd${i}`, dmState: 'active' }) as unknown as PathState;
const map = (i: number) => ({ wwid: `wwid-${i}`, name: `mpath${i}`, paths: new Map([[`8:${i}`, path(i)]]) }) as unknown as MapState;
const topology = (...ids: number[]): Topology => new Map(ids.map((i) => [`wwid-${i}`, map(i)]));
const burst = (t: Topology) => ({ topology: t, changed: new Map(), manager: {} as ManagerState, eventSerial: 0n, full: false }) as Burst;
const failed = (i: number): CoreEvent => ({ serial: 0n, name: 'PathFailed', synthesized: false, wwid: `wwid-${i}`, devT: `8:${i}`, device: `sd${i}`, validPaths: 0, dmSeqnum: 0 });

async function failures(sink: MetricsSink, i: number): Promise<number | undefined> {
  const text = await sink.registry.getSingleMetricAsString('multipath_path_failures_total');
  return sampleValue(text, 'multipath_path_failures_total', { map: `mpath${i}`, wwid: `wwid-${i}`, device: `sd${i}` });
}

describe('counts of removed paths', () => {
  it(`are kept for the newest ${RETAINED.toLocaleString('en')} removed paths, and never for a present one`, async () => {
    const sink = new MetricsSink();
    const live = RETAINED + 100;
    // Every path fails once; then all but one are removed, oldest first in the counts.
    for (let i = 0; i <= live; i++) sink.event(failed(i));
    sink.burst(burst(topology(live)));

    // The present path and the newest removed ones keep their counts when they come back.
    sink.burst(burst(topology(live, live - 1, live - RETAINED)));
    expect(await failures(sink, live)).toBe(1);
    expect(await failures(sink, live - 1)).toBe(1);
    expect(await failures(sink, live - RETAINED)).toBe(1);
    // The oldest were forgotten: they start again from zero.
    sink.burst(burst(topology(0, 50, live - RETAINED - 1)));
    expect(await failures(sink, 0)).toBe(0);
    expect(await failures(sink, 50)).toBe(0);
    expect(await failures(sink, live - RETAINED - 1)).toBe(0);
  });
});
