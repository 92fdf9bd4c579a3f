// Values D-Bus forbids, from multipathd, through parser -> model -> publisher into a real
// dbus-daemon. The daemon drops a sender whose message holds a NUL or invalid UTF-8, and an
// int32 out of range cannot be marshalled: the gate must repair each value, keep its
// object, and leave every other object as it would be.
import { spawn } from 'node:child_process';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUS_NAME, MAP_IFACE, mapObjectPath, PATH_IFACE, pathObjectPath, ROOT_PATH } from '../../src/frontends/dbus/api';
import { callMethod } from '../../src/frontends/dbus/bus/connection';
import { MultipathdSimulator } from '../../src/sim/simulator';
import { SimTopology } from '../../src/sim/topology';
import { assertObjectGraph } from '../helpers/object-graph';
import { CLI, run } from '../helpers/service-harness';
import { ScriptedMultipathd, scriptedService, startPrivateBus, type PrivateBus, type ScriptedService } from '../helpers/scripted-service';

const RUNS = Number(process.env.FUZZ_RUNS) || 40;

type Doc = { maps: Record<string, unknown>[] };
const sim = new SimTopology({ maps: 3, pathsPerMap: 2 });
const clean = (): Doc => JSON.parse(sim.showMapsJson()) as Doc;
const groupOf = (d: Doc, m: number) => (d.maps[m].path_groups as Record<string, unknown>[])[0];
const pathOf = (d: Doc, m: number) => (groupOf(d, m).paths as Record<string, unknown>[])[0];

let bus: PrivateBus;
beforeAll(async () => {
  bus = await startPrivateBus();
});
afterAll(async () => bus?.stop());

/** Start a service on `reply`; the test's body runs with it, then it stops whatever happened. */
async function withService(reply: string, body: (s: ScriptedService) => Promise<void>): Promise<void> {
  const s = await scriptedService(bus, { multipathd: new ScriptedMultipathd(reply) });
  try {
    await s.service.start();
    await body(s);
  } finally {
    await s.stop();
  }
}

/** The service is still on the bus: it owns the name and answers through it. */
async function assertServing(s: ScriptedService): Promise<void> {
  expect(s.conn.connected).toBe(true);
  await callMethod(s.client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.Peer', 'Ping', '', []);
}

/** The objects maps 0 and 1 contribute: what must stay exactly as it is. */
function objectsOf(objects: Map<string, Map<string, Record<string, unknown>>>, maps: number[]) {
  const out = new Map<string, unknown>();
  for (const m of maps) {
    const view = sim.maps[m];
    for (const [path, ifaces] of objects) {
      const mine = path.startsWith(mapObjectPath(view.wwid)) || view.paths.some((p) => path === pathObjectPath(p.dev));
      if (mine) out.set(path, ifaces);
    }
  }
  return out;
}

describe('values D-Bus forbids', () => {
  it('a NUL in a vendor and a priority of 3000000000 at start: the name is owned, every map is there, one warning each', async () => {
    const doc = clean();
    doc.maps[0].vend = 'AC\u0000ME';
    pathOf(doc, 1).pri = 3000000000;
    await withService(JSON.stringify(doc), async (s) => {
      await assertServing(s);
      const objects = await s.objects();
      for (const m of sim.maps) expect(objects.has(mapObjectPath(m.wwid))).toBe(true);
      expect(objects.get(mapObjectPath(sim.maps[0].wwid))!.get(MAP_IFACE)!.Vendor).toBe('AC\ufffdME');
      expect(objects.get(pathObjectPath(sim.maps[1].paths[0].dev))!.get(PATH_IFACE)!.Priority).toBe(2147483647);
      const warnings = s.logs.filter((l) => /Vendor holds a NUL|Priority 3000000000/.test(l));
      expect(warnings).toEqual([
        expect.stringMatching(/map mpatha \(.*\): Vendor holds a NUL or invalid UTF-8/),
        expect.stringMatching(/path sdc of map mpathb: Priority 3000000000 is outside int32; published as 2147483647/),
      ]);
      // The same data read again is not warned about again.
      expect(await s.refresh()).toBe('');
      expect(s.logs.filter((l) => /Vendor holds a NUL|Priority 3000000000/.test(l))).toHaveLength(2);
    });
  });

  it('`serve` as systemd starts it, on a multipathd whose vendor holds a NUL: owns the name, publishes the map, exits 0 on SIGTERM', async () => {
    const socket = `@multipath-dbus-forbidden-${process.pid}`;
    const mpd = new MultipathdSimulator({ socket, topology: { maps: 2, pathsPerMap: 2, vendor: 'AC\u0000ME', product: 'x"y' } });
    await mpd.listen();
    const child = spawn(CLI, ['serve', '--enable', '--no-kernel', '--bus', bus.address, '--socket', socket, '--refresh-interval', '0', '--config', '/nonexistent']);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      // The service logs its "serving" line once it owns the name.
      const end = Date.now() + 15_000;
      while (!stderr.includes('serving 2 maps')) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`serve never owned the name: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const r = await run('busctl', [`--address=${bus.address}`, '--json=short', 'get-property', BUS_NAME, mapObjectPath(sim.maps[0].wwid), MAP_IFACE, 'Vendor']);
      expect(JSON.parse(r.stdout).data).toBe('AC\ufffdME');
      expect(stderr).toMatch(/warning: map mpatha \(.*\): Vendor holds a NUL/);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await mpd.close();
    }
  });

  it('the same values arriving with a later read: the flush goes out, the connection stays', async () => {
    const ms = new ScriptedMultipathd(sim.showMapsJson());
    const s = await scriptedService(bus, { multipathd: ms });
    try {
      await s.service.start();
      const doc = clean();
      doc.maps[2].prod = '\ud800x\u0000';
      groupOf(doc, 2).pri = -3000000000;
      ms.maps = JSON.stringify(doc);
      expect(await s.refresh()).toBe('');
      await assertServing(s);
      const objects = await s.objects();
      expect(objects.get(mapObjectPath(sim.maps[2].wwid))!.get(MAP_IFACE)!.Product).toBe('\ufffdx\ufffd');
      expect(objects.get(`${mapObjectPath(sim.maps[2].wwid)}/group1`)!.get(`${BUS_NAME}.PathGroup`)!.Priority).toBe(-2147483648);
    } finally {
      await s.stop();
    }
  });

  it('property: arbitrary strings and numbers in one map never cost the connection or another map', async () => {
    let baseline = new Map<string, unknown>();
    await withService(sim.showMapsJson(), async (s) => {
      baseline = objectsOf(await s.objects(), [0, 1]);
    });
    expect(baseline.size).toBe(2 * (1 + 2 + 2));

    const char = fc.oneof(
      fc.constantFrom('\u0000', '\ud800', '\udfff', '\ufffe', '"', '\\', '[', '{', '\n', '/', ':'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    );
    const value = fc.oneof(
      fc.string({ unit: char, maxLength: 12 }),
      fc.constantFrom(3000000000, -1, 2 ** 32, 2 ** 53, -(2 ** 31) - 1, 1e300, 0.5, -0),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
    );
    const level = fc.constantFrom('map', 'group', 'path');
    const mapKeys = ['name', 'uuid', 'sysfs', 'failback', 'queueing', 'write_prot', 'dm_st', 'features', 'hwhandler', 'path_faults', 'vend', 'prod', 'rev', 'switch_grp', 'map_loads', 'q_timeouts'];
    const groupKeys = ['selector', 'pri', 'dm_st', 'group', 'marginal_st'];
    const pathKeys = ['dev', 'dev_t', 'dm_st', 'dev_st', 'chk_st', 'checker', 'pri', 'host_wwnn', 'host_wwpn', 'target_wwnn', 'target_wwpn', 'host_adapter', 'lun_hex', 'marginal_st'];
    const edit = fc.record({ level, key: fc.nat(), value });

    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 6 }), async (edits) => {
        const doc = clean();
        for (const e of edits) {
          const [target, keys] = e.level === 'map' ? [doc.maps[2], mapKeys] : e.level === 'group' ? [groupOf(doc, 2), groupKeys] : [pathOf(doc, 2), pathKeys];
          target[keys[e.key % keys.length]] = e.value;
        }
        await withService(JSON.stringify(doc), async (s) => {
          await assertServing(s);
          const objects = await s.objects();
          expect(objectsOf(objects, [0, 1])).toEqual(baseline);
          assertObjectGraph(objects);
          const identity = doc.maps[2].uuid;
          if (identity === sim.maps[2].wwid) expect(objects.has(mapObjectPath(sim.maps[2].wwid))).toBe(true);
          await assertServing(s);
        });
      }),
      { numRuns: RUNS, timeout: 20_000 },
    );
  }, 120_000);
});
