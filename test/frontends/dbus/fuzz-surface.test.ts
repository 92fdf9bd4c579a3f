// The whole D-Bus surface, fuzzed from uid 65534 and from root at once, against the real
// service on a private bus with our policy, fed by the multipathd simulator (which records
// every command it receives). Each case is a sequence of calls sent back to back from both
// users: existing and made-up objects, every interface of ours and the standard ones, real
// and random members, the right signature with awkward values or a random signature and
// body, the flags NO_REPLY_EXPECTED / NO_AUTO_START / ALLOW_INTERACTIVE_AUTHORIZATION, and
// 'h' values with descriptors attached (SCM_RIGHTS) or without. No polkitd runs: uid 65534
// may manage nothing, root anything valid. After every sequence: each call that asked for a
// reply got one. At the end: the service still owns its name on its first connection and
// answers, it logged no internal error, multipathd was sent exactly the commands of root's
// valid management calls (nothing from a denied or invalid one), and the objects are those
// the simulator's state dictates.
// `npm test` runs a bounded number of sequences; `npm run fuzz` runs many (FUZZ_RUNS).
// A failure prints fast-check's seed and path; FUZZ_SEED=<seed> replays it.
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER, MANAGER_IFACE, MAP, MAP_IFACE, PATH, PATH_GROUP, PATH_GROUP_IFACE, PATH_IFACE } from '../../../src/frontends/dbus/api';
import { callMethod, getManagedObjects, type Props } from '../../../src/frontends/dbus/bus/connection';
import { signatureOf } from '../../../src/frontends/dbus/bus/interface-spec';
import { bodyArb, handleCount, interfaceArb, memberArb, objectPathArb, signedBodyArb, stringArb } from '../../helpers/dbus-arbitraries';
import { ALLOW_INTERACTIVE_AUTHORIZATION, MAX_FDS_PER_MESSAGE, NO_AUTO_START, NO_REPLY_EXPECTED, NOBODY, RawBusClient, type RawCall, type Reply } from '../../helpers/raw-bus-client';
import { BUS_NAME, ROOT_PATH, startHarness, type Harness } from '../../helpers/service-harness';

const RUNS = Number(process.env.FUZZ_RUNS) || 80;
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** What a D-Bus client waits for a reply by default. */
const REPLY_TIMEOUT_MS = 25_000;

const PROPS = 'org.freedesktop.DBus.Properties';
const STANDARD: Record<string, Record<string, string>> = {
  [PROPS]: { Get: 'ss', GetAll: 's', Set: 'ssv' },
  'org.freedesktop.DBus.Introspectable': { Introspect: '' },
  'org.freedesktop.DBus.Peer': { Ping: '', GetMachineId: '' },
  'org.freedesktop.DBus.ObjectManager': { GetManagedObjects: '' },
};
const OURS = [MANAGER, MAP, PATH_GROUP, PATH];
/** interface -> member -> input signature, for every method the service has. */
const METHODS: Record<string, Record<string, string>> = {
  ...STANDARD,
  ...Object.fromEntries(OURS.map((i) => [i.name, Object.fromEntries(i.methods.map((m) => [m.name, signatureOf(m.in)]))])),
};
const ALL_MEMBERS = [...new Set(Object.values(METHODS).flatMap((m) => Object.keys(m)))];
const PROPERTY_NAMES = [...new Set(OURS.flatMap((i) => i.properties.map((p) => p.name)))];

interface Objects {
  all: string[];
  maps: Map<string, Props>;
  groups: Map<string, Props>;
  paths: Map<string, Props>;
}

async function readObjects(h: Harness): Promise<Objects> {
  const managed = await getManagedObjects(h.client, BUS_NAME, ROOT_PATH);
  const of = (iface: string) => new Map([...managed].filter(([, i]) => i.has(iface)).map(([p, i]) => [p, i.get(iface)!]));
  return { all: [...managed.keys()].sort(), maps: of(MAP_IFACE), groups: of(PATH_GROUP_IFACE), paths: of(PATH_IFACE) };
}

/** Management options: mostly none (valid), sometimes keys a caller should not get away with. */
const optionsArb = fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(stringArb, bodyArb('v', 1).map(([v]) => v)), { minLength: 1, maxLength: 3 }) });

interface Sent {
  uid: number;
  call: RawCall;
}

/** The command multipathd must receive for this call, or undefined when it must receive none. */
function expectedCommand({ uid, call }: Sent, objects: Objects): string | undefined {
  if (uid !== 0 || call.destination !== BUS_NAME) return undefined;
  // Without an interface the service looks the member up in the object's own interfaces.
  const iface = call.interface ?? (objects.paths.has(call.path) ? PATH_IFACE : objects.maps.has(call.path) ? MAP_IFACE : call.path === ROOT_PATH ? MANAGER_IFACE : '');
  const expected = METHODS[iface]?.[call.member];
  if (expected === undefined || (call.signature ?? '') !== expected) return undefined;
  const body = call.body ?? [];
  if ((body[body.length - 1] as unknown[] | undefined)?.length !== 0) return undefined; // options given
  const map = objects.maps.get(call.path);
  const path = objects.paths.get(call.path);
  const mapWord = () => (/^dm-\d+$/.test(map!.SysfsName as string) ? map!.SysfsName : map!.Name);
  switch (`${iface}.${call.member}`) {
    case `${PATH_IFACE}.Fail`:
      return path && `fail path ${path.Device}`;
    case `${PATH_IFACE}.Reinstate`:
      return path && `reinstate path ${path.Device}`;
    case `${MAP_IFACE}.SwitchGroup`: {
      const group = body[0] as number;
      return map && group >= 1 && group <= (map.PathGroups as string[]).length ? `switchgroup map ${map.Name} group ${group}` : undefined;
    }
    case `${MAP_IFACE}.SetQueueing`:
      return map && `${body[0] ? 'restorequeueing' : 'disablequeueing'} map ${mapWord()}`;
    case `${MAP_IFACE}.Resize`:
      return map && `resize map ${mapWord()}`;
    case `${MANAGER_IFACE}.Reconfigure`:
      return call.path === ROOT_PATH ? 'reconfigure' : undefined;
  }
  return undefined;
}

/** Commands that change something (the service's own reads are `show ...`). */
const changes = (h: Harness) => h.sim.requests.filter((r) => !/^\s*(show|list)\b/.test(r));

describe.skipIf(process.getuid?.() !== 0)('the D-Bus surface, fuzzed from uid 65534 and root', () => {
  let h: Harness;
  let clients: Record<number, RawBusClient>;
  let before: Objects;
  let owner: string;
  const expectedCommands: string[] = [];
  /** The last calls sent: the bus drops a client only after the call that broke the rules, which may be one that asked for no reply. */
  const recent: Sent[] = [];
  const figures = { sequences: 0, calls: 0, withReply: 0, answered: 0, byService: 0, byBus: 0, fds: 0, bareFds: 0, connections: 2, slowestMs: 0, errors: new Map<string, number>() };

  beforeAll(async () => {
    // The service's waits shortened (a switch that a later call undoes never shows; an
    // unprivileged Refresh waits for the shared read): answers come sooner, not differently.
    h = await startHarness('small', {}, undefined, { timing: { manageTimeoutMs: 2000, unprivilegedRefreshIntervalMs: 500 } });
    clients = { 0: await RawBusClient.connect(h.bus.socketPath, 0), [NOBODY]: await RawBusClient.connect(h.bus.socketPath, NOBODY) };
    before = await readObjects(h);
    [owner] = (await callMethod(h.client, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetNameOwner', 's', [BUS_NAME])) as [string];
  });
  afterAll(async () => {
    await Promise.all(Object.values(clients ?? {}).map((c) => c.close()));
    await h?.stop();
  });

  const callArb = (): fc.Arbitrary<Sent> => {
    const elsewhere = [ROOT_PATH, '/', '/org', `${ROOT_PATH}/maps`, `${ROOT_PATH}/paths`];
    const randomPath = fc.oneof(fc.constantFrom(...before.all, ...elsewhere), objectPathArb);
    const objectsOf: Record<string, string[]> = {
      [MANAGER_IFACE]: [ROOT_PATH],
      [MAP_IFACE]: [...before.maps.keys()],
      [PATH_GROUP_IFACE]: [...before.groups.keys()],
      [PATH_IFACE]: [...before.paths.keys()],
    };
    const pairs = Object.entries(METHODS).flatMap(([i, ms]) => Object.keys(ms).map((m) => [i, m] as const));
    // Mostly a real method on an object that has it (with or without naming the interface);
    // else anything: made-up objects, interfaces and members, ours on the wrong object.
    const target = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom(...pairs).chain(([i, m]) =>
          fc.record({
            path: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...(objectsOf[i] ?? before.all)) }, { weight: 1, arbitrary: randomPath }),
            iface: fc.oneof({ weight: 8, arbitrary: fc.constant<string | undefined>(i) }, { weight: 1, arbitrary: fc.constant(undefined) }),
            member: fc.constant(m),
          }),
        ),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          path: randomPath,
          iface: fc.option(fc.oneof(fc.constantFrom(...Object.keys(METHODS), 'org.freedesktop.DBus', 'org.freedesktop.DBus.Monitoring'), interfaceArb), { nil: undefined }),
          member: fc.oneof(fc.constantFrom(...ALL_MEMBERS), memberArb),
        }),
      },
    );
    // Each flag in a quarter of the calls.
    const flag = (bit: number) => fc.nat(3).map((n) => (n === 0 ? bit : 0));
    const flags = fc.tuple(flag(NO_REPLY_EXPECTED), flag(NO_AUTO_START), flag(ALLOW_INTERACTIVE_AUTHORIZATION)).map((f) => f.reduce((a, b) => a | b, 0));
    return fc.record({ uid: fc.constantFrom(0, NOBODY), target, flags, attachFds: fc.boolean() }).chain(({ uid, target: { path, iface, member }, flags, attachFds }) => {
      const right = METHODS[iface ?? '']?.[member] ?? Object.values(METHODS).find((ms) => member in ms)?.[member];
      const args = fc.oneof({ weight: right === undefined ? 0 : 4, arbitrary: rightArgs(iface, member, right ?? '') }, { weight: 1, arbitrary: signedBodyArb });
      // More descriptors than the bus takes in one message would test the bus (it drops the client).
      return args.map(({ signature, body }) => ({
        uid,
        call: { destination: BUS_NAME, path, interface: iface, member, signature, body, flags, attachFds: attachFds && handleCount(signature, body) <= MAX_FDS_PER_MESSAGE },
      }));
    });
  };

  /** The member's own signature, with values that mean something to it most of the time. */
  const rightArgs = (iface: string | undefined, member: string, signature: string): fc.Arbitrary<{ signature: string; body: unknown[] }> => {
    const ifaces = fc.oneof(fc.constantFrom(...OURS.map((i) => i.name), ...Object.keys(STANDARD)), stringArb);
    const props = fc.oneof(fc.constantFrom(...PROPERTY_NAMES), stringArb);
    const body: Record<string, fc.Arbitrary<unknown[]>> = {
      [`${PROPS}.Get`]: fc.tuple(ifaces, props),
      [`${PROPS}.GetAll`]: fc.tuple(ifaces),
      [`${PROPS}.Set`]: fc.tuple(ifaces, props, bodyArb('v').map(([v]) => v)),
      [`${MANAGER_IFACE}.GetEvents`]: fc.tuple(fc.oneof(fc.bigInt({ min: 0n, max: 20n }), fc.constant(2n ** 64n - 1n)), fc.oneof(fc.nat(20), fc.constant(0xffffffff))),
      [`${MANAGER_IFACE}.GetManagedObjectsPage`]: fc.tuple(fc.oneof(fc.constantFrom('', ...before.all), stringArb), fc.oneof(fc.nat(5), fc.constant(0xffffffff))),
      [`${MANAGER_IFACE}.GetMapSummaries`]: fc.tuple(fc.oneof(fc.constantFrom('', ...before.all), stringArb), fc.oneof(fc.nat(5), fc.constant(0xffffffff)), optionsArb),
      [`${MAP_IFACE}.SwitchGroup`]: fc.tuple(fc.oneof(fc.nat(4), fc.constant(0xffffffff)), optionsArb),
      [`${MAP_IFACE}.SetQueueing`]: fc.tuple(fc.boolean(), optionsArb),
    };
    const known = body[`${iface ?? ''}.${member}`] ?? (signature.endsWith('a{sv}') && signature.length === 5 ? fc.tuple(optionsArb) : bodyArb(signature));
    return known.map((b) => ({ signature, body: b }));
  };

  it(`${RUNS} sequences of calls: every call that asks for a reply gets one`, async () => {
    const t0 = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.array(callArb(), { minLength: 1, maxLength: 8 }), async (seq) => {
        figures.sequences++;
        await renewSpentConnections();
        const replies = seq.map((s) => {

          figures.calls++;
          if (handleCount(s.call.signature ?? '', s.call.body ?? []) > 0) figures[s.call.attachFds ? 'fds' : 'bareFds']++;
          if (s.call.attachFds && handleCount(s.call.signature ?? '', s.call.body ?? []) > 0 && !((s.call.flags ?? 0) & NO_REPLY_EXPECTED)) refusedWithFds[s.uid]++;
          expectedCommands.push(...[expectedCommand(s, before)].filter((c): c is string => c !== undefined));
          recent.push(s);
          if (recent.length > 20) recent.shift();
          return clients[s.uid].call(s.call);
        });
        for (const [i, pending] of replies.entries()) {
          if ((seq[i].call.flags ?? 0) & NO_REPLY_EXPECTED) continue;
          figures.withReply++;
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<string>((r) => (timer = setTimeout(() => r(`no reply within ${REPLY_TIMEOUT_MS} ms`), REPLY_TIMEOUT_MS)));
          const reply = await Promise.race([pending.catch((e: Error) => e.message), timeout]);
          clearTimeout(timer);
          if (typeof reply === 'string') throw new Error(`${reply}, to ${describe(seq[i])}; the calls before it: ${recent.map(describe).join('\n')}`);
          record(reply!);
          // The bus answers a call whose recipient went away or stayed silent with these.
          expect(reply!.error ?? '').not.toMatch(/NoReply|Disconnected|ServiceUnknown|NameHasNoOwner/);
        }
        expect(clients[0].connected && clients[NOBODY].connected, 'the bus dropped a fuzzing client').toBe(true);
      }),
      // No shrinking: the service's state carries over from one case to the next, so a smaller
      // case replayed later is not the same experiment; the case that failed is reported as is.
      { numRuns: RUNS, endOnFailure: true, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
    const ms = Date.now() - t0;
    const errors = [...figures.errors].sort((a, b) => b[1] - a[1]).map(([e, n]) => `${e.replace('org.freedesktop.DBus.Error.', '')} ${n}`);
    console.log(
      `D-Bus surface fuzz: ${figures.calls} calls (${figures.sequences} sequences, ${figures.fds} with descriptors attached, ${figures.bareFds} with 'h' values and none) in ${(ms / 1000).toFixed(1)} s on ${figures.connections} connections; ` +
        `${figures.answered} of ${figures.withReply} replies expected received (${figures.byService} from the service, ${figures.byBus} from the bus), slowest ${figures.slowestMs} ms; ` +
        `${expectedCommands.length} valid root management calls; errors: ${errors.join(', ')}`,
    );
  }, Math.max(60_000, RUNS * 2000));

  /**
   * dbus-daemon 1.14 refuses a call carrying descriptors to a recipient that takes none
   * (NotSupported), yet keeps counting it as a reply its sender waits for: after 128 such
   * calls, every call on that connection gets LimitsExceeded. Only the sender's own
   * connection suffers; the fuzzing clients start a new one before they get there.
   */
  const refusedWithFds: Record<number, number> = { 0: 0, [NOBODY]: 0 };
  const renewSpentConnections = async () => {
    for (const uid of [0, NOBODY]) {
      if (refusedWithFds[uid] < 100) continue;
      await clients[uid].close();
      clients[uid] = await RawBusClient.connect(h.bus.socketPath, uid);
      refusedWithFds[uid] = 0;
      figures.connections++;
    }
  };

  const describe = (s: Sent) => JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? String(v) : Array.isArray(v) && v.length > 20 ? `[${v.length} elements]` : v)).slice(0, 2000);

  const record = (r: Reply) => {
    figures.answered++;
    if (r.sender === 'org.freedesktop.DBus') figures.byBus++;
    else figures.byService++;
    figures.slowestMs = Math.max(figures.slowestMs, r.ms);
    if (r.error) figures.errors.set(r.error, (figures.errors.get(r.error) ?? 0) + 1);
  };

  it('the service is still on the bus, on its first connection, answering, with no internal error', async () => {
    const [now] = (await callMethod(h.client, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetNameOwner', 's', [BUS_NAME])) as [string];
    expect(now).toBe(owner);
    await callMethod(h.client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.Peer', 'Ping', '', [], { timeoutMs: 5000 });
    expect(h.logs.filter((l) => /internal error/.test(l))).toEqual([]);
  });

  it("multipathd received exactly the commands of root's valid management calls", async () => {
    // Calls that asked for no reply may still be on their way: wait until as many commands came.
    const end = Date.now() + 10_000;
    while (changes(h).length < expectedCommands.length && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    // Then one call that answers after everything sent before it was dispatched.
    await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []);
    const missing = [...expectedCommands];
    const unexpected = changes(h).filter((c) => {
      const i = missing.indexOf(c);
      return i < 0 || !missing.splice(i, 1);
    });
    expect({ missing, unexpected }).toEqual({ missing: [], unexpected: [] });
  });

  it("the objects are intact: the same objects, each showing the simulator's state", async () => {
    await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []);
    const after = await readObjects(h);
    expect(after.all).toEqual(before.all);
    const sim = h.sim.maps();
    expect([...after.maps.values()].map((m) => [m.Wwid, m.Name, m.SysfsName, (m.PathGroups as string[]).length]).sort()).toEqual(
      sim.map((m) => [m.wwid, m.name, m.sysfs, new Set(m.paths.map((p) => p.group)).size]).sort(),
    );
    expect([...after.paths.values()].map((p) => [p.Device, p.DmState]).sort()).toEqual(
      sim.flatMap((m) => m.paths.map((p) => [p.dev, p.failed ? 'failed' : 'active'])).sort(),
    );
  });
});
