// The commands' rules with their seams replaced, called through the D-Bus binding: the order
// validate -> authorize -> apply -> wait, and which error each failure becomes. The real bus,
// polkitd and simulator are in manage.test.ts.
import { describe, expect, it } from 'vitest';
import { ERROR_PREFIX, MANAGER, MAP, MAP_IFACE, mapObjectPath, PATH, PATH_GROUP, PATH_IFACE, pathObjectPath } from '../../../src/frontends/dbus/api';
import { DBusError, type MethodCall } from '../../../src/frontends/dbus/bus/object-server';
import { buildTopology } from '../../../src/model/build';
import type { MapState, PathState, Topology } from '../../../src/model/topology';
import { unitFromCgroup } from '../../../src/frontends/dbus/polkit/caller-unit';
import { Commands } from '../../../src/core/commands/commands';
import { managementHandlers, MANAGED_METHODS } from '../../../src/frontends/dbus/methods';
import { ObjectNames } from '../../../src/frontends/dbus/naming';
import { mapObjects } from '../../../src/frontends/dbus/views';
import { unreachable } from '../../../src/sources/multipathd/source';
import { ShownState } from '../../../src/core/commands/shown-state';
import { MultipathdError } from '../../../src/sources/multipathd/client';
import { auditMessage } from '../../../src/outputs/journal/audit';
import { mpdMaps } from '../../helpers/fixtures';
import { realTimers } from '../../../src/core/ports';
import type { AuditRecord, Authority } from '../../../src/core/ports';

const topology = (): Topology => buildTopology({ multipathd: mpdMaps('show-maps-2x2.json') }, new Map());

/** The topology with one path of a map in another state, as a burst would publish it. */
function withPath(t: Topology, map: MapState, path: PathState, dmState: PathState['dmState']): Topology {
  const out = new Map(t);
  out.set(map.wwid, { ...map, paths: new Map([...map.paths].map(([k, p]) => [k, p === path ? { ...p, dmState } : p])) });
  return out;
}

function setup(
  opts: {
    answer?: (cmd: string) => Promise<string>;
    uid?: number;
    verdict?: boolean;
    timeoutMs?: number;
    kernelEvents?: boolean;
    confirmAfterMs?: number;
    /** What a re-read finds, published as its burst; default: what is published already. */
    read?: (now: Topology) => Topology;
    /** The bus daemon cannot tell who the caller is (it has left already). */
    unidentified?: boolean;
  } = {},
) {
  const steps: string[] = [];
  const audit: AuditRecord[] = [];
  const charged: string[] = [];
  const published = new ShownState(realTimers);
  const t = topology();
  published.burst({ topology: t, changed: new Map(), manager: {} as never, eventSerial: 0n });
  const authority: Authority = {
    identify: async (sender) => {
      steps.push('identify');
      if (opts.unidentified) throw new Error(`GetConnectionCredentials: ${sender} has no owner`);
      return { sender, uid: opts.uid ?? 1000, pid: 42, unit: 'session-3.scope' };
    },
    authorize: async (_c, action, interactive) => {
      steps.push(`authorize ${action} interactive=${interactive}`);
      return opts.verdict === false ? { ok: false, reason: 'polkit denied it' } : { ok: true, by: 'polkit' };
    },
  };
  const names = new ObjectNames();
  for (const map of t.values()) for (const [path, { named }] of mapObjects(map)) names.set(path, named);
  const commands = new Commands(
    {
    multipathd: {
      request: async (cmd) => {
        steps.push(`multipathd ${cmd}`);
        return (opts.answer ?? (async () => 'ok\n'))(cmd);
      },
      close: () => undefined,
    },
    shown: published,
    authority,
    reread: async () => {
      steps.push('reread');
      if (opts.read) published.burst({ topology: opts.read(published.topology), changed: new Map(), manager: {} as never, eventSerial: 0n, full: false });
    },
    kernelEvents: () => opts.kernelEvents ?? false,
    audit: (r) => audit.push(r),
    timers: realTimers,
    timeoutMs: opts.timeoutMs ?? 2000,
    confirmAfterMs: opts.confirmAfterMs ?? 1000,
    },
    unreachable,
  );
  const map = [...t.values()][0];
  const path = [...map.paths.values()][0];
  const dev = path.device;
  const handlers = managementHandlers(commands, names, (c) => charged.push(c.sender));
  const call = (iface: string, member: string, path: string, args: unknown[], allowInteractive = false) =>
    handlers[`${iface}.${member}`]({ path, iface, member, args, sender: ':1.7', allowInteractive } satisfies MethodCall);
  return { steps, audit, charged, published, map, path, dev, call };
}

const errorOf = async (p: unknown) => {
  try {
    await p;
  } catch (e) {
    return e instanceof DBusError ? `${e.errorName.replace(ERROR_PREFIX, '')}: ${e.message}` : String(e);
  }
  return 'no error';
};

describe('the table of methods', () => {
  it('has a row for every method of the API but the readers, each taking options last', () => {
    const api = [MANAGER, MAP, PATH_GROUP, PATH].flatMap((i) => i.methods.map((m) => ({ key: `${i.name}.${m.name}`, in: m.in })));
    const managed = api.filter((m) => !/\.(GetEvents|Refresh|GetManagedObjectsPage|GetMapSummaries)$/.test(m.key));
    expect(MANAGED_METHODS.map((m) => `${m.iface}.${m.name}`).sort()).toEqual(managed.map((m) => m.key).sort());
    for (const m of managed) expect(m.in.at(-1), m.key).toEqual({ name: 'options', type: 'a{sv}' });
  });
});

describe('the management dispatcher', () => {
  it('checks the object and the arguments before asking anyone (and charges the caller all the same)', async () => {
    const s = setup();
    expect(await errorOf(s.call(PATH_IFACE, 'Fail', pathObjectPath('sdzz'), [{}]))).toBe(`NotFound: no such object: ${pathObjectPath('sdzz')}`);
    expect(await errorOf(s.call(MAP_IFACE, 'SwitchGroup', mapObjectPath(s.map.wwid), [3, {}]))).toMatch(/^org\.freedesktop\.DBus\.Error\.InvalidArgs: group 3 does not exist/);
    expect(await errorOf(s.call(MAP_IFACE, 'Resize', mapObjectPath(s.map.wwid), [{ force: true }]))).toMatch(/InvalidArgs: Resize takes no options; got 1$/);
    // Nobody was asked to decide and multipathd was sent nothing; the caller was identified for the record only.
    expect(s.steps).toEqual(['identify', 'identify', 'identify']);
    expect(s.audit.map((r) => [r.outcome, r.caller?.uid])).toEqual([['failed', 1000], ['failed', 1000], ['failed', 1000]]);
    expect(s.charged).toEqual([':1.7', ':1.7', ':1.7']);
  });

  it('asks polkit with the caller\'s interactive flag, and a refusal sends nothing', async () => {
    const s = setup({ verdict: false });
    expect(await errorOf(s.call(PATH_IFACE, 'Fail', pathObjectPath(s.dev), [{}], true))).toBe('NotAuthorized: polkit denied it');
    expect(s.steps).toEqual(['identify', 'authorize manage-paths interactive=true']);
    expect(s.audit[0]).toMatchObject({ outcome: 'denied', method: 'Path.Fail', caller: { uid: 1000, pid: 42 } });
  });

  it('multipathd down is Unavailable; its refusal is Failed with its answer', async () => {
    const down = setup({ answer: async () => Promise.reject(new MultipathdError('not-running', 'multipathd is not running (tried @/org/kernel/linux/storage/multipathd (ECONNREFUSED))')) });
    expect(await errorOf(down.call(MAP_IFACE, 'Resize', mapObjectPath(down.map.wwid), [{}]))).toMatch(/^Unavailable: multipathd: multipathd is not running/);
    const refused = setup({ answer: async () => 'fail\n' });
    expect(await errorOf(refused.call(MAP_IFACE, 'Resize', mapObjectPath(refused.map.wwid), [{}]))).toBe(`Failed: multipathd refused "resize map ${refused.map.sysfsName}": "fail"`);
    expect(refused.steps).not.toContain('reread');
  });

  it('multipathd timing out is Failed (it may still act), not Unavailable; the record names the command', async () => {
    const s = setup({ answer: async () => Promise.reject(new MultipathdError('timeout', 'multipathd did not answer "resize map dm-0" within 6000 ms (@test)')) });
    expect(await errorOf(s.call(MAP_IFACE, 'Resize', mapObjectPath(s.map.wwid), [{}]))).toBe('Failed: multipathd: multipathd did not answer "resize map dm-0" within 6000 ms (@test)');
    expect(s.steps).not.toContain('reread');
    expect(s.audit).toEqual([expect.objectContaining({ outcome: 'failed', command: `resize map ${s.map.sysfsName}` })]);
  });

  it('a caller the bus cannot identify (gone already) is NotAuthorized: nobody is asked, nothing sent', async () => {
    const s = setup({ unidentified: true });
    expect(await errorOf(s.call(PATH_IFACE, 'Fail', pathObjectPath(s.dev), [{}]))).toBe('NotAuthorized: cannot tell who :1.7 is: GetConnectionCredentials: :1.7 has no owner');
    expect(s.steps.filter((x) => x !== 'identify')).toEqual([]);
    expect(s.audit).toEqual([expect.objectContaining({ outcome: 'denied', caller: undefined })]);
  });

  it.each(MANAGED_METHODS.map((m) => [`${m.iface.slice(m.iface.lastIndexOf('.') + 1)}.${m.name}`, m] as const))('%s on an object that is not there (or not of its kind) is NotFound, and nothing is sent', async (_name, method) => {
    const s = setup();
    const args = method.name === 'SwitchGroup' ? [1, {}] : method.name === 'SetQueueing' ? [false, {}] : [{}];
    const targets = [pathObjectPath('sdzz'), mapObjectPath('no-such-wwid'), `${mapObjectPath(s.map.wwid)}/group1`, '/org/kernel/linux/storage/multipath1/elsewhere'];
    for (const target of method.iface === MANAGER.name ? ['/org/kernel/linux/storage/multipath1/maps'] : targets) {
      expect(await errorOf(s.call(method.iface, method.name, target, args)), target).toBe(`NotFound: no such object: ${target}`);
    }
    expect(s.steps.filter((x) => x !== 'identify')).toEqual([]);
  });

  it('returns once the published state shows the effect, and fails with a timeout if it never does', async () => {
    const s = setup({ timeoutMs: 300 });
    const t0 = Date.now();
    expect(await errorOf(s.call(PATH_IFACE, 'Fail', pathObjectPath(s.dev), [{}]))).toMatch(/^Failed: timeout: multipathd accepted "fail path sd\w+" but its effect did not show within 300 ms$/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(s.steps.slice(-2)).toEqual([`multipathd fail path ${s.dev}`, 'reread']);
  });

  it('leaves a path\'s failure to the kernel\'s uevent while uevents arrive, so the signal carries its DM_SEQNUM', async () => {
    const s = setup({ kernelEvents: true });
    const call = s.call(PATH_IFACE, 'Fail', pathObjectPath(s.dev), [{}]);
    await expect.poll(() => s.steps.at(-1)).toBe(`multipathd fail path ${s.dev}`);
    s.published.burst({ topology: withPath(s.published.topology, s.map, s.path, 'failed'), changed: new Map(), manager: {} as never, eventSerial: 1n, full: false });
    expect(await errorOf(call)).toBe('no error');
    expect(s.steps).not.toContain('reread');
    // Resize has no uevent: it is read back whatever the kernel's events do.
    await s.call(MAP_IFACE, 'Resize', mapObjectPath(s.map.wwid), [{}]);
    expect(s.steps.at(-1)).toBe('reread');
  });

  it('asks a read when the kernel stays silent, and answers from what it shows', async () => {
    const confirmAfterMs = 200;
    const shown = setup({ kernelEvents: true, confirmAfterMs, read: (now) => withPath(now, shown.map, shown.path, 'failed') });
    let t0 = Date.now();
    expect(await errorOf(shown.call(PATH_IFACE, 'Fail', pathObjectPath(shown.dev), [{}]))).toBe('no error');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(confirmAfterMs - 10);
    expect(shown.steps.slice(-2)).toEqual([`multipathd fail path ${shown.dev}`, 'reread']);
    expect(shown.audit.at(-1)?.outcome).toBe('done');

    // multipathd said ok, and neither the kernel nor a read shows it: a clear Failed, long before the timeout.
    const unseen = setup({ kernelEvents: true, confirmAfterMs, timeoutMs: 20_000 });
    t0 = Date.now();
    expect(await errorOf(unseen.call(PATH_IFACE, 'Fail', pathObjectPath(unseen.dev), [{}]))).toBe(
      `Failed: multipathd accepted "fail path ${unseen.dev}", but the kernel did not announce it within ${confirmAfterMs} ms and a read of multipathd and device-mapper afterwards does not show it`,
    );
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(unseen.steps.at(-1)).toBe('reread');
  });
});

describe('what the log says about the caller', () => {
  it('names the unit from /proc/PID/cgroup: the innermost service or scope', () => {
    expect(unitFromCgroup('0::/user.slice/user-1000.slice/session-3.scope\n')).toBe('session-3.scope');
    expect(unitFromCgroup('0::/system.slice/cockpit.service\n')).toBe('cockpit.service');
    expect(unitFromCgroup('0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-foo-1234.scope\n')).toBe('app-gnome-foo-1234.scope');
    expect(unitFromCgroup('12:cpu:/\n1:name=systemd:/system.slice/ssh.service\n')).toBe('ssh.service');
    expect(unitFromCgroup('0::/\n')).toBe('');
    expect(unitFromCgroup('')).toBe('');
  });

  it('writes one line: the call in words, then journal-style fields, quoted where needed', () => {
    const line = auditMessage({
      method: 'Map.Resize',
      object: '/o/maps/x',
      sender: ':1.9',
      caller: { sender: ':1.9', uid: 1000, pid: 4242, unit: 'session-3.scope' },
      outcome: 'failed',
      command: 'resize map dm-0',
      detail: 'multipathd refused "resize map dm-0": "fail"',
    });
    expect(line).toBe(
      'Map.Resize on /o/maps/x by uid 1000: failed (multipathd refused "resize map dm-0": "fail"); MULTIPATH_METHOD=Map.Resize MULTIPATH_OBJECT=/o/maps/x ' +
        'MULTIPATH_OUTCOME=failed OBJECT_PID=4242 MULTIPATH_CALLER_UID=1000 MULTIPATH_CALLER_UNIT=session-3.scope MULTIPATH_CALLER_BUS_NAME=:1.9 ' +
        'MULTIPATH_COMMAND="resize map dm-0" MULTIPATH_DETAIL="multipathd refused \\"resize map dm-0\\": \\"fail\\""',
    );
  });
});
