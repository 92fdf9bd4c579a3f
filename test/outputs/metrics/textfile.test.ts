// `serve --metrics-textfile DIR`: node_exporter's textfile collector gets the multipath
// metrics as a file that is replaced whole, never written in place; root writes only into a
// directory that root alone can change, and never through a link planted there.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateBus, type PrivateBus } from '../../../src/cli/private-bus';
import { MultipathdSimulator } from '../../../src/sim/simulator';
import { promtoolCheckMetrics, sampleValue, samples } from '../../helpers/prometheus';
import { CLI, run } from '../../helpers/service-harness';

describe('metrics textfile', () => {
  let bus: PrivateBus;
  let sim: MultipathdSimulator;
  const socket = `@multipath-dbus-textfile-${process.pid}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-textfile-'));
  const file = path.join(dir, 'multipath-dbus.prom');
  beforeAll(async () => {
    bus = await startPrivateBus();
    sim = new MultipathdSimulator({ socket });
    await sim.listen();
  });
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await sim.close();
    await bus.stop();
  });

  /** `serve` as the unit starts it (UMask=0077), writing into `textfileDir`. */
  const serve = (textfileDir: string) => {
    const child = spawn('bash', ['-c', 'umask 077 && exec "$@"', 'serve', CLI, 'serve', '--enable', '--bus', bus.address, '--no-kernel', '--socket', socket, '--refresh-interval', '1',
      '--config', path.join(dir, 'absent.conf'), '--metrics-textfile', textfileDir]);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { child, exited, stderr: () => stderr };
  };

  it('writes the multipath metrics (no process metrics: node_exporter has its own), whole at every read, updated on change', async () => {
    // As under the unit (UMask=0077): the file is still readable by node_exporter's user.
    const { child, exited, stderr } = serve(dir);
    const dev = sim.maps()[0].paths[0].dev;
    const reads: string[] = [];
    const until = async (pred: (t: string) => boolean, what: string) => {
      const end = Date.now() + 15_000;
      for (;;) {
        const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
        if (text) reads.push(text);
        if (pred(text)) return text;
        if (Date.now() > end || child.exitCode !== null) throw new Error(`never saw ${what}: ${text}\n${stderr()}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    try {
      const first = await until((t) => sampleValue(t, 'multipath_path_up', { device: dev }) === 1, 'the path up');
      expect(promtoolCheckMetrics(first)).toEqual({ code: 0, output: '' });
      expect(samples(first).filter((s) => !s.name.startsWith('multipath_'))).toEqual([]);
      sim.failPath(dev);
      await until((t) => sampleValue(t, 'multipath_path_up', { device: dev }) === 0, 'the path down');
      sim.reinstatePath(dev);
      await until((t) => sampleValue(t, 'multipath_path_up', { device: dev }) === 1, 'the path up again');
      // Every read found a complete file: every family, ending in a newline.
      const families = (t: string) => t.split('\n').filter((l) => l.startsWith('# TYPE ')).length;
      for (const t of reads) expect([families(t), t.endsWith('\n')]).toEqual([families(first), true]);
      expect(fs.readdirSync(dir).filter((f) => f !== 'multipath-dbus.prom')).toEqual([]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(['multipath-dbus.prom']);
    expect(fs.statSync(file).mode & 0o777).toBe(0o644);
  });

  it('a directory that does not exist: serve says so and exits 1', async () => {
    const missing = path.join(dir, 'nope');
    const r = await run(CLI, ['serve', '--enable', '--bus', bus.address, '--no-kernel', '--socket', socket, '--metrics-textfile', missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`metrics textfile directory ${missing} does not exist`);
  });

  it('follows no link planted at the temporary or the final name: the file they point to keeps its content and mode', async () => {
    const textfileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-textfile-links-'));
    const victimDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-victim-'));
    const victim = path.join(victimDir, 'shadow');
    fs.writeFileSync(victim, 'secret\n', { mode: 0o600 });
    fs.symlinkSync(victim, path.join(textfileDir, 'multipath-dbus.prom'));
    const s = serve(textfileDir);
    // The name the writer used to take (its pid), planted before node has even loaded the program.
    const predictable = path.join(textfileDir, `.multipath-dbus.prom.${s.child.pid}.tmp`);
    fs.symlinkSync(victim, predictable);
    const file = path.join(textfileDir, 'multipath-dbus.prom');
    try {
      const end = Date.now() + 15_000;
      while (!fs.lstatSync(file).isFile()) {
        if (Date.now() > end || s.child.exitCode !== null) throw new Error(`no textfile written: ${s.stderr()}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(promtoolCheckMetrics(fs.readFileSync(file, 'utf8'))).toEqual({ code: 0, output: '' });
      expect(fs.statSync(file).mode & 0o777).toBe(0o644);
    } finally {
      s.child.kill('SIGTERM');
    }
    expect(await s.exited).toBe(0);
    expect([fs.readFileSync(victim, 'utf8'), fs.statSync(victim).mode & 0o777]).toEqual(['secret\n', 0o600]);
    expect(fs.readlinkSync(predictable)).toBe(victim);
    expect(fs.readdirSync(textfileDir).sort()).toEqual([path.basename(predictable), 'multipath-dbus.prom'].sort());
    fs.rmSync(textfileDir, { recursive: true });
    fs.rmSync(victimDir, { recursive: true });
  });

  it('a directory that someone besides root can change is refused at start, naming it and why; nothing is written there', async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-textfile-refused-'));
    const made = (name: string, mode: number, uid = 0) => {
      const d = path.join(base, name);
      fs.mkdirSync(d);
      fs.chmodSync(d, mode);
      fs.chownSync(d, uid, uid);
      return d;
    };
    const cases: [string, string][] = [
      [made('nobody', 0o755, 65534), 'it belongs to uid 65534'],
      [made('open', 0o777), 'it is writable by group or others (mode 0777)'],
      [made('group', 0o775), 'it is writable by group or others (mode 0775)'],
    ];
    const openParent = made('open-parent', 0o777);
    fs.mkdirSync(path.join(openParent, 'inner'), { mode: 0o755 });
    cases.push([path.join(openParent, 'inner'), `${openParent} above it can be changed by uid 0 or by others (mode 0777)`]);
    for (const [d, why] of cases) {
      const r = await run(CLI, ['serve', '--enable', '--bus', bus.address, '--no-kernel', '--socket', socket, '--config', path.join(dir, 'absent.conf'), '--metrics-textfile', d], {
        killAfterMs: 15_000,
      });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`metrics textfile directory ${d} refused: ${why}`);
      expect(fs.readdirSync(d).filter((f) => f !== 'inner')).toEqual([]);
    }
    fs.rmSync(base, { recursive: true });
  });
});
