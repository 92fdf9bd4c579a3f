// A local user binds multipathd's socket while multipathd is down and serves invented maps.
// The real `serve` command must believe none of it, say so once, keep retrying, and take
// the real multipathd (here the simulator, run by root) as soon as it is back.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MANAGER_IFACE, mapObjectPath } from '../../src/frontends/dbus/api';
import { callMethod, getManagedObjects } from '../../src/frontends/dbus/bus/connection';
import { mpdMaps } from '../helpers/fixtures';
import { MultipathdSimulator } from '../../src/sim/simulator';
import { NOBODY, startPrivateBus, type PrivateBus } from '../helpers/dbus-daemon';
import { IMPOSTOR_FIXTURE, startImpostor } from '../helpers/impostor';
import { BUS_NAME, CLI, ROOT_PATH, run, startHarness } from '../helpers/service-harness';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function manager(bus: PrivateBus, name: string): Promise<unknown> {
  const r = await run('busctl', [`--address=${bus.address}`, '--json=short', 'get-property', BUS_NAME, ROOT_PATH, MANAGER_IFACE, name]);
  return r.code === 0 ? (JSON.parse(r.stdout) as { data: unknown }).data : undefined;
}

const addresses: [string, () => string][] = [
  ['an abstract name', () => `@mpdbus-impostor-${process.pid}-${Math.random().toString(36).slice(2)}`],
  [
    'a socket file',
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-impostor-'));
      fs.chownSync(dir, NOBODY, NOBODY);
      cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      return path.join(dir, 'multipathd.socket');
    },
  ],
];

describe('an impostor on multipathd\'s socket', () => {
  it.each(addresses)('on %s: nothing it says is published, one log line, retried until the real one answers', async (_kind, address) => {
    const bus = await startPrivateBus();
    cleanup.push(() => bus.stop());
    const socket = address();
    const impostor = await startImpostor(socket);
    cleanup.push(() => impostor.stop());

    const serve = spawn(CLI, ['serve', '--enable', '--no-kernel', '--config', '/nonexistent', '--bus', bus.address, '--socket', socket, '--refresh-interval', '0']);
    let stderr = '';
    serve.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => serve.on('exit', (code) => r(code)));
    cleanup.push(async () => {
      serve.kill('SIGTERM');
      await exited;
    });

    await until('the name', () => manager(bus, 'MultipathdAvailable'));
    // The first read and at least one retry (1 s backoff) reached it and were refused.
    await until('a retry', async () => (impostor.accepted >= 2 ? true : undefined));
    expect(await manager(bus, 'MultipathdAvailable')).toBe(false);
    expect(await manager(bus, 'Maps')).toEqual([]);
    expect(impostor.requests).toBe(0);
    const refusals = stderr.split('\n').filter((l) => l.includes('refusing'));
    expect(refusals).toEqual([expect.stringContaining(`${socket}: it is served by uid 65534 (pid ${impostor.pid}), not uid 0`)]);

    // multipathd comes back: the next retry finds it, with no help from a caller.
    await impostor.stop();
    const sim = new MultipathdSimulator({ socket });
    await sim.listen();
    cleanup.push(() => sim.close());
    const maps = await until('the real maps', async () => {
      const m = (await manager(bus, 'Maps')) as string[] | undefined;
      return m && m.length > 0 ? m : undefined;
    });
    expect(maps).toHaveLength(sim.maps().length);
    expect(await manager(bus, 'MultipathdAvailable')).toBe(true);
    expect(stderr.split('\n').filter((l) => l.includes('refusing'))).toHaveLength(1);
  });
});

describe('an impostor while multipathd restarts', () => {
  it('takes the name between die and restart: the published maps stay the real ones, then Resynchronized', async () => {
    const h = await startHarness();
    cleanup.push(() => h.stop());
    const refresh = () => callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []);
    const published = async () => [...(await getManagedObjects(h.client, BUS_NAME, ROOT_PATH)).keys()].sort();
    const real = await published();

    await h.sim.die();
    const impostor = await startImpostor(h.sim.socket);
    cleanup.push(() => impostor.stop());
    await refresh();
    await refresh();
    // Its own report of each connection comes through a pipe, a moment after our refusal.
    await until('both attempts at the impostor', async () => (impostor.accepted >= 2 ? true : undefined));
    expect(impostor.requests).toBe(0);
    const during = await published();
    const fake = mpdMaps(IMPOSTOR_FIXTURE.replace('multipathd-0.9.4/', '')).map((m) => mapObjectPath(m.wwid));
    expect(during.filter((p) => fake.includes(p))).toEqual([]);
    expect(during).toEqual(real);
    expect(await manager(h.bus, 'MultipathdAvailable')).toBe(false);
    expect(h.logs.filter((l) => !l.includes('debug:') && (l.includes('refusing') || l.includes('multipathd unavailable'))), h.logs.join('\n')).toHaveLength(1);

    await impostor.stop();
    await h.sim.listen();
    h.signals.length = 0;
    await refresh();
    await h.waitFor((s) => s.some((x) => x.member === 'Resynchronized' && x.args[0] === 'multipathd-restart'), 'Resynchronized(multipathd-restart)');
    expect(await published()).toEqual(real);
  });
});
