// `npm run bench:large`: topologies whose GetManagedObjects is past the system bus's 32 MiB
// message limit (8,192 x 4 and 2,048 x 16 simulated paths). The real `multipath-dbus serve`
// in its own process on a private dbus-daemon with max_message_size 32 MiB: start to name
// owned, RSS, what GetManagedObjects answers, and the time to read everything in pages,
// in-process and through `multipath-dbus show --json`. Beside it, sd-bus (C) serving the same
// objects answers one GetManagedObjects on a bus that allows it (128 MiB, dbus's maximum):
// its CPU and RSS are the reference. Then, at 8,192 x 4, what root's calls cost while uid
// 65534 keeps 16 refused GetManagedObjects in flight, against the same calls on the idle
// service. BENCH_ONLY=read,refusals picks the sections. Writes bench/results/large.json.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUS_NAME, MANAGER_IFACE, PATH_IFACE, pathObjectPath, ROOT_PATH } from '../src/frontends/dbus/api';
import { callMethod, connectBus, disconnect, type BusConnection } from '../src/frontends/dbus/bus/connection';
import { startPrivateBus } from '../src/cli/private-bus';
import { MultipathdSimulator, type SimTopologyOptions } from '../src/sim/simulator';
import { fetchPages } from '../src/cli/client';
import { NOBODY } from '../test/helpers/dbus-daemon';
import { hammer, startServe, stopServe } from './callers';
import { cpuMs, heapReportEnv, memoryOf, nodeFloor, v8HeapOf, type Memory } from './proc';
import { buildReference, referencePolicy, requireReferences, startReferenceServer, type Objects } from './sdbus-reference';

const OUT = path.join(__dirname, 'results');
const CLI = path.join(__dirname, '..', 'bin', 'multipath-dbus');
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** BENCH_ONLY=read,refusals: these sections only. */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'read,refusals').split(','));
let OBJECTS = '';
/** RSS at 8,192 x 4, settled after start (issue 24). */
const RSS_GOAL_MIB = 150;

/** sd-bus serving `objects`: its CPU for one whole GetManagedObjects through busctl, and its RSS. */
async function reference(objects: Objects) {
  const bus = await startPrivateBus({ maxMessageSize: 128 * 1024 * 1024, includes: [referencePolicy()] });
  const ref = await startReferenceServer(OBJECTS, objects, bus.address, ROOT_PATH);
  try {
    const c0 = cpuMs(ref.child.pid!);
    const t0 = Date.now();
    execFileSync('busctl', [`--address=${bus.address}`, 'call', ref.name, ref.managerPath, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects'], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 30 });
    return { getManagedObjectsMs: Date.now() - t0, serviceCpuMs: cpuMs(ref.child.pid!) - c0, ...memoryOf(ref.child.pid!) };
  } finally {
    await ref.stop();
    await bus.stop();
  }
}

async function large(topology: SimTopologyOptions) {
  const bus = await startPrivateBus({ maxMessageSize: 32 * 1024 * 1024 });
  const socket = `@multipath-dbus-bench-large-${process.pid}`;
  const sim = new MultipathdSimulator({ socket, topology });
  await sim.listen();
  const reports = fs.mkdtempSync(path.join(os.tmpdir(), 'multipath-dbus-bench-report-'));
  const t0 = Date.now();
  const child = await startServe(bus, socket, [], heapReportEnv(reports));
  const readyMs = Date.now() - t0;
  try {
    await sleep(2000);
    const settled = memoryOf(child.pid!);
    const v8HeapSettled = await v8HeapOf(child.pid!, reports);
    const client = await connectBus(bus.address);
    let gmo: string;
    // A client asks for everything first; what that costs the service counts with the pages it then reads.
    const r0 = cpuMs(child.pid!);
    const g0 = Date.now();
    try {
      await callMethod(client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects', '', []);
      gmo = 'answered';
    } catch (e) {
      gmo = (e as Error).message;
    }
    const gmoMs = Date.now() - g0;
    const c0 = cpuMs(child.pid!);
    const p0 = Date.now();
    const objects = await fetchPages(client);
    const pagesMs = Date.now() - p0;
    const pagesServiceCpuMs = cpuMs(child.pid!) - c0;
    const readServiceCpuMs = cpuMs(child.pid!) - r0;
    disconnect(client);
    const sdBus = await reference(objects);
    const s0 = Date.now();
    const show = await new Promise<string>((resolve, reject) =>
      execFile(CLI, ['show', '--json', '--bus', bus.address], { maxBuffer: 1 << 30 }, (e, out) => (e ? reject(e) : resolve(out))),
    );
    const showMs = Date.now() - s0;
    const maps = (JSON.parse(show) as unknown[]).length;
    const [owned] = await (async () => {
      const c = await connectBus(bus.address);
      try {
        return (await callMethod(c, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', 's', [BUS_NAME])) as [boolean];
      } finally {
        disconnect(c);
      }
    })();
    return {
      topology: `${topology.maps}x${topology.pathsPerMap}`,
      readyMs,
      settled,
      v8HeapSettled,
      afterReads: memoryOf(child.pid!),
      v8HeapAfterReads: await v8HeapOf(child.pid!, reports),
      getManagedObjects: gmo,
      getManagedObjectsMs: gmoMs,
      objects: objects.size,
      pagesMs,
      pagesServiceCpuMs,
      readServiceCpuMs,
      sdBus,
      readCpuVsSdBus: readServiceCpuMs / sdBus.serviceCpuMs,
      showJsonMs: showMs,
      showMaps: maps,
      stillOwned: owned,
    };
  } finally {
    await stopServe(child);
    await sim.close();
    await bus.stop();
    fs.rmSync(reports, { recursive: true, force: true });
  }
}

/** `call` made `n` times one after another (fewer if that takes `withinMs`): the median time, and how many failed (counted with their time). */
async function timed(n: number, call: (i: number) => Promise<unknown>, withinMs = Infinity) {
  let failed = 0;
  const ms: number[] = [];
  const end = Date.now() + withinMs;
  for (let i = 0; i < n && Date.now() < end; i++) {
    const t0 = process.hrtime.bigint();
    await call(i).catch(() => failed++);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { ms: median(ms), failed };
}

/** Root reads one property: 200 times, or as often as it can in 10 s. */
const rootGets = (client: BusConnection) => timed(200, () => callMethod(client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MANAGER_IFACE, 'Health']), 10_000);
/** Root fails and reinstates one path, three times each: multipathd, then a re-read of every map. */
const rootManages = (client: BusConnection, dev: string) =>
  timed(6, (i) => callMethod(client, BUS_NAME, pathObjectPath(dev), PATH_IFACE, i % 2 === 0 ? 'Fail' : 'Reinstate', 'a{sv}', [{}]));

/**
 * 8,192 x 4 on a 32 MiB bus: root's Get and Path.Fail/Reinstate idle, then while uid 65534
 * keeps 16 GetManagedObjects in flight (each refused: the reply would be 48 MiB). Both after
 * one refusal by root, which builds the entries a refusal may need (the same work either way).
 * Loaded Gets twice: while uid 65534 spends its budget's burst (8,192 calls of 4 KiB as fast
 * as they are answered), and after the management calls, by when it is spent (2 MiB/s then).
 */
async function refusals() {
  const topology = { maps: 8192, pathsPerMap: 4 };
  const bus = await startPrivateBus({ maxMessageSize: 32 * 1024 * 1024 });
  const socket = `@multipath-dbus-bench-refusals-${process.pid}`;
  const sim = new MultipathdSimulator({ socket, topology });
  await sim.listen();
  const child = await startServe(bus, socket);
  const client = await connectBus(bus.address);
  try {
    await callMethod(client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects', '', []).catch(() => undefined);
    const dev = sim.maps()[0].paths[0].dev;
    const idle = { manage: await rootManages(client, dev), get: await rootGets(client) };
    const stop = new AbortController();
    const hammering = hammer(bus.address, 'GetManagedObjects', 600, NOBODY, stop.signal);
    // The hammer's start (tsx) is over well within this; by then its calls are what the service does.
    await sleep(3000);
    const c0 = cpuMs(child.pid!);
    const t0 = Date.now();
    const loaded = { getInBurst: await rootGets(client), manage: await rootManages(client, dev), get: await rootGets(client) };
    const serviceCpuPerSec = (cpuMs(child.pid!) - c0) / (Date.now() - t0);
    stop.abort();
    const report = await hammering;
    return {
      topology: `${topology.maps}x${topology.pathsPerMap}`,
      idle,
      loaded,
      serviceCpuPerSec,
      hammer: report,
      getRatio: loaded.get.ms / idle.get.ms,
      getInBurstRatio: loaded.getInBurst.ms / idle.get.ms,
      manageRatio: loaded.manage.ms / idle.manage.ms,
    };
  } finally {
    disconnect(client);
    await stopServe(child);
    await sim.close();
    await bus.stop();
  }
}

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  const results: unknown[] = [];
  if (ONLY.has('refusals')) {
    const r = await refusals();
    results.push(r);
    const failed = r.idle.get.failed + r.idle.manage.failed + r.loaded.get.failed + r.loaded.getInBurst.failed + r.loaded.manage.failed;
    process.stdout.write(
      `${r.topology}, uid 65534 keeping 16 refused GetManagedObjects in flight (${r.hammer.ok} answered, refused ${JSON.stringify(r.hammer.errors)}; service ${r.serviceCpuPerSec.toFixed(2)} cpu-s/s): ` +
        `root Properties.Get median ${r.idle.get.ms.toFixed(2)} ms idle / ${r.loaded.get.ms.toFixed(2)} ms loaded (${r.getRatio.toFixed(2)} x; ${r.loaded.getInBurst.ms.toFixed(2)} ms, ${r.getInBurstRatio.toFixed(2)} x, while it spends its burst); ` +
        `root Path.Fail/Reinstate median ${r.idle.manage.ms.toFixed(0)} ms idle / ${r.loaded.manage.ms.toFixed(0)} ms loaded (${r.manageRatio.toFixed(2)} x); root calls failed: ${failed}; goal <= 2 x\n`,
    );
  }
  if (ONLY.has('read')) {
    requireReferences();
    OBJECTS = buildReference('sdbus-objects');
    const floor: Memory = await nodeFloor();
    for (const t of [
      { maps: 8192, pathsPerMap: 4 },
      { maps: 2048, pathsPerMap: 16, groupsPerMap: 2 },
    ]) {
      const r = await large(t);
      results.push(r);
      const goal = t.maps === 8192 ? ` (goal <= ${RSS_GOAL_MIB} MiB settled: ${r.settled.rssMiB <= RSS_GOAL_MIB ? 'met' : 'NOT met'})` : '';
      process.stdout.write(
        `${r.topology}: ready ${r.readyMs} ms, rss ${r.settled.rssMiB} MiB settled${goal} / ${r.afterReads.rssMiB} MiB after the reads (pss ${r.settled.pssMiB} / ${r.afterReads.pssMiB}; ` +
          `V8 heap ${r.v8HeapSettled.usedMiB} used of ${r.v8HeapSettled.totalMiB} / ${r.v8HeapAfterReads.usedMiB} of ${r.v8HeapAfterReads.totalMiB} MiB; node alone rss ${floor.rssMiB}, pss ${floor.pssMiB} MiB); ` +
          `GetManagedObjects in ${r.getManagedObjectsMs} ms: ${r.getManagedObjects.slice(0, 120)}; ` +
          `all ${r.objects} objects in pages ${r.pagesMs} ms (service ${r.pagesServiceCpuMs} cpu-ms, ${r.readServiceCpuMs} with the refused GetManagedObjects before them; sd-bus answering them in one GetManagedObjects ${r.sdBus.serviceCpuMs} cpu-ms, ours/sd-bus ${r.readCpuVsSdBus.toFixed(2)} (goal <= 1.0), its rss ${r.sdBus.rssMiB} MiB, pss ${r.sdBus.pssMiB}); show --json ${r.showJsonMs} ms (${r.showMaps} maps); name still owned: ${r.stillOwned}\n`,
      );
    }
  }
  fs.writeFileSync(path.join(OUT, 'large.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
}

void main().then(() => process.exit(0));
