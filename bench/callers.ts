// `npm run bench:callers`: how much CPU one hostile caller can make the service spend. For
// each method, a fresh `multipath-dbus serve` (its own process, 1,000 x 4 simulated paths) is
// hammered for 10 s by bench/hammer.ts with 16 calls in flight, once as uid 65534 (budgets
// apply) and once as root (never throttled: what any caller could do before the budgets).
// The service's idle CPU over the same 10 s is the reference. Prints a table, writes
// bench/results/callers.json.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUS_NAME, MANAGER_IFACE, ROOT_PATH } from '../src/frontends/dbus/api';
import { callMethod, connectBus, disconnect } from '../src/frontends/dbus/bus/connection';
import { startPrivateBus, type PrivateBus } from '../src/cli/private-bus';
import { MultipathdSimulator } from '../src/sim/simulator';
import { NOBODY, spawnAs } from '../test/helpers/dbus-daemon';
import { METHODS } from './hammer';
import { cpuMs } from './proc';

const OUT = path.join(__dirname, 'results');
const SECONDS = Number(process.env.HAMMER_SECONDS ?? 10);
const TOPOLOGY = { maps: 1000, pathsPerMap: 4 };
const CLI = path.join(__dirname, '..', 'bin', 'multipath-dbus');
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

/** The real service in its own process; resolves once it owns its name. */
export async function startServe(bus: PrivateBus, socket: string, extra: string[] = [], env?: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(CLI, ['serve', '--enable', '--no-kernel', '--bus', bus.address, '--socket', socket, '--refresh-interval', '0', '--config', '/nonexistent', '--log-level', 'error', ...extra], {
    stdio: 'inherit',
    env,
  });
  const client = await connectBus(bus.address);
  try {
    for (;;) {
      const [has] = (await callMethod(client, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', 's', [BUS_NAME])) as [boolean];
      if (has) return child;
      if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
      await sleep(5);
    }
  } finally {
    disconnect(client);
  }
}

export async function stopServe(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

/**
 * Run the hammer as `uid` (undefined: as ourselves) and return its report; `stop` ends it
 * early (it still reports). tsx by its path: spawnAs runs from /.
 */
export function hammer(address: string, method: string, seconds: number, uid?: number, stop?: AbortSignal): Promise<{ ok: number; errors: Record<string, number> }> {
  const args = ['-r', require.resolve('tsx/cjs'), path.join(__dirname, 'hammer.ts'), address, method, String(seconds), '16'];
  const child = uid === undefined ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] }) : spawnAs(uid, process.execPath, args);
  stop?.addEventListener('abort', () => child.kill('SIGTERM'));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => process.stderr.write(d));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`hammer ${method} exited ${code}: ${out}`)))),
  );
}

async function measure(bus: PrivateBus, sim: MultipathdSimulator, method: string | undefined, uid: number | undefined) {
  const child = await startServe(bus, sim.socket);
  try {
    if (method === 'GetEvents') await fillHistory(bus, sim);
    await sleep(500);
    const c0 = cpuMs(child.pid!);
    const d0 = cpuMs(bus.pid);
    const t0 = Date.now();
    const report = method ? await hammer(bus.address, method, SECONDS, uid) : (await sleep(SECONDS * 1000), { ok: 0, errors: {} });
    const wall = (Date.now() - t0) / 1000;
    return { cpuPerSec: (cpuMs(child.pid!) - c0) / 1000 / wall, daemonCpuPerSec: (cpuMs(bus.pid) - d0) / 1000 / wall, calls: report.ok, errors: report.errors };
  } finally {
    await stopServe(child);
  }
}

/** A full GetEvents page to ask for: one path of every map fails, and a read finds it (1,000 synthesized PathFailed). */
async function fillHistory(bus: PrivateBus, sim: MultipathdSimulator): Promise<void> {
  for (const m of sim.maps()) sim.failPath(m.paths[0].dev);
  const client = await connectBus(bus.address);
  await callMethod(client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []);
  disconnect(client);
  for (const m of sim.maps()) sim.reinstatePath(m.paths[0].dev);
}

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  const bus = await startPrivateBus();
  const socket = `@multipath-dbus-bench-callers-${process.pid}`;
  const sim = new MultipathdSimulator({ socket, topology: TOPOLOGY });
  await sim.listen();
  const say = (s: string) => process.stdout.write(`${s}\n`);
  const idle = await measure(bus, sim, undefined, undefined);
  say(`idle ${TOPOLOGY.maps}x${TOPOLOGY.pathsPerMap}: ${idle.cpuPerSec.toFixed(3)} cpu-s/s`);
  const rows: Record<string, unknown>[] = [];
  for (const method of METHODS) {
    const nobody = await measure(bus, sim, method, NOBODY);
    const root = await measure(bus, sim, method, undefined);
    rows.push({ method, nobody, root, nobodyVsRoot: nobody.cpuPerSec / root.cpuPerSec });
    say(
      `${method.padEnd(22)} uid 65534: ${nobody.cpuPerSec.toFixed(3)} cpu-s/s (${nobody.calls} calls, refused ${JSON.stringify(nobody.errors)}); ` +
        `root: ${root.cpuPerSec.toFixed(3)} cpu-s/s (${root.calls} calls); ratio ${(nobody.cpuPerSec / root.cpuPerSec).toFixed(2)}; idle ${idle.cpuPerSec.toFixed(3)}`,
    );
  }
  await sim.close();
  await bus.stop();
  fs.writeFileSync(path.join(OUT, 'callers.json'), JSON.stringify({ date: new Date().toISOString(), seconds: SECONDS, topology: TOPOLOGY, idle, rows }, null, 2));
}

if (require.main === module) void main().then(() => process.exit(0));
