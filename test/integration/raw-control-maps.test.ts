// multipathd 0.9.4 escapes nothing in `show maps json`: a raw newline in one map's alias
// made the whole reply unreadable, and `serve` published no map at all ("serving 0 maps").
// The real `serve`, fed by the multipathd simulator printing the way 0.9.4 prints: every map
// is published, the odd name exactly as multipathd holds it, and logs and terminals see it escaped.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateBus, type PrivateBus } from '../../src/cli/private-bus';
import { MultipathdSimulator } from '../../src/sim/simulator';
import { CLI, run } from '../helpers/service-harness';

const NAME = 'mpath\nraw\x1b[2J';
const SOCKET = `@multipath-dbus-raw-${process.pid}`;

describe('a raw control character in one map name from multipathd', () => {
  let bus: PrivateBus;
  let sim: MultipathdSimulator;
  beforeAll(async () => {
    bus = await startPrivateBus();
    sim = new MultipathdSimulator({ socket: SOCKET, topology: { maps: 3, pathsPerMap: 2, names: ['mpatha', NAME, 'mpathc'] } });
    await sim.listen();
  });
  afterAll(async () => {
    await sim?.close();
    await bus?.stop();
  });

  it('serve publishes every map, that name exact; status shows it escaped', async () => {
    const child = spawn(CLI, ['serve', '--enable', '--config', path.join('/nonexistent', 'absent.conf'), '--bus', bus.address, '--no-kernel', '--socket', SOCKET]);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const end = Date.now() + 20_000;
      while (!/serving \d+ maps/.test(stderr)) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(stderr);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(stderr).toMatch(/serving 3 maps/);
      // Every line of the service's log is a line of its own: the name is escaped.
      expect(stderr).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);

      const json = await run(CLI, ['status', '--bus', bus.address, '--json']);
      expect((JSON.parse(json.stdout) as { Name: string }[]).map((m) => m.Name).sort()).toEqual([NAME, 'mpatha', 'mpathc'].sort());
      const text = await run(CLI, ['status', '--bus', bus.address]);
      expect(text.stdout).toMatch(/^mpath\\nraw\\x1b\[2J {2}/m);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 60_000);
});
