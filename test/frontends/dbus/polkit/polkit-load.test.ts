// One user must not make polkit refuse everyone. uid 65534 keeps hundreds of management calls
// in flight (bench/hammer.ts, Manager.Reconfigure, over several connections: dbus-daemon lets
// one connection await 128 replies), which the rules deny; meanwhile the uid the rules grant
// is authorized every time, and root, who never asks polkit, is answered at once. Against the
// real service on a private system-like bus, with a real polkitd (test/helpers/polkit.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_CONFIGURE, MANAGER_IFACE } from '../../../../src/frontends/dbus/api';
import { callMethod } from '../../../../src/frontends/dbus/bus/connection';
import { NOBODY, runAs, spawnAs } from '../../../helpers/dbus-daemon';
import { GRANTED_UID, POLKIT_BUS_POLICY, rulesFor, startPolkit, userName, type Polkit } from '../../../helpers/polkit';
import { BUS_NAME, ROOT_PATH, startHarness, type Harness } from '../../../helpers/service-harness';
import { tsxArgs } from '../../../helpers/world-readable-copy';

/** Longer than the calls measured under it take, even on a slow machine (checked: it is still running after them); stopped after them. */
const HAMMER_SECONDS = 60;
const IN_FLIGHT = 600;
const CALLS = 8;

let h: Harness;
let polkit: Polkit;

/** Reconfigure as `uid` through gdbus, as a user would call it: its outcome and how long it took. */
async function reconfigureAs(uid: number): Promise<{ ms: number; code: number | null; stdout: string; stderr: string }> {
  const t0 = performance.now();
  const r = await runAs(uid, 'gdbus', ['call', '--address', h.bus.address, '--dest', BUS_NAME, '--object-path', ROOT_PATH, '--method', `${MANAGER_IFACE}.Reconfigure`, '{}']);
  return { ms: performance.now() - t0, ...r };
}

/** Reconfigure as root, on the harness's own connection (no process to start): how long it took. */
async function reconfigureAsRoot(): Promise<number> {
  const t0 = performance.now();
  await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Reconfigure', 'a{sv}', [{}]);
  return performance.now() - t0;
}

const fmt = (ms: number[]) => ms.map((m) => m.toFixed(0)).join(', ');

async function until(what: string, pred: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(process.getuid?.() !== 0)('polkit under one uid’s flood of management calls', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    h = await startHarness({ maps: 2, pathsPerMap: 2, groupsPerMap: 2 }, {}, undefined, { busIncludes: [POLKIT_BUS_POLICY] });
    polkit = await startPolkit(h.bus.address, { rules: { '10-test.rules': rulesFor(`${BUS_NAME}.`, [GRANTED_UID], [NOBODY]) } });
  });
  afterAll(async () => {
    await polkit?.stop().catch(() => undefined);
    await h?.stop();
  });

  it('still authorizes the granted uid every time, and answers root at once', async () => {
    const idleRoot = [await reconfigureAsRoot(), await reconfigureAsRoot()];
    const idleGranted = await reconfigureAs(GRANTED_UID);
    expect(idleGranted.stdout.trim(), idleGranted.stderr).toBe('()');

    const hammer = spawnAs(NOBODY, process.execPath, [...tsxArgs('bench/hammer.ts'), h.bus.address, 'Reconfigure', String(HAMMER_SECONDS), String(IN_FLIGHT)]);
    let out = '';
    let err = '';
    hammer.stdout!.on('data', (d) => (out += d));
    hammer.stderr!.on('data', (d) => (err += d));
    const report = new Promise<{ ok: number; errors: Record<string, number> }>((resolve, reject) =>
      hammer.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`hammer: ${code} ${err}`)))),
    );
    // Under way once polkit has denied it something.
    await until('polkit to deny uid 65534', () => polkit.output().includes(`test rule: NO ${ACTION_CONFIGURE} for ${userName(NOBODY)}`));
    const t0 = performance.now();

    const granted: Awaited<ReturnType<typeof reconfigureAs>>[] = [];
    const root: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      granted.push(await reconfigureAs(GRANTED_UID));
      root.push(await reconfigureAsRoot());
    }
    const stillHammering = hammer.exitCode === null;
    const seconds = (performance.now() - t0) / 1000;
    hammer.kill('SIGTERM');
    const hammered = await report;
    console.log(
      `uid 65534 with ${IN_FLIGHT} Reconfigure calls in flight, answers in ${seconds.toFixed(1)} s: ${JSON.stringify(hammered.errors)}, ${hammered.ok} succeeded\n` +
        `granted uid (gdbus, ms): idle ${idleGranted.ms.toFixed(0)}, under load ${fmt(granted.map((g) => g.ms))}\n` +
        `root (ms): idle ${fmt(idleRoot)}, under load ${fmt(root)}`,
    );
    expect(stillHammering, `the hammer ran out before the ${CALLS} calls were made; raise HAMMER_SECONDS`).toBe(true);
    for (const g of granted) expect({ code: g.code, stdout: g.stdout.trim(), stderr: g.stderr }).toEqual({ code: 0, stdout: '()', stderr: '' });
    // Generous (each starts gdbus on a busy machine): well inside the 25 s a D-Bus client waits.
    for (const g of granted) expect(g.ms).toBeLessThan(10_000);
    for (const ms of root) expect(ms).toBeLessThan(2000);
    // uid 65534 got answers (refusals), never silence, and none of its calls did anything.
    expect(hammered.ok).toBe(0);
    expect(Object.keys(hammered.errors).sort()).toEqual(expect.arrayContaining([`${BUS_NAME}.Error.NotAuthorized`]));
    for (const name of Object.keys(hammered.errors)) expect(name).toMatch(/\.Error\.(NotAuthorized|LimitsExceeded)$/);
  });
});
