// Reads in a row on one store, as the engine makes them: one where a few maps' states move
// leaves the others' snapshots as they were (without working out who owns each path again),
// and a path named by two maps keeps one owner through every kind of read while it lasts.
import { describe, expect, it } from 'vitest';
import { MultipathdSimulator } from '../../src/sim/simulator';
import { readDmMultipathMaps } from '../../src/sources/device-mapper/reader';
import { parseShowMaps } from '../../src/sources/multipathd/maps-json';
import type { DmMapView } from '../../src/model/readings';
import { TopologyStore } from '../../src/model/store';

/** What device-mapper said of each map at the last read. */
let views = new Map<string, DmMapView>();

/**
 * A read of both sources, or (`only`) the device-mapper watch's read of that map alone: the
 * others' views are the objects the last read gave, as DeviceMapperSource keeps them.
 */
function read(store: TopologyStore, sim: MultipathdSimulator, only?: string) {
  const mpd = parseShowMaps(sim.showMapsJson());
  const dm = readDmMultipathMaps(sim, () => undefined, (d) => (only !== undefined && d.name !== only ? views.get(d.name) : undefined));
  if (!mpd.ok || !dm.ok) throw new Error('unreadable');
  views = new Map(dm.value.maps.map((m) => [m.name, m]));
  const warnings: string[] = [];
  const changed = store.applyReadings({ multipathd: only === undefined ? mpd.value.maps : undefined, dm: dm.value.maps }, (m) => warnings.push(m));
  return { changed: changed.map((c) => c.next?.name), warnings };
}

describe('reads in a row', () => {
  it('a path named by two maps has one owner at every read, also after reads that moved only states', () => {
    const sim = new MultipathdSimulator({ socket: '@unused', topology: { maps: 3, pathsPerMap: 2 } });
    const [a, b, c] = sim.topology.maps;
    const store = new TopologyStore();
    expect(read(store, sim).warnings).toEqual([]);

    // A state moved in one map: the others are the very snapshots they were.
    const before = new Map(store.topology);
    sim.topology.switchGroup(c, 2);
    expect(read(store, sim, c.name)).toEqual({ changed: [c.name], warnings: [] });
    expect(store.topology.get(a.wwid)).toBe(before.get(a.wwid));
    expect(store.topology.get(b.wwid)).toBe(before.get(b.wwid));

    // b lists a's first path as well (multipathd and device-mapper): a keeps it.
    b.paths.push(a.paths[0]);
    const shared = `object ${a.paths[0].dev} is listed by map ${a.name} and by map ${b.name}: published under ${a.name} only`;
    expect(read(store, sim).warnings).toEqual([shared]);
    const devices = (wwid: string) => [...store.topology.get(wwid)!.paths.values()].map((p) => p.device);
    expect(devices(b.wwid)).toEqual(b.paths.slice(0, 2).map((p) => p.dev));
    // While it lasts, a read of another map alone keeps b as it was published, without it;
    // a read of both sources says so again.
    sim.topology.switchGroup(c, 1);
    expect(read(store, sim, c.name)).toEqual({ changed: [c.name], warnings: [] });
    expect(devices(b.wwid)).toEqual(b.paths.slice(0, 2).map((p) => p.dev));
    sim.topology.switchGroup(a, 2);
    expect(read(store, sim)).toEqual({ changed: [a.name], warnings: [shared] });
    expect(devices(a.wwid)).toEqual(a.paths.map((p) => p.dev));
    expect(devices(b.wwid)).toEqual(b.paths.slice(0, 2).map((p) => p.dev));

    // Back to one map each; then a state moving is a change of that map alone again.
    b.paths.pop();
    expect(read(store, sim).warnings).toEqual([]);
    sim.topology.switchGroup(a, 1);
    expect(read(store, sim, a.name)).toEqual({ changed: [a.name], warnings: [] });
    expect(devices(a.wwid)).toEqual(a.paths.map((p) => p.dev));
  });
});
