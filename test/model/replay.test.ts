// Replaying the recorded kernel events on top of multipathd's first snapshot must arrive at
// the states multipathd itself reported later in the same recording.
import { describe, expect, it } from 'vitest';
import { buildTopology } from '../../src/model/build';
import { TopologyStore, type MapChange } from '../../src/model/store';
import { mapHealth, type Topology } from '../../src/model/topology';
import { dmViews, mpdMaps, recordedEvents } from '../helpers/fixtures';

const A = '1Linux_scsi_debug_2000';
const B = '1Linux_scsi_debug_2001';

function pathStates(t: Topology): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of t.values()) for (const p of m.paths.values()) out[`${m.name}/${p.device}`] = p.dmState;
  return out;
}

function storeFrom(file: string): TopologyStore {
  const store = new TopologyStore();
  store.applyReadings({ multipathd: mpdMaps(file) });
  return store;
}

const pathEvents = () => recordedEvents().filter((e) => e.kind === 'path');

describe('topology from recordings', () => {
  it('builds maps, groups and paths from show maps json', () => {
    const t = buildTopology({ multipathd: mpdMaps('show-maps-2x2.json') }, new Map());
    expect([...t.keys()]).toEqual([A, B]);
    const a = t.get(A)!;
    expect(a.name).toBe('mpatha');
    expect(a.groups.map((g) => [g.number, g.priority, g.paths])).toEqual([
      [1, 50, ['8:0']],
      [2, 10, ['8:32']],
    ]);
    expect(a.paths.get('8:32')).toMatchObject({ device: 'sdc', checker: 'tur', checkerState: 'ready', group: 2, dmState: 'active' });
    expect(mapHealth(a)).toBe('optimal');
  });

  it("takes path state, groups and size from the kernel's dm status over multipathd", () => {
    const dm = dmViews('dmsetup-status-host1-offline.txt', 'dmsetup-table.txt', { mpatha: A, mpathb: B }, { mpatha: '254:0', mpathb: '254:1' });
    const t = buildTopology({ multipathd: mpdMaps('show-maps-2x2.json'), dm }, new Map());
    expect(pathStates(t)).toEqual({ 'mpatha/sda': 'active', 'mpatha/sdc': 'failed', 'mpathb/sdb': 'active', 'mpathb/sdd': 'failed' });
    const a = t.get(A)!;
    expect(a.size).toBe(16384n * 512n);
    expect(a.devT).toBe('254:0');
    expect(a.groups.map((g) => g.dmState)).toEqual(['active', 'enabled']);
    expect(a.paths.get('8:0')!.failCount).toBe(1);
    expect(mapHealth(a)).toBe('degraded');
  });

  it('keeps publishing maps from device-mapper alone when multipathd is gone', () => {
    const dm = dmViews('dmsetup-status.txt', 'dmsetup-table.txt', { mpatha: A, mpathb: B }, { mpatha: '254:0', mpathb: '254:1' });
    const before = buildTopology({ multipathd: mpdMaps('show-maps-2x2.json') }, new Map());
    const t = buildTopology({ dm }, before);
    expect(t.get(A)!.vendor).toBe('Linux');
    expect(t.get(A)!.paths.get('8:0')!.device).toBe('sda');
    expect(t.get(A)!.groups.map((g) => g.dmState)).toEqual(['enabled', 'active']);
  });
});

describe('replaying uevents.bin', () => {
  it('holds six path events in per-map DM_SEQNUM order', () => {
    expect(pathEvents().map((e) => (e.kind === 'path' ? `${e.mapName}:${e.dmSeqnum}:${e.action}:${e.pathDevT}` : ''))).toEqual([
      'mpatha:1:failed:8:0',
      'mpatha:2:reinstated:8:0',
      'mpatha:3:failed:8:32',
      'mpathb:1:failed:8:48',
      'mpatha:4:reinstated:8:32',
      'mpathb:2:reinstated:8:48',
    ]);
  });

  it('reaches each later multipathd snapshot', () => {
    const store = storeFrom('show-maps-2x2.json');
    const evs = pathEvents();
    const apply = (n: number) => evs.splice(0, n).forEach((e) => e.kind === 'path' && store.applyPathEvent(e));

    apply(1);
    expect(pathStates(store.topology)).toEqual(pathStates(storeFrom('show-maps-2x2-one-failed.json').topology));
    apply(3);
    expect(pathStates(store.topology)).toEqual(pathStates(storeFrom('show-maps-2x2-host1-offline.json').topology));
    apply(2);
    expect(pathStates(store.topology)).toEqual(pathStates(storeFrom('show-maps-2x2.json').topology));

    const changes = store.applyReadings({ multipathd: mpdMaps('show-maps-after-del-map.json') });
    // multipathd meanwhile saw group 1 of mpatha become active again.
    expect(changes.map((c) => [c.wwid, c.transitions.map((t) => t.type)])).toEqual([
      [A, ['policy-changed']],
      [B, ['path-removed', 'path-removed', 'map-removed']],
    ]);
    expect([...store.topology.keys()]).toEqual([A]);
  });

  it('turns each event into exactly its transition, with the kernel’s valid-path count', () => {
    const store = storeFrom('show-maps-2x2.json');
    const seen: string[] = [];
    for (const e of pathEvents()) {
      if (e.kind !== 'path') continue;
      const r = store.applyPathEvent(e);
      expect(r.kind).toBe('applied');
      if (r.kind === 'applied') {
        expect(r.resync).toBe(false);
        for (const t of r.change!.transitions) seen.push(`${t.type}${'validPaths' in t ? `:${t.validPaths}` : ''}`);
      }
    }
    expect(seen).toEqual(['path-failed:1', 'path-reinstated:2', 'path-failed:1', 'path-failed:1', 'path-reinstated:2', 'path-reinstated:2']);
  });
});

describe('ordering by DM_SEQNUM', () => {
  it('ignores an event older than one already applied', () => {
    const store = storeFrom('show-maps-2x2.json');
    const [fail1, reinstate2] = pathEvents();
    expect(store.applyPathEvent(reinstate2 as never).kind).toBe('applied');
    expect(store.applyPathEvent(fail1 as never).kind).toBe('stale');
    expect(store.topology.get(A)!.paths.get('8:0')!.dmState).toBe('active');
  });

  it('asks for a resync when a DM_SEQNUM is skipped', () => {
    const store = storeFrom('show-maps-2x2.json');
    const evs = pathEvents().filter((e) => e.kind === 'path' && e.mapName === 'mpatha');
    store.applyPathEvent(evs[0] as never);
    const r = store.applyPathEvent(evs[2] as never);
    expect(r).toMatchObject({ kind: 'applied', resync: 'seqnum-gap' });
  });

  it('asks for a resync when our count disagrees with DM_NR_VALID_PATHS', () => {
    const store = storeFrom('show-maps-2x2.json');
    const [fail1] = pathEvents();
    // The kernel says no path is left, where we know of one more: some event was missed.
    const r = store.applyPathEvent({ ...(fail1 as object), validPaths: 0 } as never);
    expect(r).toMatchObject({ kind: 'applied', resync: 'valid-paths-mismatch' });
  });

  it('reports maps and paths it does not know yet', () => {
    const store = new TopologyStore();
    expect(store.applyPathEvent(pathEvents()[0] as never).kind).toBe('unknown');
  });
});

describe('refresh diffs', () => {
  it('an unchanged reading reports no change', () => {
    const store = storeFrom('show-maps-2x2.json');
    expect(store.applyReadings({ multipathd: mpdMaps('show-maps-2x2.json') })).toEqual([]);
  });

  it('finds failures and map-level failure that no event announced', () => {
    const store = storeFrom('show-maps-2x2.json');
    const maps = mpdMaps('show-maps-2x2-host1-offline.json');
    const changes: MapChange[] = store.applyReadings({ multipathd: maps });
    // host1's paths failed, and the kernel switched both maps to their other group.
    expect(changes.flatMap((c) => c.transitions.map((t) => (t.type === 'policy-changed' ? t.properties.join() : t.type)))).toEqual([
      'path-failed',
      'ActiveGroup',
      'path-failed',
      'ActiveGroup',
    ]);
    const allFailed = maps.map((m) => ({
      ...m,
      groups: m.groups.map((g) => ({ ...g, paths: g.paths.map((p) => ({ ...p, dmState: 'failed' })) })),
    }));
    const c2 = store.applyReadings({ multipathd: allFailed });
    expect(c2.flatMap((c) => c.transitions.map((t) => t.type))).toEqual(['path-failed', 'map-failed', 'path-failed', 'map-failed']);
  });

  it('reports policy changes by name', () => {
    const store = storeFrom('show-maps-2x2.json');
    const changed = mpdMaps('show-maps-2x2.json').map((m) => ({ ...m, queueing: 'on', groups: m.groups.map((g) => ({ ...g, selector: 'round-robin 0' })) }));
    const c = store.applyReadings({ multipathd: changed });
    expect(c[0].transitions).toContainEqual({ type: 'policy-changed', wwid: A, properties: ['Selector', 'Queueing'] });
  });
});

describe('maps re-created', () => {
  it('a removed and re-added map counts DM_SEQNUM from 1 again', () => {
    const store = storeFrom('show-maps-2x2.json');
    const evs = pathEvents().filter((e) => e.kind === 'path' && e.mapName === 'mpatha');
    for (const e of evs) store.applyPathEvent(e as never);
    expect(store.applyPathEvent(evs[0] as never).kind).toBe('stale');
    store.forgetSeqnum('dm-0');
    expect(store.applyPathEvent(evs[0] as never).kind).toBe('applied');
  });
});
