// Strings from a storage array reach the user's terminal through every command: show, status,
// monitor, snapshot, and the management commands, whose errors quote the service's text.
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

  it('snapshot, reading multipathd itself, prints them escaped', async () => {
    const r = await run(CLI, ['snapshot', '--socket', h.sim.socket]);
    expect(r.stdout + r.stderr).not.toMatch(RAW);
    expect(r.stdout).toContain('mpath\\x1b]0;owned\\aa (');
  });

  it("management commands print the service's error text, and what they did, escaped", async () => {
    const cli = (...args: string[]) => run(CLI, [...args, '--bus', h.bus.address]);
    // The service's refusal quotes the map's name.
    const refused = await cli('switch-group', NAME, '9');
    expect(refused.code).toBe(1);
    expect(refused.stderr).not.toMatch(RAW);
    expect(refused.stderr).toContain('map mpath\\x1b]0;owned\\aa has groups 1 to 2');
    // Names the user gave, as the client's own errors and its success lines repeat them.
    for (const args of [['fail', 'sd\x1b[2J'], ['reinstate', 'sd\x1b[2J'], ['resize', 'mpath\x9b2J'], ['queueing', 'mpath\x9b2J', 'on']]) {
      const r = await cli(...args);
      expect(r.code, args[0]).toBe(2);
      expect(r.stderr, args[0]).not.toMatch(RAW);
      expect(r.stderr, args[0]).toMatch(/named (sd\\x1b\[2J|mpath\\u009b2J)$/m);
    }
    for (const args of [['queueing', NAME, 'off'], ['resize', NAME], ['reconfigure']]) {
      const r = await cli(...args);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(0);
      expect(r.stdout + r.stderr, args[0]).not.toMatch(RAW);
      if (args[0] === 'queueing') expect(r.stdout).toBe('mpath\\x1b]0;owned\\aa: queueing disabled\n');
    }
  });
});
