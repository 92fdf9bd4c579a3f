// One object path, one owner. Random sequences of topology changes (a map goes and another
// takes its device in the same read, two maps name one device or one WWID, maps come back)
// and kernel path events, against the real service on a real dbus-daemon. After every burst:
// every `o`/`ao` value names an exported object, every exported object is reachable from
// Maps/Paths, each device is published once, and a client that follows only the signals
// (InterfacesAdded/Removed, PropertiesChanged) holds exactly what GetManagedObjects says.
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_IFACE, mapObjectPath, PATH_IFACE, pathObjectPath, ROOT_PATH } from '../../src/frontends/dbus/api';
import { MultipathdSimulator } from '../../src/sim/simulator';
import type { SimMap } from '../../src/sim/topology';
import { assertObjectGraph } from '../helpers/object-graph';
import type { Signal } from '../helpers/service-harness';
import { ScriptedMultipathd, scriptedService, startPrivateBus, type PrivateBus } from '../helpers/scripted-service';

const RUNS = Number(process.env.FUZZ_RUNS) || 25;
const MAPS = 4;

type Objects = Map<string, Map<string, Record<string, unknown>>>;

let bus: PrivateBus;
beforeAll(async () => {
  bus = await startPrivateBus();
});
afterAll(async () => bus?.stop());

type Command =
  | { kind: 'fail' | 'reinstate'; dev: number }
  | { kind: 'remove' | 'add'; map: number }
  /** The map goes and `to` takes over its first device in the same read (a LUN swap reusing sdb). */
  | { kind: 'swap'; map: number; to: number }
  /** `to` lists a device of `map` as well. */
  | { kind: 'share'; map: number; to: number }
  /** `to` takes the WWID of `map`. */
  | { kind: 'same-wwid'; map: number; to: number };

const mapIndex = fc.nat({ max: MAPS - 1 });
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constantFrom('fail' as const, 'reinstate' as const), dev: fc.nat({ max: 2 * MAPS - 1 }) }),
  fc.record({ kind: fc.constantFrom('remove' as const, 'add' as const), map: mapIndex }),
  fc.record({ kind: fc.constantFrom('swap' as const, 'share' as const, 'same-wwid' as const), map: mapIndex, to: mapIndex }),
);

/** What a client following only the signals holds. */
function follow(mirror: Objects, s: Signal): void {
  const [path, body] = s.args as [string, unknown];
  if (s.member === 'InterfacesAdded') {
    const obj = mirror.get(path) ?? new Map();
    for (const [iface, props] of Object.entries(body as Record<string, Record<string, unknown>>)) obj.set(iface, { ...props });
    mirror.set(path, obj);
  } else if (s.member === 'InterfacesRemoved') {
    const obj = mirror.get(path);
    for (const iface of body as string[]) obj?.delete(iface);
    if (obj && obj.size === 0) mirror.delete(path);
  } else if (s.member === 'PropertiesChanged') {
    const [iface, changed] = s.args as [string, Record<string, unknown>];
    Object.assign(mirror.get(s.path)!.get(iface)!, changed);
  }
}

function apply(c: Command, maps: SimMap[], sim: MultipathdSimulator): Buffer[] {
  const devs = maps.flatMap((m) => m.paths);
  switch (c.kind) {
    case 'fail':
    case 'reinstate': {
      const p = devs[c.dev % devs.length];
      return p ? sim.topology.setPath(p.dev, c.kind === 'fail') : [];
    }
    case 'remove':
      return sim.removeMap(maps[c.map].name);
    case 'add':
      return sim.addMap(maps[c.map].name);
    case 'swap': {
      const [from, to] = [maps[c.map], maps[c.to]];
      const moved = from.paths.shift();
      if (moved && from !== to) to.paths.push(moved);
      else if (moved) from.paths.push(moved);
      return sim.removeMap(from.name);
    }
    case 'share': {
      const p = maps[c.map].paths[0];
      if (p && !maps[c.to].paths.includes(p)) maps[c.to].paths.push(p);
      return [];
    }
    case 'same-wwid':
      maps[c.to].wwid = maps[c.map].wwid;
      return [];
  }
}

async function world(sim: MultipathdSimulator) {
  const s = await scriptedService(bus, { multipathd: new ScriptedMultipathd(() => sim.showMapsJson()), dm: sim });
  await s.service.start();
  return s;
}

describe('object ownership', () => {
  it('two maps naming one device, and two maps with one WWID: each published once, and the log says which', async () => {
    const sim = new MultipathdSimulator({ socket: '@unused', topology: { maps: 3, pathsPerMap: 2 } });
    const [a, b, c] = sim.topology.maps;
    b.paths.push(a.paths[0]);
    c.wwid = a.wwid;
    const s = await world(sim);
    try {
      const objects = await s.objects();
      assertObjectGraph(objects);
      expect(objects.get(pathObjectPath(a.paths[0].dev))!.get(PATH_IFACE)!.Map).toBe(mapObjectPath(a.wwid));
      expect(s.logs.join('')).toContain(`object ${a.paths[0].dev} is listed by map ${a.name} and by map ${b.name}: published under ${a.name} only`);
      expect(s.logs.join('')).toMatch(new RegExp(`lists WWID ${a.wwid} twice: publishing map ${a.name}, ignoring map ${c.name}`));
    } finally {
      await s.stop();
    }
  });

  it('property: after every burst the object graph is whole and the signals tell it exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 12 }), async (commands) => {
        const sim = new MultipathdSimulator({ socket: '@unused', topology: { maps: MAPS, pathsPerMap: 2 } });
        const maps = sim.topology.maps;
        const s = await world(sim);
        try {
          const mirror: Objects = await s.objects();
          let seen = s.signals.length;
          let published = new Map(maps.map((m) => [m.wwid, m])); // the start: one map per WWID
          for (const c of commands) {
            s.service.handleDatagram(Buffer.alloc(0)); // a malformed datagram on the way costs nothing
            for (const d of apply(c, maps, sim)) s.service.handleDatagram(d);
            // The kernel's burst (and whatever read it started), then the read that sees the change.
            for (const stage of ['kernel events', 'refresh']) {
              if (stage === 'refresh') expect(await s.refresh()).toBe('');
              const now = await s.objects();
              for (const sig of s.signals.slice(seen, s.signalsBeforeLastReply)) follow(mirror, sig);
              seen = s.signalsBeforeLastReply;
              assertObjectGraph(now);
              expect(mirror, `a client following the signals, after the ${stage} of ${JSON.stringify(c)}`).toEqual(now);
            }
            const objects = await s.objects();

            // The map already published under a WWID keeps it; else the first present map listed takes it.
            // Each device the winner names is published once.
            const winners = new Map<string, SimMap>();
            for (const m of maps) if (m.present && published.get(m.wwid) === m) winners.set(m.wwid, m);
            for (const m of maps) if (m.present && !winners.has(m.wwid)) winners.set(m.wwid, m);
            published = winners;
            const manager = objects.get(ROOT_PATH)!.get(MANAGER_IFACE)!;
            expect(new Set(manager.Maps as string[])).toEqual(new Set([...winners.keys()].map(mapObjectPath)));
            const devices = new Set([...winners.values()].flatMap((m) => m.paths.map((p) => pathObjectPath(p.dev))));
            expect(new Set(manager.Paths as string[])).toEqual(devices);
          }
          expect(s.logs.filter((l) => l.includes('internal error'))).toEqual([]);
        } finally {
          await s.stop();
        }
      }),
      // The LUN swap: mpathb goes and mpatha takes its device in the same read; then mpatha goes too.
      // A map comes back repeating the WWID another map took meanwhile: the published map keeps it.
      {
        numRuns: RUNS,
        timeout: 20_000,
        examples: [
          [[{ kind: 'swap', map: 1, to: 0 }, { kind: 'remove', map: 0 }]],
          [[{ kind: 'same-wwid', map: 2, to: 1 }, { kind: 'swap', map: 1, to: 0 }, { kind: 'swap', map: 1, to: 0 }, { kind: 'add', map: 1 }, { kind: 'fail', dev: 0 }]],
        ],
      },
    );
  }, 180_000);
});
