// A client nobody here wrote by hand: gdbus-codegen generates C from the contract XML, gcc
// compiles generated-c-client.c against it, and it runs against the real service on a private
// bus. It reads every property of every object through the generated object manager and
// proxies, gets PathFailed and PathReinstated through the generated signal handlers, and
// fails and reinstates a path with the generated method calls.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mapObjectPath, pathObjectPath } from '../../src/frontends/dbus/api';
import { getManagedObjects } from '../../src/frontends/dbus/bus/connection';
import { buildGeneratedClient, CONTRACT } from '../helpers/generated-c-client';
import { BUS_NAME, ROOT_PATH, run, startHarness, type Harness } from '../helpers/service-harness';

let h: Harness;
let dir: string;
let client: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpd-generated-'));
  [h, client] = await Promise.all([startHarness('small'), buildGeneratedClient(dir, path.join(__dirname, 'generated-c-client.c'), 'generated-c-client')]);
}, 60_000);
afterAll(async () => {
  await h?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** interface -> its property names, from the XML. */
const contractProperties = new Map(
  [...fs.readFileSync(CONTRACT, 'utf8').matchAll(/<interface name="([^"]+)">([\s\S]*?)<\/interface>/g)].map((m) => [
    m[1],
    [...m[2].matchAll(/<property name="([^"]+)"/g)].map((p) => p[1]).sort(),
  ]),
);

/** GetManagedObjects' values as the client prints them (JSON: t as a number, a(ss) as arrays). */
const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x)));

it('reads every property, receives the path signals and manages a path, all through the generated code', async () => {
  const map = h.sim.maps()[0];
  const dev = map.paths[0].dev;
  const published = await getManagedObjects(h.client, BUS_NAME, ROOT_PATH);

  // The test's part, driven by what the client says: fail the path once it is subscribed,
  // reinstate it once the client has seen the failure.
  let failed = false;
  let reinstated = false;
  const r = await run(client, [h.bus.address], {
    killAfterMs: 40_000,
    onOutput: (out) => {
      if (!failed && out.includes('SUBSCRIBED\n')) {
        failed = true;
        h.kernel(h.sim.failPath(dev));
      }
      if (!reinstated && out.includes(`\tPathFailed\t${pathObjectPath(dev)}\t`)) {
        reinstated = true;
        h.kernel(h.sim.reinstatePath(dev));
      }
    },
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split('\n').map((l) => l.split('\t'));

  // Every property of every interface of every object, as GetManagedObjects has it.
  const read = new Map<string, Map<string, Record<string, unknown>>>();
  for (const [, object, iface, name, json] of lines.filter((l) => l[0] === 'PROP')) {
    const ifaces = read.get(object) ?? new Map<string, Record<string, unknown>>();
    ifaces.set(iface, { ...ifaces.get(iface), [name]: JSON.parse(json) });
    read.set(object, ifaces);
  }
  expect([...read.keys()].sort()).toEqual([...published.keys()].sort());
  expect(read.size).toBe(1 + h.sim.maps().length * 3 + h.sim.maps().reduce((n, m) => n + m.paths.length, 0));
  for (const [object, ifaces] of published) {
    for (const [iface, props] of ifaces) {
      expect(Object.keys(read.get(object)?.get(iface) ?? {}).sort(), `${object} ${iface}`).toEqual(contractProperties.get(iface));
      expect(read.get(object)!.get(iface), `${object} ${iface}`).toEqual(asJson(props));
    }
  }

  // The path signals, each as the service sent it: the test's failure and reinstatement,
  // then the client's own Fail and Reinstate.
  const got = lines.filter((l) => l[0] === 'SIGNAL').map((l) => l.slice(1));
  const sent = h.signals
    .filter((s) => /^Path(Failed|Reinstated)$/.test(s.member))
    .map((s) => [s.path, s.member, s.args[0], s.args[1], String(s.args[2]), String(s.args[4])]);
  expect(got).toEqual(sent);
  const valid = map.paths.length;
  expect(got.map((s) => [s[0], s[1], s[2], s[3], s[4]])).toEqual(
    ['PathFailed', 'PathReinstated', 'PathFailed', 'PathReinstated'].map((m) => [mapObjectPath(map.wwid), m, pathObjectPath(dev), map.paths[0].devT, String(m === 'PathFailed' ? valid - 1 : valid)]),
  );

  // Its Fail and Reinstate took effect: the generated getter read each new state, and the
  // service carried out multipathd's commands for uid 0.
  expect(lines.filter((l) => l[0] === 'EFFECT')).toEqual([
    ['EFFECT', pathObjectPath(dev), 'DmState', 'failed'],
    ['EFFECT', pathObjectPath(dev), 'DmState', 'active'],
  ]);
  for (const [method, command] of [
    ['Path.Fail', 'fail'],
    ['Path.Reinstate', 'reinstate'],
  ])
    expect(h.logs.some((l) => l.includes(`${method} on`) && l.includes('by uid 0: done') && l.includes(`MULTIPATH_COMMAND="${command} path ${dev}"`)), method).toBe(true);
  expect(h.sim.maps()[0].paths[0].failed).toBe(false);
});
