// dbus/org.kernel.linux.storage.multipath1.xml is the API contract: the live introspection
// of every kind of object must match it member for member.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupObjectPath, mapObjectPath, pathObjectPath } from '../../src/dbus/api';
import { BUS_NAME, ROOT_PATH, run, startHarness, type Harness } from '../helpers/service-harness';

interface Iface {
  members: string[];
}

/** interface name -> sorted member descriptions ("method Name(in t since, out b complete)", "property X a(ss) read"). */
function parseIntrospection(xml: string): Map<string, Iface> {
  const out = new Map<string, Iface>();
  for (const m of xml.matchAll(/<interface name="([^"]+)">([\s\S]*?)<\/interface>/g)) {
    const members: string[] = [];
    for (const x of m[2].matchAll(/<(method|signal) name="([^"]+)"\s*(?:\/>|>([\s\S]*?)<\/\1>)/g)) {
      const args = [...(x[3] ?? '').matchAll(/<arg ([^>]*)\/>/g)].map((a) => {
        const attr = (n: string) => a[1].match(new RegExp(`${n}="([^"]*)"`))?.[1] ?? '';
        return `${attr('direction') || (x[1] === 'method' ? 'in' : '')} ${attr('type')} ${attr('name')}`.trim();
      });
      members.push(`${x[1]} ${x[2]}(${args.join(', ')})`);
    }
    for (const p of m[2].matchAll(/<property name="([^"]+)" type="([^"]+)" access="([^"]+)"/g)) members.push(`property ${p[1]} ${p[2]} ${p[3]}`);
    out.set(m[1], { members: members.sort() });
  }
  return out;
}

const contract = parseIntrospection(fs.readFileSync(path.resolve(__dirname, '../../dbus/org.kernel.linux.storage.multipath1.xml'), 'utf8'));

let h: Harness;
beforeAll(async () => {
  h = await startHarness('small');
});
afterAll(async () => h?.stop());

async function live(objectPath: string): Promise<Map<string, Iface>> {
  const r = await run('gdbus', ['introspect', '--address', h.bus.address, '--dest', BUS_NAME, '--object-path', objectPath, '--xml']);
  expect(r.code, r.stderr).toBe(0);
  return parseIntrospection(r.stdout);
}

describe('the introspection contract', () => {
  it('the contract file names the four interfaces of the README D-Bus API section', () => {
    expect([...contract.keys()]).toEqual(['Manager', 'Map', 'PathGroup', 'Path'].map((i) => `${BUS_NAME}.${i}`));
    expect(contract.get(`${BUS_NAME}.Map`)!.members).toContain('signal PathFailed(o path, s dev_t, u valid_paths, u dm_seqnum, t serial)');
  });

  it.each([
    ['manager', (): string => ROOT_PATH, ['Manager']],
    ['map', (): string => mapObjectPath(h.sim.maps()[0].wwid), ['Map']],
    ['path group', (): string => groupObjectPath(h.sim.maps()[0].wwid, 1), ['PathGroup']],
    ['path', (): string => pathObjectPath(h.sim.maps()[0].paths[0].dev), ['Path']],
  ] as const)('the live %s object matches it', async (_kind, objectPath, ifaces) => {
    const got = await live(objectPath());
    for (const i of ifaces) expect(got.get(`${BUS_NAME}.${i}`), i).toEqual(contract.get(`${BUS_NAME}.${i}`));
    const ours = [...got.keys()].filter((k) => k.startsWith(BUS_NAME));
    expect(ours).toEqual(ifaces.map((i) => `${BUS_NAME}.${i}`));
    if (objectPath() === ROOT_PATH) expect(got.has('org.freedesktop.DBus.ObjectManager')).toBe(true);
    expect(got.has('org.freedesktop.DBus.Properties')).toBe(true);
  });

  it('every property is read-only', () => {
    for (const [, i] of contract) for (const m of i.members.filter((x) => x.startsWith('property'))) expect(m).toMatch(/ read$/);
  });
});
