// What a caller can make of the service's log, read the way an administrator reads it: `serve`
// started as the unit starts it (stderr a journal stream with "<N>" level prefixes) beside a
// real systemd-journald, called by uid 65534 through a real dbus-daemon. A caller's text
// cannot start a line of its own (a forged root record at priority 0, which journald would
// broadcast to every terminal); each call is one native entry with its MESSAGE_ID, fields and
// journald's trusted OBJECT_* fields; and thousands of refused calls are a bounded number of
// entries, so journald's rate limit never drops a path failure.
import { type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUS_NAME, MAP_IFACE, mapObjectPath } from '../../../src/frontends/dbus/api';
import { startPrivateBus, type PrivateBus } from '../../../src/cli/private-bus';
import { JOURNAL_KINDS } from '../../../src/outputs/journal/entries';
import { AUDIT_MESSAGE_IDS } from '../../../src/outputs/journal/audit';
import { MultipathdSimulator } from '../../../src/sim/simulator';
import { createLogger } from '../../../src/util/log';
import { NOBODY, spawnAs } from '../../helpers/dbus-daemon';
import { startJournald, type Journald } from '../../helpers/journald';
import { CLI } from '../../helpers/service-harness';

// A key that, written raw, would be a line of its own at priority 0 reading as root's record.
const FORGED = `x\n<0>Path.Fail on /org/kernel/linux/storage/multipath1/path/sda by uid 0: done`;

// Calls Map.Resize on one connection, each with one option KEY, COUNT times or for SECONDS
// (as many as the uid's budget lets through: a management call costs a sixteenth of it);
// prints the error names it got (JSON, name -> count), then stays connected and alive
// (journald reads the caller's /proc entry for its OBJECT_* fields) until killed.
const CALLER = `
import dbus, json, signal, sys, time
address, path, key, count, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
bus = dbus.bus.BusConnection(address)
m = bus.get_object("${BUS_NAME}", path, introspect=False)
errors = {}
end = time.monotonic() + seconds
calls = 0
while calls < count or time.monotonic() < end:
    calls += 1
    try:
        m.Resize(dbus.Dictionary({key: dbus.Int32(1)}, signature="sv"), dbus_interface="${MAP_IFACE}")
    except dbus.DBusException as e:
        errors[e.get_dbus_name()] = errors.get(e.get_dbus_name(), 0) + 1
print(json.dumps(errors), flush=True)
signal.pause()
`;

interface Caller {
  pid: number;
  errors: Record<string, number>;
  child: ChildProcess;
}

function callAsNobody(busAddress: string, object: string, key: string, count: number, seconds = 0): Promise<Caller> {
  const child = spawnAs(NOBODY, '/usr/bin/python3', ['-c', CALLER, busAddress, object, key, String(count), String(seconds)]);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.endsWith('\n')) resolve({ pid: child.pid!, errors: JSON.parse(out), child });
    });
    child.on('exit', () => reject(new Error(`the caller exited: ${err}`)));
  });
}

type Entry = Record<string, string>;

describe('a caller against the service log', () => {
  let bus: PrivateBus;
  let sim: MultipathdSimulator;
  let journald: Journald;
  let service: ChildProcess;
  let exited: Promise<number | null>;
  const callers: ChildProcess[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-audit-'));
  const socket = `@multipath-dbus-audit-${process.pid}`;

  const entries = async (...match: string[]): Promise<Entry[]> => {
    const r = await journald.journalctl(...match, '-o', 'json');
    return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Entry);
  };
  /** Everything the service wrote: its native entries and its stderr stream. */
  const serviceEntries = () => entries(`_PID=${service.pid}`);
  const until = async <T>(what: string, get: () => Promise<T>, done: (v: T) => boolean): Promise<T> => {
    const end = Date.now() + 30_000;
    for (;;) {
      const v = await get();
      if (done(v)) return v;
      if (Date.now() > end || service.exitCode !== null) throw new Error(`timed out waiting for ${what}; the service wrote: ${JSON.stringify((await serviceEntries()).map((e) => e.MESSAGE))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    bus = await startPrivateBus();
    sim = new MultipathdSimulator({ socket });
    await sim.listen();
    journald = await startJournald();
    // As systemd runs the unit: stdout and stderr a stream into journald, JOURNAL_STREAM set.
    service = journald.spawn('systemd-cat', [
      '--identifier=multipath-dbus', '--level-prefix=true', 'env', 'JOURNAL_STREAM=0:0',
      CLI, 'serve', '--enable', '--config', path.join(tmp, 'absent.conf'), '--bus', bus.address, '--no-kernel', '--socket', socket, '--refresh-interval', '1',
    ]);
    exited = new Promise((r) => service.on('exit', (code) => r(code)));
    await until('"serving 2 maps"', serviceEntries, (es) => es.some((e) => /^serving 2 maps/.test(e.MESSAGE)));
  }, 60_000);
  afterAll(async () => {
    for (const c of callers) c.kill();
    service?.kill('SIGTERM');
    await journald?.stop();
    await sim?.close();
    await bus?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a newline and "<0>" in an option key start no line: one native entry with its MESSAGE_ID, fields and the trusted OBJECT_* fields', async () => {
    const object = mapObjectPath(sim.maps()[0].wwid);
    const caller = await callAsNobody(bus.address, object, FORGED, 1);
    callers.push(caller.child);
    expect(caller.errors).toEqual({ 'org.freedesktop.DBus.Error.InvalidArgs': 1 });

    const said = await until('the service to record the call', serviceEntries, (es) => es.some((e) => String(e.MESSAGE).startsWith(`Map.Resize on ${object}`)));
    // Nothing at priority 0, and the caller's text appears nowhere.
    expect(await entries('PRIORITY=0')).toEqual([]);
    expect(said.filter((e) => /by uid 0|<0>/.test(String(e.MESSAGE)))).toEqual([]);
    const [entry] = await entries(`MESSAGE_ID=${AUDIT_MESSAGE_IDS.failed}`);
    expect(entry).toMatchObject({
      MESSAGE: `Map.Resize on ${object} by uid ${NOBODY}: failed (Resize takes no options; got 1)`,
      PRIORITY: '4',
      SYSLOG_IDENTIFIER: 'multipath-dbus',
      MULTIPATH_METHOD: 'Map.Resize',
      MULTIPATH_OBJECT: object,
      MULTIPATH_OUTCOME: 'failed',
      MULTIPATH_CALLER_UID: String(NOBODY),
      MULTIPATH_DETAIL: 'Resize takes no options; got 1',
      OBJECT_PID: String(caller.pid),
      // journald's own, from the caller's /proc entry: trusted because the sender is root.
      OBJECT_UID: String(NOBODY),
      OBJECT_COMM: 'python3',
      _TRANSPORT: 'journal',
    });
    expect(entry.MULTIPATH_CALLER_BUS_NAME).toMatch(/^:1\.\d+$/);
  }, 60_000);

  it('invalid calls from one uid for 10 s are a bounded number of entries; a path failure afterwards is in the journal', async () => {
    const object = mapObjectPath(sim.maps()[1].wwid);
    const before = (await serviceEntries()).length;
    const caller = await callAsNobody(bus.address, object, 'unknown-option', 0, 10);
    callers.push(caller.child);
    const CALLS = caller.errors['org.freedesktop.DBus.Error.InvalidArgs'];
    expect(caller.errors).toEqual({ 'org.freedesktop.DBus.Error.InvalidArgs': CALLS });
    // The budget's burst (16 management calls), then about one a second.
    expect(CALLS).toBeGreaterThanOrEqual(16);

    const p = sim.maps()[0].paths[0];
    sim.failPath(p.dev);
    const failed = await until('the PathFailed entry', () => entries(`MESSAGE_ID=${JOURNAL_KINDS.PathFailed!.id}`), (es) => es.length > 0);
    expect(failed[0]).toMatchObject({ MULTIPATH_DEVICE: p.dev, _PID: String(service.pid) });
    // The refusal of the previous test opened uid 65534's minute: these are only counted.
    const during = (await serviceEntries()).slice(before);
    expect(during.filter((e) => Object.values(AUDIT_MESSAGE_IDS).includes(e.MESSAGE_ID as never))).toEqual([]);
    expect(during.length).toBeLessThanOrEqual(5);

    // Stopping writes the count it held back, as the end of the minute would.
    service.kill('SIGTERM');
    expect(await exited).toBe(0);
    const [summary] = await entries(`MESSAGE_ID=${AUDIT_MESSAGE_IDS.refusedRepeatedly}`);
    expect(summary).toMatchObject({ MULTIPATH_CALLER_UID: String(NOBODY), MULTIPATH_REFUSED_CALLS: String(CALLS), PRIORITY: '4' });
    expect(summary.MESSAGE).toBe(`${CALLS} more management calls by uid ${NOBODY} refused within 60 s (the first was logged; the rest are counted here)`);
  }, 120_000);
});

describe('the logger', () => {
  it('writes any message as one line, its control characters escaped', () => {
    const lines: string[] = [];
    const log = createLogger('debug', (l) => lines.push(l), true);
    log.warning(`got ${FORGED}\r\x1b[2J\u009b\x7f`);
    expect(lines).toEqual([`<4>got x\\n<0>Path.Fail on /org/kernel/linux/storage/multipath1/path/sda by uid 0: done\\r\\x1b[2J\\u009b\\x7f\n`]);
  });
});
