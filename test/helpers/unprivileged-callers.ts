// The hostile callers of the caller budget tests (bench/hammer.ts run as another uid, with
// setpriv, from the world-readable copy), and what they make the service do to multipathd.
import { spawnAs } from './dbus-daemon';
import type { Harness } from './service-harness';
import { tsxArgs } from './world-readable-copy';

export interface HammerReport {
  ok: number;
  errors: Record<string, number>;
}

/** Call `method` as fast as it is answered, `inFlight` calls at a time, for `seconds`, as `uid`. */
export function hammerAs(uid: number, address: string, method: string, seconds: number, inFlight = 16): Promise<HammerReport> {
  const child = spawnAs(uid, process.execPath, [...tsxArgs('bench/hammer.ts'), address, method, String(seconds), String(inFlight)]);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`hammer as ${uid}: ${code} ${err}`)))));
}

/** Re-reads of multipathd so far: the `show maps json` requests the simulator received. */
export const multipathdReads = (h: Harness): number => h.sim.requests.filter((r) => r === 'show maps json').length;

/** Wait until the simulator has received more than `n` re-reads (a readiness signal, not a sleep). */
export async function untilReadsExceed(h: Harness, n: number, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (multipathdReads(h) <= n) {
    if (Date.now() > end) throw new Error(`no re-read of multipathd within ${ms} ms (still ${multipathdReads(h)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
