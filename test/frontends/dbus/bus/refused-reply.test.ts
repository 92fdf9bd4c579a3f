// A GetManagedObjects whose reply would be past the message size limit is refused
// (LimitsExceeded). Finding that out must not cost a walk over every object: with 16 such
// calls in flight, one uid kept a core busy and root's calls waited behind them. An
// ObjectServer with the real tables and thousands of path objects on a real dbus-daemon;
// costs are this process's CPU (server and client alike), as ratios to Properties.Get
// measured in the same run, so a slower machine changes both sides alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUS_NAME, PATH_IFACE, pathObjectPath } from '../../../../src/frontends/dbus/api';
import { callMethod } from '../../../../src/frontends/dbus/bus/connection';
import { exportPathObjects, pathDevice as dev, pathValues as values, type PathObjects } from '../../../helpers/path-objects';

const OBJECTS = 16_000;
/** About two thirds of the objects' entries: a refusal used to walk that many. */
const LIMIT = 8 * 1024 * 1024;
const CALLS = 160;
const IN_FLIGHT = 16;

let o: PathObjects;
beforeAll(async () => {
  o = await exportPathObjects(OBJECTS, {}, LIMIT);
}, 60_000);

afterAll(async () => o?.stop());

const getManagedObjects = () => o.getManagedObjects();
const outcome = (p: Promise<unknown>) => p.then(
  () => 'answered',
  (e: Error) => (/LimitsExceeded/.test(e.message) ? 'refused' : e.message),
);

/** CPU µs of this process for CALLS calls, IN_FLIGHT at a time, and what each came to. */
async function cpuOf(call: () => Promise<unknown>): Promise<{ us: number; outcomes: Set<string> }> {
  const outcomes = new Set<string>();
  let left = CALLS;
  const c0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (left-- > 0) outcomes.add(await outcome(call()));
    }),
  );
  const c = process.cpuUsage(c0);
  return { us: c.user + c.system, outcomes };
}

describe('a GetManagedObjects too large to send', () => {
  it('is refused for about what a Properties.Get costs, however many objects there are', async () => {
    // The first refusal marshals the entries it needs to know (kept for later replies and pages).
    expect(await outcome(getManagedObjects())).toBe('refused');
    const get = () => callMethod(o.client, BUS_NAME, pathObjectPath(dev(0)), 'org.freedesktop.DBus.Properties', 'Get', 'ss', [PATH_IFACE, 'DevT']);
    const gets = await cpuOf(get);
    const refusals = await cpuOf(getManagedObjects);
    expect([...gets.outcomes]).toEqual(['answered']);
    expect([...refusals.outcomes]).toEqual(['refused']);
    // Walking the objects made each refusal cost 10-30 Gets; an error reply costs about one.
    expect(refusals.us / gets.us).toBeLessThan(3);
  }, 60_000);

  it('is charged what it marshalled: the entries it made the first time, nothing more while nothing changes', async () => {
    o.server.setObject(pathObjectPath(dev(1)), new Map([[PATH_IFACE, values(1, 'directio')]]));
    o.charged.length = 0;
    expect(await outcome(getManagedObjects())).toBe('refused');
    // At most the one changed entry (if the known total fell below the limit without it).
    expect(o.charged.length).toBe(1);
    expect(o.charged[0]).toBeLessThan(4096);
    expect(await outcome(getManagedObjects())).toBe('refused');
    expect(o.charged[1]).toBe(0);
  });

  it('follows the objects: answered once enough are removed, refused again when one grows past the limit', async () => {
    const KEPT = 1000;
    for (let i = KEPT; i < OBJECTS; i++) o.server.removeObject(pathObjectPath(dev(i)));
    expect(await outcome(getManagedObjects())).toBe('answered');
    o.server.setObject(pathObjectPath(dev(0)), new Map([[PATH_IFACE, values(0, 'v'.repeat(LIMIT))]]));
    expect(await outcome(getManagedObjects())).toBe('refused');
    o.server.setObject(pathObjectPath(dev(0)), new Map([[PATH_IFACE, values(0)]]));
    const [objects] = (await getManagedObjects()) as [Record<string, unknown>];
    expect(Object.keys(objects)).toHaveLength(KEPT);
  });
});
