// dbus/org.kernel.linux.storage.multipath1.xml is the API contract. Everything else that
// states the API is held to it: the live introspection of every kind of object member for
// member, the service's tables (src/frontends/dbus/api.ts), the Cockpit page's view of the objects
// (cockpit/src/api.ts) and the README's D-Bus API section. A change in one place that the
// others do not follow fails here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupObjectPath, MANAGER, MAP, MAP_SUMMARY, MAP_SUMMARY_FIELDS, mapObjectPath, PATH, PATH_GROUP, pathObjectPath } from '../../../src/frontends/dbus/api';
import type { ArgSpec, InterfaceSpec } from '../../../src/frontends/dbus/bus/interface-spec';
import { BUS_NAME, ROOT_PATH, run, startHarness, type Harness } from '../../helpers/service-harness';

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

const REPO = path.resolve(__dirname, '../../..');
const contract = parseIntrospection(fs.readFileSync(path.resolve(__dirname, '../../../dbus/org.kernel.linux.storage.multipath1.xml'), 'utf8'));

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

  it('no interface uses a name for two members (cockpit.js and other proxy generators refuse it)', () => {
    for (const [name, i] of contract) {
      const names = i.members.map((m) => m.split(/[ (]/)[1]);
      expect(names.filter((n, k) => names.indexOf(n) !== k), name).toEqual([]);
    }
  });

  it('every property is read-only', () => {
    for (const [, i] of contract) for (const m of i.members.filter((x) => x.startsWith('property'))) expect(m).toMatch(/ read$/);
  });
});

/** The same member descriptions, from one of the service's tables. */
function describeSpec(spec: InterfaceSpec): string[] {
  const arg = (a: ArgSpec, dir: string) => `${dir} ${a.type} ${a.name}`.trim();
  return [
    ...spec.methods.map((m) => `method ${m.name}(${[...m.in.map((a) => arg(a, 'in')), ...m.out.map((a) => arg(a, 'out'))].join(', ')})`),
    ...spec.signals.map((sig) => `signal ${sig.name}(${sig.args.map((a) => arg(a, '')).join(', ')})`),
    ...spec.properties.map((p) => `property ${p.name} ${p.type} read`),
  ].sort();
}

const short = (iface: string) => iface.slice(BUS_NAME.length + 1);
const propertiesOf = (iface: string) =>
  new Map(contract.get(`${BUS_NAME}.${iface}`)!.members.flatMap((m) => (m.startsWith('property ') ? [m.split(' ').slice(1, 3) as [string, string]] : [])));

describe('what else states the API agrees with the contract', () => {
  it.each([MANAGER, MAP, PATH_GROUP, PATH].map((spec) => [short(spec.name), spec] as const))('the service table of %s (src/frontends/dbus/api.ts)', (_name, spec) => {
    expect(describeSpec(spec)).toEqual(contract.get(spec.name)!.members);
  });

  it("GetMapSummaries' struct is its object path, the Map properties it names with their types, and its paths' names", () => {
    const map = propertiesOf('Map');
    expect(MAP_SUMMARY).toBe(`(o${MAP_SUMMARY_FIELDS.map((f) => map.get(f)).join('')}as)`);
    expect(contract.get(`${BUS_NAME}.Manager`)!.members).toContain(`method GetMapSummaries(in s after, in u max, in a{sv} options, out a${MAP_SUMMARY} maps, out s next, out t serial)`);
  });

  it("the Cockpit page's property types (cockpit/src/api.ts) name contract properties, with the TypeScript type of their D-Bus type", () => {
    const source = fs.readFileSync(path.join(REPO, 'cockpit/src/api.ts'), 'utf8');
    const ifaceOf: Record<string, string> = { ManagerProps: 'Manager', MapProps: 'Map', GroupProps: 'PathGroup', PathProps: 'Path' };
    const tsType = (dbus: string) => (/^[so]$/.test(dbus) ? /^(string|Health|Kind)$/ : dbus === 'b' ? /^boolean$/ : /^[utiqnxy]$/.test(dbus) ? /^number$/ : /^a[os]$/.test(dbus) ? /^string\[\]$/ : /^never$/);
    const seen = new Set<string>();
    for (const block of source.matchAll(/export interface (\w+Props) \{([^}]*)\}/g)) {
      const iface = ifaceOf[block[1]];
      expect(iface, `${block[1]} is one of the four interfaces`).toBeDefined();
      seen.add(iface);
      const props = propertiesOf(iface);
      for (const [, name, type] of block[2].matchAll(/^\s*(\w+): ([^;]+);/gm)) {
        expect(props.has(name), `${iface}.${name} is in the contract`).toBe(true);
        expect(type, `${iface}.${name} (${props.get(name)})`).toMatch(tsType(props.get(name)!));
      }
    }
    expect([...seen].sort()).toEqual(['Manager', 'Map', 'Path', 'PathGroup']);
    const summaryFields = [...(source.match(/MAP_SUMMARY_FIELDS = \[([^\]]*)\]/)?.[1] ?? '').matchAll(/'(\w+)'/g)].map((m) => m[1]);
    expect(summaryFields, "the page reads GetMapSummaries' fields in the service's order").toEqual([...MAP_SUMMARY_FIELDS]);
    const signals = contract.get(`${BUS_NAME}.Map`)!.members.filter((m) => m.startsWith('signal ')).map((m) => m.slice(7, m.indexOf('(')));
    const pageSignals = [...(source.match(/MAP_SIGNALS = \[([^\]]*)\]/)?.[1] ?? '').matchAll(/'(\w+)'/g)].map((m) => m[1]);
    expect(pageSignals.sort()).toEqual(signals.sort());
  });

  it("the README's D-Bus API section lists every property with its type, and names every method and signal", () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    for (const iface of ['Manager', 'Map', 'PathGroup', 'Path']) {
      const paragraph = readme.match(new RegExp(`^\\*\\*${iface}\\*\\* — ([\\s\\S]*?)\\n\\n`, 'm'))?.[1];
      expect(paragraph, `README paragraph **${iface}** —`).toBeDefined();
      // The properties come before the methods and signals; prose in parentheses is not a property.
      let props = paragraph!.split(/Methods:|Signals?[,:]/)[0];
      while (/\s\([^()]*\)/.test(props)) props = props.replace(/\s\([^()]*\)/g, '');
      const listed = new Map([...props.matchAll(/`([A-Z]\w*)`(?: ([a-z{}()]+)(?=[,.]|\s|$))?/g)].map((m) => [m[1], m[2] ?? 's']));
      expect(listed, iface).toEqual(propertiesOf(iface));
    }
    for (const [, i] of contract) {
      for (const m of i.members.filter((x) => !x.startsWith('property '))) {
        const name = m.slice(m.indexOf(' ') + 1, m.indexOf('('));
        expect(readme, `${m} is documented`).toMatch(new RegExp(`\\b${name}\\(`));
      }
    }
  });
});
