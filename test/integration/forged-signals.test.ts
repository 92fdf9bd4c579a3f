// Bus-driver signals come only from the bus driver. Any uid may send the service a
// NameOwnerChanged of its own making; one saying "my connection left" must not make the
// service forget who the caller is and charge its calls to nobody's budget. Two hammers
// (bench/hammer.ts) read as fast as they are answered, each as its own unprivileged uid with
// its own budget: one honest, one forging that signal after every reply. Both must be held
// to the same budget.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOBODY, spawnAs } from '../helpers/dbus-daemon';
import { tsxArgs } from '../helpers/world-readable-copy';
import { startHarness, type Harness } from '../helpers/service-harness';

const SECONDS = 4;
/** Another unprivileged uid (bin: dbus-daemon refuses a uid without a passwd entry), with a budget of its own. */
const HONEST = 2;
/** Small enough that the budget, not the CPU, decides how many replies either gets. */
const BUDGET = { bytesPerSecond: 64 * 1024, burstBytes: 64 * 1024, perCallBytes: 1024, maxWaiting: 32, managementCallBytes: 64 * 1024 };

interface Report {
  ok: number;
  errors: Record<string, number>;
}

function hammer(h: Harness, uid: number, forge: boolean): Promise<Report> {
  const args = [...tsxArgs('bench/hammer.ts'), h.bus.address, 'GetManagedObjects', String(SECONDS), '16', ...(forge ? ['forge'] : [])];
  const child = spawnAs(uid, process.execPath, args);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`hammer as uid ${uid}: ${code} ${err}`)))));
}

describe.skipIf(process.getuid?.() !== 0)('a caller forging NameOwnerChanged about itself', { timeout: 120_000 }, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ maps: 16, pathsPerMap: 4 }, {}, undefined, { budget: BUDGET });
  });
  afterAll(async () => h?.stop());

  it('is throttled as much as an honest caller of the same method', async () => {
    const [honest, forging] = await Promise.all([hammer(h, HONEST, false), hammer(h, NOBODY, true)]);
    console.log(`GetManagedObjects replies in ${SECONDS} s at ${BUDGET.bytesPerSecond} bytes/s: honest uid ${honest.ok}, forging uid ${forging.ok} (${(forging.ok / honest.ok).toFixed(2)} x)`);
    expect(honest.errors).toEqual({});
    expect(forging.errors).toEqual({});
    expect(honest.ok).toBeGreaterThan(0);
    // The same budget: the same number of replies, give or take the calls in flight at the end.
    expect(forging.ok).toBeLessThanOrEqual(honest.ok * 1.25 + 16);
  });
});
