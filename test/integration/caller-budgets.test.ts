// The caller budgets of the Security model, met as an unprivileged user meets them: through a
// real dbus-daemon with our policy, as uid 65534 (and 1), against 1,000 maps x 4 paths,
// where one GetManagedObjects reply is about 6 MB. Only the bucket arithmetic is unit-tested
// (test/frontends/dbus/caller-budgets.test.ts); these check that the service applies it to every call.
// The reads use busctl (sd-bus parses 6 MB ten times faster than dbus-next), so the client,
// not the budget, is never what limits the rate; bursts go through test/helpers/bus-call.js.
import * as dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_IFACE } from '../../src/frontends/dbus/api';
import { sizeOf } from '../../src/frontends/dbus/bus/wire';
import { DEFAULT_BUDGET } from '../../src/frontends/dbus/caller-budgets';
import { NOBODY, runAs, spawnAs } from '../helpers/dbus-daemon';
import { BUS_NAME, ROOT_PATH, startHarness, type Harness } from '../helpers/service-harness';
import { hammerAs, multipathdReads, untilReadsExceed } from '../helpers/unprivileged-callers';
import { worldReadable } from '../helpers/world-readable-copy';

const OBJECT_MANAGER = 'org.freedesktop.DBus.ObjectManager';
const NO_REPLY_EXPECTED = 1;
const { burstBytes: BURST, bytesPerSecond: RATE, perCallBytes: PER_CALL, maxWaiting: MAX_WAITING } = DEFAULT_BUDGET;
/** A second unprivileged uid, with a bucket of its own ("daemon": dbus-daemon turns away a uid without a passwd entry). */
const OTHER = 1;

type Answer = { ok: true; ms: number } | { ok: false; error: string; ms: number } | { sent: true };

describe.skipIf(process.getuid?.() !== 0)('caller budgets through the bus, at 1,000 x 4', () => {
  let h: Harness;
  /** What one GetManagedObjects costs a caller: 4 KiB plus at least the reply's body. */
  let cost: number;

  beforeAll(async () => {
    h = await startHarness({ maps: 1000, pathsPerMap: 4 });
    const reply = await h.client.raw.call(new dbus.Message({ destination: BUS_NAME, path: ROOT_PATH, interface: OBJECT_MANAGER, member: 'GetManagedObjects' }));
    cost = PER_CALL + sizeOf('a{oa{sa{sv}}}', (reply as unknown as { body: unknown[] }).body[0]);
  }, 60_000);
  afterAll(async () => h?.stop());

  const readAllAs = async (uid: number) => {
    const r = await runAs(uid, 'busctl', [`--address=${h.bus.address}`, 'call', '--quiet', BUS_NAME, ROOT_PATH, OBJECT_MANAGER, 'GetManagedObjects']);
    expect(r.code, r.stderr).toBe(0);
  };

  /**
   * GetManagedObjects as `uid`, one after the other, until the budget's own arithmetic says the
   * uid's bucket (full at the start: a uid that has not called yet) is half a call in debt:
   * the bucket refills at RATE and never holds more than BURST, so what it holds is at most
   * BURST + RATE x elapsed - calls x cost. Returns when each call was answered, in seconds.
   */
  async function exhaust(uid: number): Promise<number[]> {
    const t0 = Date.now();
    const answered: number[] = [];
    while (answered.length * cost < BURST + (RATE * (Date.now() - t0)) / 1000 + cost / 2) {
      if (answered.length > 3 * (BURST / cost)) throw new Error(`this machine reads less than ${RATE} bytes/s: the budget cannot be exhausted`);
      await readAllAs(uid);
      answered.push((Date.now() - t0) / 1000);
    }
    return answered;
  }

  /** Send `calls` as `uid` at once on one connection, when the test says so (`go`), and collect the answers. */
  async function burstAs(uid: number, calls: Record<string, unknown>[], go: () => Promise<void>): Promise<Answer[]> {
    const child = spawnAs(uid, process.execPath, [worldReadable('test/helpers/bus-call.js'), h.bus.address, JSON.stringify(calls), '--together']);
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.startsWith('ready\n')) resolve();
      });
      void closed.then(() => reject(new Error(`bus-call as ${uid} exited before it was ready: ${err}`)));
    });
    await go();
    child.kill('SIGUSR2');
    const code = await closed;
    if (code !== 0) throw new Error(`bus-call as ${uid}: ${code} ${err}`);
    return JSON.parse(out.slice('ready\n'.length)) as Answer[];
  }

  const ping = { destination: BUS_NAME, path: ROOT_PATH, interface: 'org.freedesktop.DBus.Peer', member: 'Ping' };

  it('GetManagedObjects hammered by uid 65534: 32 MiB at once, then 2 MiB/s; with 32 calls waiting, the next is refused at once', async () => {
    // Enough calls that the last few can only have been admitted after waiting for the refill.
    // The burst of pings that follows is made ready first, so it leaves the moment they end.
    const calls = Math.ceil(BURST / cost) + 6;
    const answered: number[] = [];
    const n = MAX_WAITING + 8;
    const answers = await burstAs(NOBODY, Array.from({ length: n }, () => ping), async () => {
      const t0 = Date.now();
      for (let i = 0; i < calls; i++) {
        await readAllAs(NOBODY);
        answered.push((Date.now() - t0) / 1000);
      }
    });
    const free = Math.floor(BURST / cost);
    const gaps = answered.slice(free + 1).map((t, i) => t - answered[free + i]);
    const meanGap = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    console.log(
      `GetManagedObjects as uid 65534: ${cost} bytes a call; answered at ${answered.map((t) => t.toFixed(2)).join(', ')} s; ` +
        `after the burst one every ${meanGap.toFixed(2)} s (the budget: ${(cost / RATE).toFixed(2)} s)`,
    );
    // Call i (from 0) was admitted only while the bucket held something: i x cost < BURST + RATE x t.
    answered.forEach((t, i) => expect(t, `call ${i + 1} answered after ${t} s`).toBeGreaterThanOrEqual((i * cost - BURST) / RATE));
    // The burst is not rationed: the calls it covers came faster than the sustained rate would give them.
    expect(answered[free - 1]).toBeLessThan((0.5 * free * cost) / RATE);
    // Once it is spent, a caller waits for the refill and no longer (a day 3x slower still reads faster than that).
    expect(meanGap).toBeLessThan((1.5 * cost) / RATE);

    // The bucket was then a whole reply in debt (its next release cost/RATE s away): the pings
    // found it empty. 32 waited, and were answered in order; the rest were refused before any.
    const ok = answers.flatMap((a, i) => ('ok' in a && a.ok ? [i] : []));
    const refused = answers.filter((a): a is { ok: false; error: string; ms: number } => 'ok' in a && !a.ok);
    const firstAnswer = Math.min(...ok.map((i) => (answers[i] as { ms: number }).ms));
    const lastRefusal = Math.max(...refused.map((a) => a.ms));
    console.log(`then ${n} pings at once: ${ok.length} answered, the first after ${firstAnswer} ms; ${refused.length} refused, the last after ${lastRefusal} ms`);
    expect(ok).toEqual([...Array(MAX_WAITING).keys()]);
    expect(refused.map((a) => a.error)).toEqual(Array(n - MAX_WAITING).fill('org.freedesktop.DBus.Error.LimitsExceeded'));
    expect(lastRefusal).toBeLessThan(firstAnswer);
  }, 120_000);

  it('a query sent with NO_REPLY_EXPECTED is not run: it neither waits nor takes a place in the queue; Refresh without a reply runs', async () => {
    let spent: number[] = [];
    const query = (member: string, signature = '', body: unknown[] = []) => ({
      destination: BUS_NAME,
      path: ROOT_PATH,
      interface: member === 'GetManagedObjects' ? OBJECT_MANAGER : MANAGER_IFACE,
      member,
      signature,
      body,
      flags: NO_REPLY_EXPECTED,
    });
    // Had they been admitted, the 20 queries would hold 20 of the 32 places and 28 pings would be refused.
    const unanswered = [...Array.from({ length: 10 }, () => query('GetManagedObjects')), ...Array.from({ length: 10 }, () => query('GetEvents', 'tu', [0, 1000]))];
    const answers = await burstAs(OTHER, [...unanswered, ...Array.from({ length: MAX_WAITING + 8 }, () => ping)], async () => {
      spent = await exhaust(OTHER);
    });
    const pings = answers.slice(unanswered.length);
    console.log(`uid ${OTHER}'s bucket spent in ${spent.length} reads (${spent.at(-1)?.toFixed(2)} s); then ${unanswered.length} queries without reply and ${pings.length} pings: ${pings.filter((a) => 'ok' in a && a.ok).length} answered`);
    expect(pings.map((a) => ('ok' in a && a.ok ? 'answered' : 'refused'))).toEqual([...Array(MAX_WAITING).fill('answered'), ...Array(8).fill('refused')]);

    // A method without results is worth running for its effect: root's Refresh, sent without
    // waiting for a reply, still re-reads multipathd.
    const before = multipathdReads(h);
    h.client.raw.send(new dbus.Message({ destination: BUS_NAME, path: ROOT_PATH, interface: MANAGER_IFACE, member: 'Refresh', flags: NO_REPLY_EXPECTED }));
    await untilReadsExceed(h, before);
  }, 120_000);

  it('two unprivileged uids (65534 and 1) hammering Refresh together still cause at most one re-read per 10 s', async () => {
    const before = multipathdReads(h);
    const t0 = Date.now();
    const reports = await Promise.all([hammerAs(NOBODY, h.bus.address, 'Refresh', 6), hammerAs(OTHER, h.bus.address, 'Refresh', 6)]);
    const wall = (Date.now() - t0) / 1000;
    const reads = multipathdReads(h) - before;
    console.log(`Refresh as uids 65534 and ${OTHER}, 16 in flight each: ${reports.map((r) => r.ok).join(' + ')} calls answered, ${reads} re-reads in ${wall.toFixed(1)} s`);
    for (const r of reports) {
      expect(r.ok).toBeGreaterThan(0);
      expect(r.errors).toEqual({});
    }
    // One at once, the next 10 s later, and so on: both uids share them.
    expect(reads).toBeLessThanOrEqual(Math.floor(wall / 10) + 1);
  }, 120_000);
});
