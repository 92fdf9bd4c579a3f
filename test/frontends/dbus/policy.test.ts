// The access policy, as an unprivileged uid sees it on a bus that includes our exact policy
// file (dbus/org.kernel.linux.storage.multipath1.conf), against the live service: every
// allow rule lets its call through, every deny rule and everything the file does not allow
// is stopped by dbus-daemon itself, and what the file allows is exactly what exists.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_IFACE, MAP_IFACE, PATH_IFACE, mapObjectPath, pathObjectPath } from '../../../src/frontends/dbus/api';
import { NOBODY, POLICY_FILE, runAs } from '../../helpers/dbus-daemon';
import { BUS_NAME, ROOT_PATH, run, startHarness, type Harness } from '../../helpers/service-harness';
import { worldReadable } from '../../helpers/world-readable-copy';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('small');
});
afterAll(async () => h?.stop());

interface Rule {
  kind: 'allow' | 'deny';
  attrs: Record<string, string>;
}

/** The rules of one <policy> element of the file, in order. */
function rules(policyAttr: string): Rule[] {
  const xml = fs.readFileSync(POLICY_FILE, 'utf8').replace(/<!--[\s\S]*?-->/g, '');
  const body = new RegExp(`<policy ${policyAttr}>([\\s\\S]*?)</policy>`).exec(xml)?.[1];
  if (body === undefined) throw new Error(`no <policy ${policyAttr}> in ${POLICY_FILE}`);
  return [...body.matchAll(/<(allow|deny)\s([^>]*?)\/>/g)].map((m) => ({
    kind: m[1] as Rule['kind'],
    attrs: Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1], a[2]])),
  }));
}
const DEFAULT = rules('context="default"');
const sendRule = (r: Rule) => `${r.attrs.send_interface}.${r.attrs.send_member}`;

const map = () => mapObjectPath(h.sim.maps()[0].wwid);
const dev = () => h.sim.maps()[0].paths[0].dev;
const PROPS = 'org.freedesktop.DBus.Properties';

interface Call {
  path: string;
  signature?: string;
  body?: unknown[];
}
const at = (path: string, signature?: string, ...body: unknown[]): Call => ({ path, signature, body });

/** Each allowed method, called as a client would. */
const ALLOWED: Record<string, () => Call> = {
  'org.freedesktop.DBus.Introspectable.Introspect': () => at(map()),
  'org.freedesktop.DBus.Peer.Ping': () => at(ROOT_PATH),
  'org.freedesktop.DBus.Peer.GetMachineId': () => at(ROOT_PATH),
  [`${PROPS}.Get`]: () => at(ROOT_PATH, 'ss', MANAGER_IFACE, 'Health'),
  [`${PROPS}.GetAll`]: () => at(map(), 's', MAP_IFACE),
  'org.freedesktop.DBus.ObjectManager.GetManagedObjects': () => at(ROOT_PATH),
  [`${MANAGER_IFACE}.GetEvents`]: () => at(ROOT_PATH, 'tu', 0, 10),
  [`${MANAGER_IFACE}.Refresh`]: () => at(ROOT_PATH),
  [`${MANAGER_IFACE}.GetManagedObjectsPage`]: () => at(ROOT_PATH, 'su', '', 10),
  [`${MANAGER_IFACE}.GetMapSummaries`]: () => at(ROOT_PATH, 'sua{sv}', '', 10, {}),
};

/** Each denied call, with what the service itself answers root (who may send anything). */
const DENIED: Record<string, { call: () => Call; serviceSays: string }> = {
  [`${PROPS}.Set`]: { call: () => at(ROOT_PATH, 'ssv', MANAGER_IFACE, 'Health', { variant: ['s', 'optimal'] }), serviceSays: 'org.freedesktop.DBus.Error.PropertyReadOnly' },
};

/** Management methods: the bus lets them through, the service asks polkit (not running on
 * this bus, so only root may act). Sent as uid 65534 only: root would really act. */
const MANAGED: Record<string, () => Call> = {
  [`${MANAGER_IFACE}.Reconfigure`]: () => at(ROOT_PATH, 'a{sv}', {}),
  [`${MAP_IFACE}.SwitchGroup`]: () => at(map(), 'ua{sv}', 1, {}),
  [`${MAP_IFACE}.SetQueueing`]: () => at(map(), 'ba{sv}', false, {}),
  [`${MAP_IFACE}.Resize`]: () => at(map(), 'a{sv}', {}),
  [`${PATH_IFACE}.Fail`]: () => at(pathObjectPath(dev()), 'a{sv}', {}),
  [`${PATH_IFACE}.Reinstate`]: () => at(pathObjectPath(dev()), 'a{sv}', {}),
};

/** Not in the file at all: names that do not exist. The bus stops them; root learns from
 * the service that they do not exist. */
const NONEXISTENT: Record<string, () => Call> = {
  [`${MANAGER_IFACE}.Frobnicate`]: () => at(ROOT_PATH),
  [`${MAP_IFACE}.Frobnicate`]: () => at(map()),
  [`${PATH_IFACE}.Frobnicate`]: () => at(pathObjectPath(dev())),
  'org.freedesktop.DBus.Introspectable.Frobnicate': () => at(ROOT_PATH),
};

type Answer = { ok: true } | { ok: false; error: string; text: string };

/** Make the calls as `uid`, one connection for all, through test/helpers/bus-call.js. */
async function callAs(uid: number, calls: Record<string, Call>): Promise<Record<string, Answer>> {
  const messages = Object.entries(calls).map(([name, c]) => {
    const dot = name.lastIndexOf('.');
    return { destination: BUS_NAME, interface: name.slice(0, dot) || undefined, member: name.slice(dot + 1), ...c };
  });
  // From the world-readable copy: uid 65534 may not be able to enter the checkout.
  const args = [worldReadable('test/helpers/bus-call.js'), h.bus.address, JSON.stringify(messages)];
  const r = uid === 0 ? await run(process.execPath, args) : await runAs(uid, process.execPath, args);
  if (r.code !== 0) throw new Error(`bus-call as ${uid}: ${r.stderr}`);
  const answers = JSON.parse(r.stdout) as Answer[];
  return Object.fromEntries(Object.keys(calls).map((name, i) => [name, answers[i]]));
}
/** dbus-daemon's own refusal, not an error the service sent. */
const refusedByBus = (a: Answer) => !a.ok && a.error === 'org.freedesktop.DBus.Error.AccessDenied' && a.text.startsWith('Rejected send message');

const build = <T,>(table: Record<string, T>, f: (t: T) => Call) => Object.fromEntries(Object.entries(table).map(([k, v]) => [k, f(v)]));

describe('the policy file allows exactly what exists', () => {
  it('every allow rule for the default context names a method the service implements', () => {
    const allowed = DEFAULT.filter((r) => r.kind === 'allow' && r.attrs.send_destination === BUS_NAME).map(sendRule);
    expect(allowed.sort()).toEqual([...Object.keys(ALLOWED), ...Object.keys(MANAGED)].sort());
  });

  it('of our own interfaces it allows exactly the methods of the introspection contract', () => {
    const xml = fs.readFileSync(path.resolve(__dirname, '../../../dbus/org.kernel.linux.storage.multipath1.xml'), 'utf8');
    const contract = [...xml.matchAll(/<interface name="([^"]+)">([\s\S]*?)<\/interface>/g)].flatMap((i) =>
      [...i[2].matchAll(/<method name="([^"]+)"/g)].map((m) => `${i[1]}.${m[1]}`),
    );
    const ours = [...Object.keys(ALLOWED), ...Object.keys(MANAGED)].filter((k) => k.startsWith(`${BUS_NAME}.`));
    expect(ours.sort()).toEqual(contract.sort());
  });

  it('every deny rule is tested, and only root may own the name', () => {
    const denied = DEFAULT.filter((r) => r.kind === 'deny');
    expect(denied.filter((r) => r.attrs.send_destination).map(sendRule)).toEqual(Object.keys(DENIED));
    expect(denied.filter((r) => r.attrs.own).map((r) => r.attrs.own)).toEqual([BUS_NAME]);
    expect(rules('user="root"').map((r) => `${r.kind} ${Object.entries(r.attrs).map(([k, v]) => `${k}=${v}`).join(' ')}`)).toEqual([
      `allow own=${BUS_NAME}`,
      `allow send_destination=${BUS_NAME}`,
    ]);
  });
});

describe.skipIf(process.getuid?.() !== 0)('policy as uid 65534, against the live service', () => {
  let nobody: Record<string, Answer>;
  let root: Record<string, Answer>;
  beforeAll(async () => {
    const calls = {
      ...build(ALLOWED, (c) => c()),
      ...build(DENIED, (d) => d.call()),
      ...build(NONEXISTENT, (c) => c()),
      // No interface at all: an allow rule naming send_interface never matches it.
      '.Refresh': at(ROOT_PATH),
    };
    [nobody, root] = await Promise.all([callAs(NOBODY, { ...calls, ...build(MANAGED, (c) => c()) }), callAs(0, calls)]);
  });

  for (const name of Object.keys(MANAGED)) {
    it(`reaches the service, which refuses it without polkit: ${name}`, () => {
      expect(refusedByBus(nobody[name]), JSON.stringify(nobody[name])).toBe(false);
      expect(nobody[name]).toMatchObject({ ok: false, error: `${BUS_NAME}.Error.NotAuthorized` });
    });
  }

  for (const name of Object.keys(ALLOWED)) {
    it(`allowed: ${name}`, () => {
      expect(nobody[name]).toEqual({ ok: true });
    });
  }

  for (const [name, { serviceSays }] of Object.entries(DENIED)) {
    it(`denied by rule: ${name} (root gets the service's own answer)`, () => {
      expect(refusedByBus(nobody[name]), JSON.stringify(nobody[name])).toBe(true);
      expect(root[name]).toMatchObject({ ok: false, error: serviceSays });
    });
  }

  for (const name of Object.keys(NONEXISTENT)) {
    it(`denied, does not exist: ${name} (root gets UnknownMethod from the service)`, () => {
      expect(refusedByBus(nobody[name]), JSON.stringify(nobody[name])).toBe(true);
      expect(root[name]).toMatchObject({ ok: false, error: 'org.freedesktop.DBus.Error.UnknownMethod' });
    });
  }

  it('denied: a method call with no interface, even to an allowed member', () => {
    expect(refusedByBus(nobody['.Refresh']), JSON.stringify(nobody['.Refresh'])).toBe(true);
    expect(root['.Refresh']).toEqual({ ok: true });
  });

  it('may not own the name', async () => {
    const script = `
      const { connectBus, requestName } = require(${JSON.stringify(worldReadable('dist/frontends/dbus/bus/connection.js'))});
      connectBus(process.argv[1]).then((b) => requestName(b, ${JSON.stringify(BUS_NAME)}))
        .then(() => { console.log('owned'); process.exit(0); }, (e) => { console.log(e.message); process.exit(3); });`;
    const r = await runAs(NOBODY, process.execPath, ['-e', script, h.bus.address]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/AccessDenied/);
  });

  it('introspects, reads, and runs the status command unprivileged', async () => {
    const tree = await runAs(NOBODY, 'busctl', [`--address=${h.bus.address}`, 'tree', BUS_NAME]);
    expect(tree.code, tree.stderr).toBe(0);
    expect(tree.stdout).toContain(map());
    const status = await runAs(NOBODY, worldReadable('bin/multipath-dbus'), ['status', '--bus', h.bus.address]);
    expect(status.code, status.stderr).toBe(0);
  });
});
