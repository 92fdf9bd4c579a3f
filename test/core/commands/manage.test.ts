// Every management method, called with gdbus as root, as a uid polkit's rules grant, as one
// they deny, and with polkit stopped — against the real service on a private system-like bus
// with a real polkitd (test/helpers/polkit.ts) and the multipathd simulator behind it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_IFACE, MAP_IFACE, mapObjectPath, PATH_IFACE, pathObjectPath } from '../../../src/frontends/dbus/api';
import { NOBODY, runAs } from '../../helpers/dbus-daemon';
import { worldReadable } from '../../helpers/world-readable-copy';
import { GRANTED_UID, POLKIT_BUS_POLICY, rulesFor, startPolkit, userName, type Polkit } from '../../helpers/polkit';
import { BUS_NAME, busctl, ROOT_PATH, startHarness, type Harness } from '../../helpers/service-harness';

let h: Harness;
let polkit: Polkit;
/** bin: a uid polkit's rules ask a password of. */
const CHALLENGED = 2;

const sim = () => h.sim.maps()[0];
const MAP = () => mapObjectPath(sim().wwid);
const PATH = () => pathObjectPath(sim().paths[0].dev);
const ERR = `${BUS_NAME}.Error.`;

async function prop(object: string, iface: string, name: string): Promise<string> {
  const r = await busctl(h, 'get-property', BUS_NAME, object, iface, name);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** Until the service's model has caught up with a change made behind its back. */
async function until(what: string, pred: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const published = (dev: string) => {
  for (const m of h.service.topology.values()) for (const p of m.paths.values()) if (p.device === dev) return p.dmState;
  return undefined;
};

interface Case {
  name: string;
  object: () => string;
  iface: string;
  /** gdbus's arguments before the options. */
  args: () => string[];
  /** multipathd's command it must send. */
  command: () => RegExp;
  /** Put the state where the call has an effect. */
  prepare?: () => Promise<void>;
  /** The effect, checked the moment the call returned. */
  effect: () => Promise<void>;
}

const setPath = async (failed: boolean) => {
  const dev = sim().paths[0].dev;
  if (sim().paths[0].failed !== failed) h.kernel(failed ? h.sim.failPath(dev) : h.sim.reinstatePath(dev));
  await until(`${dev} ${failed ? 'failed' : 'active'}`, () => published(dev) === (failed ? 'failed' : 'active'));
};
const otherGroup = () => ((sim().nextGroup || sim().activeGroup) === 1 ? 2 : 1);
let expectGroup = 0;
let expectQueueing = false;
let expectSize = 0;
let reconfigures = 0;

const CASES: Case[] = [
  {
    name: 'Path.Fail',
    object: PATH,
    iface: PATH_IFACE,
    args: () => [],
    command: () => new RegExp(`^fail path ${sim().paths[0].dev}$`),
    prepare: () => setPath(false),
    effect: async () => {
      expect(await prop(PATH(), PATH_IFACE, 'DmState')).toBe('s "failed"');
      expect(sim().paths[0].failed).toBe(true);
    },
  },
  {
    name: 'Path.Reinstate',
    object: PATH,
    iface: PATH_IFACE,
    args: () => [],
    command: () => new RegExp(`^reinstate path ${sim().paths[0].dev}$`),
    prepare: () => setPath(true),
    effect: async () => {
      expect(await prop(PATH(), PATH_IFACE, 'DmState')).toBe('s "active"');
      expect(sim().paths[0].failed).toBe(false);
    },
  },
  {
    name: 'Map.SwitchGroup',
    object: MAP,
    iface: MAP_IFACE,
    args: () => [`uint32 ${(expectGroup = otherGroup())}`],
    command: () => new RegExp(`^switchgroup map ${sim().name} group ${expectGroup}$`),
    effect: async () => {
      // The kernel names the group next (dmsetup status), and clients are told.
      expect(sim().nextGroup).toBe(expectGroup);
      await h.waitFor((s) => s.some((x) => x.member === 'PolicyChanged' && x.path === MAP() && (x.args[0] as string[]).includes('ActiveGroup')), 'PolicyChanged(ActiveGroup)');
    },
  },
  {
    name: 'Map.SetQueueing',
    object: MAP,
    iface: MAP_IFACE,
    args: () => [String((expectQueueing = sim().features === '0'))],
    command: () => new RegExp(`^${expectQueueing ? 'restore' : 'disable'}queueing map ${sim().sysfs}$`),
    effect: async () => {
      expect(await prop(MAP(), MAP_IFACE, 'Queueing')).toBe(expectQueueing ? 's "on"' : 's "off"');
      expect(await prop(MAP(), MAP_IFACE, 'Features')).toBe(expectQueueing ? 's "1 queue_if_no_path"' : 's "0"');
    },
  },
  {
    name: 'Map.Resize',
    object: MAP,
    iface: MAP_IFACE,
    args: () => [],
    command: () => new RegExp(`^resize map ${sim().sysfs}$`),
    prepare: async () => {
      expectSize = sim().sizeSectors + 2048;
      h.sim.setDiskSize(sim().name, expectSize);
    },
    effect: async () => {
      expect(await prop(MAP(), MAP_IFACE, 'Size')).toBe(`t ${expectSize * 512}`);
    },
  },
  {
    name: 'Manager.Reconfigure',
    object: () => ROOT_PATH,
    iface: MANAGER_IFACE,
    args: () => [],
    command: () => /^reconfigure$/,
    prepare: async () => {
      reconfigures = h.sim.reconfigures;
    },
    effect: async () => {
      expect(h.sim.reconfigures).toBe(reconfigures + 1);
      // multipathd's settings were read again after it.
      expect(h.sim.requests.slice(h.sim.requests.lastIndexOf('reconfigure'))).toContain('show config');
    },
  },
];

function call(uid: number, c: Case) {
  const member = `${c.iface}.${c.name.split('.')[1]}`;
  return runAs(uid, 'gdbus', ['call', '--address', h.bus.address, '--dest', BUS_NAME, '--object-path', c.object(), '--method', member, ...c.args(), '{}']);
}

/** Everything a client can see, and every command multipathd has been sent. */
async function everything(): Promise<string> {
  const r = await busctl(h, 'call', BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects', '--json=short');
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}
const changes = (from: number) => h.sim.requests.slice(from).filter((r) => !/^(show|list) /.test(r));

async function succeeds(uid: number, c: Case): Promise<void> {
  await c.prepare?.();
  const from = h.sim.requests.length;
  const r = await call(uid, c);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout.trim()).toBe('()');
  await c.effect();
  expect(changes(from)).toEqual([expect.stringMatching(c.command())]);
}

async function refused(uid: number, c: Case, reason: RegExp): Promise<void> {
  await c.prepare?.();
  // Let the re-reads the preparation caused finish: Refresh returns after a read that began after it.
  expect((await busctl(h, 'call', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh')).code).toBe(0);
  const before = await everything();
  const from = h.sim.requests.length;
  const r = await call(uid, c);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(`${ERR}NotAuthorized`);
  expect(r.stderr).toMatch(reason);
  expect(changes(from)).toEqual([]);
  expect(await everything()).toEqual(before);
}

describe.skipIf(process.getuid?.() !== 0)('management, authorized by a real polkitd', () => {
  beforeAll(async () => {
    h = await startHarness({ maps: 2, pathsPerMap: 2, groupsPerMap: 2, noPathRetry: 'queue' }, {}, undefined, {
      busIncludes: [POLKIT_BUS_POLICY],
      // Slower than our checks right after a call: a method that returned early is caught.
      latency: { ueventMs: 300, readMs: 300 },
    });
    polkit = await startPolkit(h.bus.address, { rules: { '10-test.rules': rulesFor(`${BUS_NAME}.`, [GRANTED_UID], [NOBODY], [CHALLENGED]) } });
  });
  afterAll(async () => {
    await polkit?.stop().catch(() => undefined);
    await h?.stop();
  });

  describe.each([
    ['root', 0],
    ['the uid the rules grant', GRANTED_UID],
  ])('as %s', (_who, uid) => {
    it.each(CASES)('$name has its effect published when it returns', (c) => succeeds(uid, c));
  });

  describe('as uid 65534, which the rules deny', () => {
    it.each(CASES)('$name is NotAuthorized and changes nothing', (c) => refused(NOBODY, c, /polkit denied/));
  });

  it('asks for a password only when the caller allows interactive authorization', async () => {
    const c = CASES[0];
    await c.prepare?.();
    const plain = await call(CHALLENGED, c);
    expect(plain.stderr).toContain(`${ERR}NotAuthorized: ${BUS_NAME}.manage-paths requires authentication; call again allowing interactive authorization`);
    // busctl sets ALLOW_INTERACTIVE_AUTHORIZATION unless told --allow-interactive-authorization=no.
    const interactive = await runAs(CHALLENGED, 'busctl', [`--address=${h.bus.address}`, 'call', BUS_NAME, c.object(), PATH_IFACE, 'Fail', 'a{sv}', '0']);
    expect(interactive.code).not.toBe(0);
    // polkit was allowed to ask, and had no agent to ask with (a desktop session would have one).
    expect(interactive.stderr).toBe(`Call failed: ${BUS_NAME}.manage-paths requires authentication, and polkit has no authentication agent for the caller to ask with\n`);
    expect(polkit.output()).toContain(`test rule: AUTH_ADMIN ${BUS_NAME}.manage-paths for ${userName(CHALLENGED)}`);
  });

  it('logs each action with the caller uid, pid and unit', () => {
    const done = h.logs.filter((l) => l.includes('Path.Fail on') && l.includes(`MULTIPATH_CALLER_UID=${GRANTED_UID}`));
    expect(done.length).toBeGreaterThan(0);
    expect(done[0]).toMatch(/notice: Path\.Fail on \S+ by uid 1: done; MULTIPATH_METHOD=Path\.Fail .*OBJECT_PID=\d+ /);
    expect(done[0]).toContain(`MULTIPATH_COMMAND="fail path ${sim().paths[0].dev}"`);
    expect(h.logs.some((l) => l.includes('warning: Path.Fail on') && l.includes('MULTIPATH_OUTCOME=denied') && l.includes(`MULTIPATH_CALLER_UID=${NOBODY}`))).toBe(true);
  });

  describe('the CLI, through D-Bus and polkit', () => {
    // From the world-readable copy: the granted and denied uids may not be able to enter the checkout.
    const cli = (uid: number, ...args: string[]) => runAs(uid, worldReadable('bin/multipath-dbus'), [...args, '--bus', h.bus.address]);

    it('runs each method for the granted uid and says what it did', async () => {
      const dev = sim().paths[0].dev;
      await setPath(false);
      expect(await cli(GRANTED_UID, 'fail', dev)).toMatchObject({ code: 0, stdout: `${dev}: failed\n` });
      expect(await prop(PATH(), PATH_IFACE, 'DmState')).toBe('s "failed"');
      expect(await cli(GRANTED_UID, 'reinstate', sim().paths[0].devT)).toMatchObject({ code: 0, stdout: `${sim().paths[0].devT}: reinstated\n` });
      expect(await prop(PATH(), PATH_IFACE, 'DmState')).toBe('s "active"');
      const group = otherGroup();
      expect(await cli(GRANTED_UID, 'switch-group', sim().name, String(group))).toMatchObject({ code: 0 });
      expect(sim().nextGroup).toBe(group);
      for (const [word, queueing] of [['off', 's "off"'], ['on', 's "on"']]) {
        expect(await cli(GRANTED_UID, 'queueing', sim().sysfs, word)).toMatchObject({ code: 0 });
        expect(await prop(MAP(), MAP_IFACE, 'Queueing')).toBe(queueing);
      }
      h.sim.setDiskSize(sim().name, sim().sizeSectors * 2);
      expect(await cli(GRANTED_UID, 'resize', sim().wwid)).toMatchObject({ code: 0 });
      expect(await prop(MAP(), MAP_IFACE, 'Size')).toBe(`t ${sim().sizeSectors * 512}`);
      expect(await cli(GRANTED_UID, 'reconfigure')).toMatchObject({ code: 0, stdout: 'multipathd reconfigured\n' });
    });

    it('says clearly why not', async () => {
      const denied = await cli(NOBODY, 'fail', sim().paths[0].dev);
      expect(denied.code).toBe(1);
      expect(denied.stderr).toBe(`multipath-dbus: Path.Fail: not authorized: polkit denied ${BUS_NAME}.manage-paths to uid ${NOBODY}\n`);
      const missing = await cli(GRANTED_UID, 'fail', 'sdzz');
      expect(missing).toMatchObject({ code: 2, stderr: 'multipath-dbus: no multipath path named sdzz\n' });
      const bad = await cli(GRANTED_UID, 'switch-group', sim().name, '7');
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/group 7 does not exist: map \S+ has groups 1 to 2/);
    });
  });

  describe('with polkit stopped', () => {
    beforeAll(async () => polkit.stop());

    it.each(CASES)('$name is refused to the granted uid, saying polkit is not running', (c) => refused(GRANTED_UID, c, /polkit .*not running, so only root/));
    it.each(CASES)('$name still works for root', (c) => succeeds(0, c));
  });

  it('multipathd down: Unavailable, and nothing published changes', async () => {
    // The last Reconfigure reloaded a map, which the kernel announces 300 ms late here: let
    // that be read first, or its read finds multipathd gone.
    await expect.poll(() => h.sim.ueventsInFlight, { timeout: 5000 }).toBe(0);
    expect((await busctl(h, 'call', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh')).code).toBe(0);
    const before = await everything();
    await h.sim.die();
    try {
      const r = await call(0, CASES[0]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`${ERR}Unavailable: multipathd: multipathd is not running`));
      expect(await everything()).toEqual(before);
    } finally {
      await h.sim.listen();
    }
  });
});
