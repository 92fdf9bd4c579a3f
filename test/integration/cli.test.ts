// The command line as a user runs it: the service's lifecycle and the client commands.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateBus, type PrivateBus } from '../../src/cli/private-bus';
import { BUS_NAME, CLI, run, startHarness, type Harness } from '../helpers/service-harness';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-cli-'));
const conf = (name: string, text: string) => {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
};

async function nameOwned(bus: PrivateBus): Promise<boolean> {
  const r = await run('busctl', [`--address=${bus.address}`, 'status', BUS_NAME]);
  return r.code === 0;
}

/** `serve` with a config file, once it owns the name. */
async function startServe(bus: PrivateBus, configFile: string) {
  const child = spawn(CLI, ['serve', '--config', configFile, '--bus', bus.address, '--no-kernel']);
  const out = { stderr: '' };
  child.stderr.on('data', (d) => (out.stderr += d));
  const end = Date.now() + 10000;
  while (!(await nameOwned(bus))) {
    if (Date.now() > end) throw new Error(`service never owned the name: ${out.stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out, exited };
}

describe('serve lifecycle', () => {
  let bus: PrivateBus;
  beforeAll(async () => {
    bus = await startPrivateBus();
  });
  afterAll(async () => bus.stop());

  it('disabled by default: one line saying how to enable, exit 0, name never owned', async () => {
    const r = await run(CLI, ['serve', '--config', conf('off.conf', '# nothing\n'), '--bus', bus.address, '--no-kernel']);
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/enable = yes/);
    expect(await nameOwned(bus)).toBe(false);
  });

  it('a missing config file counts as disabled', async () => {
    const r = await run(CLI, ['serve', '--config', path.join(tmp, 'absent.conf'), '--bus', bus.address, '--no-kernel']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/absent/);
  });

  it('a malformed config: error naming file and line, non-zero exit', async () => {
    const file = conf('bad.conf', 'enable = yes\nrefresh_interval = soon\n');
    const r = await run(CLI, ['serve', '--config', file, '--bus', bus.address, '--no-kernel']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${file}:2`);
  });

  it('enabled: owns the name; SIGTERM releases it and exits 0 promptly', async () => {
    const { child, out, exited } = await startServe(bus, conf('on.conf', 'enable = yes\nsocket = @multipath-dbus-nobody-listens\n'));
    const t0 = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await nameOwned(bus)).toBe(false);
    expect(out.stderr).toMatch(/multipathd unavailable|not-running|not running/i);
  });

  it('losing the bus exits non-zero with a clear message', async () => {
    const own = await startPrivateBus();
    const { out, exited } = await startServe(own, conf('on2.conf', 'enable = yes\nsocket = @multipath-dbus-nobody-listens\n'));
    await own.stop();
    expect(await exited).toBe(1);
    expect(out.stderr).toMatch(/lost the D-Bus connection/);
  });

  it('logs carry sd-daemon priority prefixes under journald', async () => {
    const r = await run(CLI, ['serve', '--config', conf('off2.conf', ''), '--bus', bus.address, '--no-kernel'], {
      env: { JOURNAL_STREAM: '8:1234' },
    });
    expect(r.stderr).toMatch(/^<5>/);
  });
});

describe('client commands against a known topology', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('small');
  });
  afterAll(async () => h?.stop());

  it('status: one line per map, exit 0 when all is well, 1 when a map is degraded', async () => {
    const ok = await run(CLI, ['status', '--bus', h.bus.address]);
    expect(ok.code).toBe(0);
    const lines = ok.stdout.trim().split('\n');
    expect(lines).toHaveLength(h.sim.maps().length);
    const m = h.sim.maps()[0];
    expect(lines[0]).toMatch(new RegExp(`^${m.name}\\s+${m.wwid}\\s+optimal\\s+${m.paths.length}/${m.paths.length} paths$`));

    h.kernel(h.sim.failPath(m.paths[0].dev));
    await h.settle();
    const bad = await run(CLI, ['status', '--bus', h.bus.address]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(new RegExp(`${m.name}\\s+${m.wwid}\\s+degraded\\s+${m.paths.length - 1}/${m.paths.length}`));
    h.kernel(h.sim.reinstatePath(m.paths[0].dev));
    await h.settle();
  });

  it('status says plainly when the service is not there', async () => {
    const bus = await startPrivateBus();
    try {
      const r = await run(CLI, ['status', '--bus', bus.address]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/not running/);
    } finally {
      await bus.stop();
    }
  });

  it('show: the multipath -ll style tree, and JSON with the API property names', async () => {
    const m = h.sim.maps()[0];
    const r = await run(CLI, ['show', '--bus', h.bus.address, m.name]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^${m.name} \\(${m.wwid}\\) ${m.sysfs} `));
    expect(r.stdout).toMatch(/policy='service-time 0' prio=\d+ status=(active|enabled)/);
    for (const p of m.paths) expect(r.stdout).toMatch(new RegExp(`- ${p.dev} ${p.devT}\\s+active`));
    const j = await run(CLI, ['show', '--bus', h.bus.address, '--json']);
    const maps = JSON.parse(j.stdout);
    expect(maps).toHaveLength(h.sim.maps().length);
    expect(maps[0]).toMatchObject({ Name: m.name, Wwid: m.wwid, Health: 'optimal' });
    expect(maps[0].PathGroups[0].Paths[0]).toHaveProperty('Device');
    expect(maps[0].PathGroups[0].Paths[0]).toHaveProperty('DmState', 'active');
    const missing = await run(CLI, ['show', '--bus', h.bus.address, 'nosuchmap']);
    expect(missing.code).toBe(2);
  });

  it('monitor prints live signals, one line each', async () => {
    const dev = h.sim.maps()[0].paths[0];
    let acted = false;
    const r = await run(CLI, ['monitor', '--bus', h.bus.address], {
      // Act once it says it listens; stop it with Ctrl-C once both lines are out.
      onOutput: (_out, err) => {
        if (acted || !err.includes('listening')) return;
        acted = true;
        h.kernel(h.sim.failPath(dev.dev));
        h.kernel(h.sim.reinstatePath(dev.dev));
      },
      until: (out) => /PathReinstated/.test(out),
      killAfterMs: 30_000,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`#\\d+ PathFailed ${h.sim.maps()[0].name} Path=${dev.dev} DevT=${dev.devT}`));
    expect(r.stdout).toMatch(/#\d+ PathReinstated /);
  });

  it('monitor --since replays history first and says when some was lost', async () => {
    const listening = (_out: string, err: string) => err.includes('listening');
    const r = await run(CLI, ['monitor', '--bus', h.bus.address, '--since', '0', '--json'], { until: listening, killAfterMs: 30_000 });
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const serials = lines.map((l) => Number(l.serial));
    expect(serials[0]).toBe(1);
    expect(serials).toEqual([...serials].sort((a, b) => a - b));
    expect(lines.some((l) => l.name === 'PathFailed')).toBe(true);

    const small = await startHarness('small', { historySize: 16 });
    try {
      for (let i = 0; i < 10; i++) {
        small.kernel(small.sim.failPath(small.sim.maps()[0].paths[0].dev));
        small.kernel(small.sim.reinstatePath(small.sim.maps()[0].paths[0].dev));
      }
      await small.settle();
      const lost = await run(CLI, ['monitor', '--bus', small.bus.address, '--since', '1'], { until: listening, killAfterMs: 30_000 });
      expect(lost.stdout.split('\n')[0]).toMatch(/incomplete/);
    } finally {
      await small.stop();
    }
  });
});
