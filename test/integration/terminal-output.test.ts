// Strings from a storage array reach the user's terminal through show, status and monitor.
// The simulated multipathd reports a vendor, a product and a map name carrying escape
// sequences (raw, as multipathd 0.9.4 prints them); the real commands must show them
// escaped, and --json must keep them exact.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, run, startHarness, type Harness } from '../helpers/service-harness';

const VENDOR = 'EVIL\x1b[2J';
const PRODUCT = 'LUN\x07\u009b31m';
const NAME = 'mpath\x1b]0;owned\x07a';
// Everything a terminal acts on instead of printing.
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ maps: 2, pathsPerMap: 2, vendor: VENDOR, product: PRODUCT, names: [NAME, 'mpathb'] });
});
afterAll(async () => h.stop());

/** Run the CLI until its output matches, then SIGINT it as a user's Ctrl-C would. */
function runUntil(args: string[], done: RegExp): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, args);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ${done} in: ${stdout} ${stderr}`));
    }, 20_000);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (done.test(stdout)) child.kill('SIGINT');
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}

describe('terminal output of strings from outside', () => {
  it('show prints vendor, product and map name escaped; --json keeps them exact', async () => {
    const r = await run(CLI, ['show', '--bus', h.bus.address]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(RAW);
    expect(r.stdout).toContain('mpath\\x1b]0;owned\\aa (');
    expect(r.stdout).toContain('EVIL\\x1b[2J,LUN\\a\\u009b31m [');

    const j = await run(CLI, ['show', '--bus', h.bus.address, '--json']);
    const maps = JSON.parse(j.stdout) as { Name: string; Vendor: string; Product: string }[];
    expect(maps.map((m) => [m.Name, m.Vendor, m.Product])).toEqual([
      [NAME, VENDOR, PRODUCT],
      ['mpathb', VENDOR, PRODUCT],
    ]);
  });

  it('status prints the map name escaped and aligned; --json keeps it exact', async () => {
    const r = await run(CLI, ['status', '--bus', h.bus.address]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(RAW);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^mpath\\x1b\]0;owned\\aa {2}/);
    expect(lines[1].indexOf('  3600')).toBe(lines[0].indexOf('  3600'));

    const j = await run(CLI, ['status', '--bus', h.bus.address, '--json']);
    expect((JSON.parse(j.stdout) as { Name: string }[]).map((m) => m.Name)).toEqual([NAME, 'mpathb']);
  });

  it('monitor names the map escaped; --json keeps it exact', async () => {
    const dev = h.sim.maps()[0].paths[0].dev;
    h.kernel(h.sim.failPath(dev));
    await h.waitFor((s) => s.some((x) => x.member === 'PathFailed'), 'PathFailed');

    const r = await runUntil(['monitor', '--bus', h.bus.address, '--since', '0'], /PathFailed.*\n/);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(RAW);
    expect(r.stdout).toMatch(/PathFailed mpath\\x1b\]0;owned\\aa Path=/);

    const j = await runUntil(['monitor', '--bus', h.bus.address, '--since', '0', '--json'], /PathFailed.*\n/);
    const line = j.stdout.split('\n').find((l) => l.includes('PathFailed'))!;
    expect((JSON.parse(line) as { target: string }).target).toBe(NAME);
  });
});
