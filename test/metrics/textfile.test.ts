// `serve --metrics-textfile DIR`: node_exporter's textfile collector gets the multipath
// metrics as a file that is replaced whole, never written in place.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateBus, type PrivateBus } from '../../src/demo/private-bus';
import { MultipathdSimulator } from '../../src/sim/simulator';
import { promtoolCheckMetrics, sampleValue, samples } from '../helpers/prometheus';
import { CLI, run } from '../helpers/service-harness';

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

  it('writes the multipath metrics (no process metrics: node_exporter has its own), whole at every read, updated on change', async () => {
    // As under the unit (UMask=0077): the file is still readable by node_exporter's user.
    const child = spawn('bash', ['-c', 'umask 077 && exec "$@"', 'serve', CLI, 'serve', '--enable', '--bus', bus.address, '--no-kernel', '--socket', socket, '--refresh-interval', '1',
      '--config', path.join(dir, 'absent.conf'), '--metrics-textfile', dir]);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const dev = sim.maps()[0].paths[0].dev;
    const reads: string[] = [];
    const until = async (pred: (t: string) => boolean, what: string) => {
      const end = Date.now() + 15_000;
      for (;;) {
        const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
        if (text) reads.push(text);
        if (pred(text)) return text;
        if (Date.now() > end || child.exitCode !== null) throw new Error(`never saw ${what}: ${text}\n${stderr}`);
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
});
