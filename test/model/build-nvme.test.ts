// NVMe namespaces in the model beside dm-multipath maps: what a reading of each kind builds, and
// that a read of one source alone (the engine's read after a poll or an NVMe uevent) leaves the
// other kind's maps as they were.
import { afterEach, describe, expect, it } from 'vitest';
import { buildTopology } from '../../src/model/build';
import { nvmePathUsable } from '../../src/model/build-nvme';
import type { NvmeReading } from '../../src/model/nvme-reading';
import { mapHealth } from '../../src/model/topology';
import { NvmeSysfsSim } from '../../src/sim/nvme-sysfs';
import { readNvme } from '../../src/sources/nvme/reader';
import { mpdMaps } from '../helpers/fixtures';

const sims: NvmeSysfsSim[] = [];
afterEach(() => sims.splice(0).forEach((s) => s.destroy()));
function reading(options = {}): NvmeReading {
  const sim = new NvmeSysfsSim(options);
  sims.push(sim);
  return readNvme(sim.root);
}

const DM_A = '1Linux_scsi_debug_2000';
const NS1 = 'uuid.00000000-0000-4000-8000-000000000001';

describe('NVMe namespaces as maps', () => {
  it('a path carries I/O only through a live controller in an optimized or non-optimized ANA state', () => {
    const live = { state: 'live' as const };
    expect(nvmePathUsable({ anaState: 'optimized', anaGroup: 1 }, live)).toBe(true);
    expect(nvmePathUsable({ anaState: 'non-optimized', anaGroup: 1 }, live)).toBe(true);
    for (const anaState of ['inaccessible', 'persistent-loss', 'change', 'unknown'] as const) expect(nvmePathUsable({ anaState, anaGroup: 1 }, live)).toBe(false);
    for (const state of ['connecting', 'resetting', 'deleting', 'dead', 'new'] as const) expect(nvmePathUsable({ anaState: 'optimized', anaGroup: 1 }, { state })).toBe(false);
    // A controller without ANA reports no ANA state: live is enough.
    expect(nvmePathUsable({ anaState: 'unknown', anaGroup: undefined }, live)).toBe(true);
    expect(nvmePathUsable({ anaState: 'optimized', anaGroup: 1 }, undefined)).toBe(false);
  });

  it('groups are the ANA groups of the namespace, active with an optimized path, enabled with non-optimized ones only', () => {
    const r = reading({ namespaces: 1, ports: 2, anaGroups: 1 });
    const t = buildTopology({ nvme: r }, new Map());
    const m = t.get(NS1)!;
    expect(m).toMatchObject({ kind: 'nvme', name: 'nvme0n1', subsystemNqn: r.subsystems[0].nqn, ioPolicy: 'numa', devT: '259:0' });
    expect([...m.paths.keys()]).toEqual(['nvme0c0n1', 'nvme0c1n1']);
    expect(m.groups).toEqual([{ number: 1, selector: '', priority: 0, dmState: 'active', marginal: false, paths: ['nvme0c0n1', 'nvme0c1n1'] }]);
    const [ns] = r.subsystems[0].namespaces;
    const changed = { ...r, subsystems: [{ ...r.subsystems[0], namespaces: [{ ...ns, paths: [{ ...ns.paths[0], anaState: 'inaccessible' as const }, ns.paths[1]] }] }] };
    const degraded = buildTopology({ nvme: changed }, t).get(NS1)!;
    expect(mapHealth(degraded)).toBe('degraded');
    expect(degraded.groups[0].dmState).toBe('enabled');
  });

  it('a namespace read from the very objects its map was built from keeps that map; only the one that changed is built', () => {
    const r = reading({ namespaces: 3 });
    const t = buildTopology({ nvme: r }, new Map());
    const s = r.subsystems[0];
    const [a, b, c] = s.namespaces;
    const moved = { ...b, paths: b.paths.map((p, i) => (i === 0 ? { ...p, anaState: 'non-optimized' as const } : p)) };
    const next = buildTopology({ nvme: { ...r, subsystems: [{ ...s, namespaces: [a, moved, c] }] } }, t);
    expect(next.get(a.wwid)).toBe(t.get(a.wwid));
    expect(next.get(c.wwid)).toBe(t.get(c.wwid));
    expect(next.get(b.wwid)).not.toBe(t.get(b.wwid));
    expect(next.get(b.wwid)!.paths.get(b.paths[0].name)!.anaState).toBe('non-optimized');
    // A controller's state concerns every namespace with a path through it.
    const down = buildTopology({ nvme: { ...r, subsystems: [{ ...s, namespaces: [a, moved, c], controllers: [s.controllers[0], { ...s.controllers[1], state: 'connecting' as const }] }] } }, next);
    for (const ns of [a, c]) expect(down.get(ns.wwid)).not.toBe(next.get(ns.wwid));
    expect(mapHealth(down.get(a.wwid)!)).toBe('degraded');
  });

  it('a read of one kind alone keeps the other kind as it was', () => {
    const dmOnly = buildTopology({ multipathd: mpdMaps('show-maps-2x2.json') }, new Map());
    const both = buildTopology({ nvme: reading({ namespaces: 2 }) }, dmOnly);
    expect([...both.values()].map((m) => m.kind).sort()).toEqual(['dm-multipath', 'dm-multipath', 'nvme', 'nvme']);
    expect(both.get(DM_A)).toBe(dmOnly.get(DM_A));
    const dmAgain = buildTopology({ multipathd: mpdMaps('show-maps-2x2-one-failed.json') }, both);
    expect(dmAgain.get(NS1)).toBe(both.get(NS1));
    // An NVMe reading with no subsystem left removes the NVMe maps and only them.
    const gone = buildTopology({ nvme: { nativeMultipath: true, subsystems: [], problems: [] } }, dmAgain);
    expect([...gone.keys()].sort()).toEqual([...dmOnly.keys()].sort());
  });

  it('a namespace without a WWID, or with another one\'s, is not published, and says why', () => {
    const r = reading({ namespaces: 3 });
    const [a, b, c] = r.subsystems[0].namespaces;
    b.wwid = '';
    c.wwid = a.wwid;
    const warnings: string[] = [];
    const t = buildTopology({ nvme: r }, new Map(), (w) => warnings.push(w));
    expect([...t.values()].map((m) => m.name)).toEqual(['nvme0n1']);
    expect(warnings).toEqual([
      'NVMe namespace nvme0n2 of nvme-subsys0 has no readable WWID: not published',
      `NVMe namespaces nvme0n1 and nvme0n3 report WWID ${a.wwid}: publishing nvme0n1 only`,
    ]);
  });
});
