// The event stream is what every output reads: one numbering, the same order for every
// sink, one burst per turn with exactly the maps that changed.
import { describe, expect, it } from 'vitest';
import { TopologyStore } from '../../src/model/store';
import { EventHistory } from '../../src/core/history';
import type { Burst, CoreEvent, EventSubject, Sink } from '../../src/core/events';

/** An event with what it concerns, as a sink is handed them. */
type Seen = CoreEvent & EventSubject;
import { EventStream } from '../../src/core/stream';
import { mpdMaps } from '../helpers/fixtures';

function recorder() {
  const events: Seen[] = [];
  const bursts: Burst[] = [];
  const sink: Sink = { event: (e, about) => events.push({ ...e, ...about }), burst: (b) => bursts.push(b) };
  return { sink, events, bursts };
}

function setup() {
  const store = new TopologyStore();
  const history = new EventHistory(100);
  const queued: (() => void)[] = [];
  const manager = { version: 't', instanceId: 'i', multipathdAvailable: true, kernelEventsAvailable: true, settings: undefined, ueventOverflows: 0, signalsDropped: 0 };
  const stream = new EventStream(history, () => store.topology, () => manager, (fn) => queued.push(fn));
  const [a, b] = [recorder(), recorder()];
  stream.addSink(a.sink);
  stream.addSink(b.sink);
  const turn = () => queued.splice(0).forEach((fn) => fn());
  return { store, history, stream, a, b, turn };
}

describe('event stream', () => {
  it('numbers each transition once and hands it to every sink in order, with its map and path', () => {
    const { store, history, stream, a, b, turn } = setup();
    stream.mapsChanged(store.applyReadings({ multipathd: mpdMaps('show-maps-2x2.json') }), false);
    stream.mapsChanged(store.applyReadings({ multipathd: mpdMaps('show-maps-2x2-one-failed.json') }), true);
    expect(a.events.map((e) => e.serial)).toEqual(b.events.map((e) => e.serial));
    expect(a.events.map((e) => e.serial)).toEqual(a.events.map((_, i) => BigInt(i + 1)));
    expect(history.lastSerial).toBe(BigInt(a.events.length));
    const failed = a.events.find((e) => e.name === 'PathFailed')!;
    expect(failed.synthesized).toBe(true);
    expect(failed.path?.dmState).toBe('failed');
    expect(failed.map?.paths.get(failed.path!.devT)).toBe(failed.path);
    expect(a.bursts).toHaveLength(0);
    turn();
    expect(a.bursts).toHaveLength(1);
    expect([...a.bursts[0].changed.keys()].sort()).toEqual([...store.topology.keys()].sort());
    expect(a.bursts[0].eventSerial).toBe(history.lastSerial);
  });

  it('a burst names only the maps that changed; a removed map is named with no state', () => {
    const { store, stream, a, turn } = setup();
    stream.mapsChanged(store.applyReadings({ multipathd: mpdMaps('show-maps-2x2.json') }), false);
    turn();
    const before = store.topology;
    stream.mapsChanged(store.applyReadings({ multipathd: mpdMaps('show-maps-after-del-map.json') }), true);
    turn();
    const last = a.bursts.at(-1)!;
    expect([...last.changed.entries()].filter(([, m]) => m === undefined).map(([w]) => w)).toHaveLength(1);
    const removed = a.events.filter((e) => e.name === 'MapRemoved');
    expect(removed).toHaveLength(1);
    expect(last.changed.get(removed[0].map!.wwid)).toBeUndefined();
    expect(store.topology.has(removed[0].map!.wwid)).toBe(false);
    // Maps the read left as they were are not named.
    for (const [wwid, m] of last.changed) if (m) expect(m).not.toBe(before.get(wwid));
  });

  it('Resynchronized is an event like the others and ends a burst', () => {
    const { stream, a, turn } = setup();
    stream.resynchronized('overflow');
    expect(a.events.map((e) => [e.name, e.name === 'Resynchronized' && e.reason])).toEqual([['Resynchronized', 'overflow']]);
    turn();
    expect(a.bursts).toHaveLength(1);
    expect(a.bursts[0].changed.size).toBe(0);
  });
});

describe('a sink that throws', () => {
  it('harms neither the other sinks nor the numbering, is reported, and gets a full burst next', () => {
    const store = new TopologyStore();
    const history = new EventHistory(100);
    const queued: (() => void)[] = [];
    const manager = { version: 't', instanceId: 'i', multipathdAvailable: true, kernelEventsAvailable: true, settings: undefined, ueventOverflows: 0, signalsDropped: 0 };
    const errors: string[] = [];
    const stream = new EventStream(history, () => store.topology, () => manager, (fn) => queued.push(fn), (_e, context) => errors.push(context));
    const good = recorder();
    const bad = recorder();
    let failures = 2;
    stream.addSink({
      event: (e, about) => {
        if (failures-- > 0) throw new Error('bug');
        bad.sink.event(e, about);
      },
      burst: (b) => bad.sink.burst(b),
    });
    stream.addSink(good.sink);
    stream.mapsChanged(store.applyReadings({ multipathd: mpdMaps('show-maps-2x2.json') }), false);
    queued.splice(0).forEach((fn) => fn());
    expect(errors).toEqual(['the Object sink (MapAdded event)', 'the Object sink (PathAdded event)']);
    expect(good.events.map((e) => e.serial)).toEqual(good.events.map((_, i) => BigInt(i + 1)));
    expect(good.bursts.map((b) => b.full)).toEqual([false]);
    expect(bad.bursts.map((b) => b.full)).toEqual([true]);
  });
});
