// What watching kernel state that changes without an event costs, at 1,000 x 4: the service's
// CPU as % of one core, each case beside a reference measured in the same round (goal: each
// watch or poll adds under 1 % of one core, idle and with one change a second).
//  - device-mapper, 1,000 maps x 4 paths: idle and with one map switching group each second,
//    its event counter watched (Linux 4.13+) or its device list polled each second instead
//    (kernel_poll_interval = 1); reference: the same service with neither.
//  - NVMe, 1,000 namespaces x 4 paths, one ANA group per namespace (the worst case: every path
//    is its group's representative, read every poll): polled each second, idle and with one
//    port's ANA state for one group flipping each second (PathFailed / PathReinstated);
//    reference: the same service reading the tree at start and not polling.
//  - a storm: 1,000 dm maps and 1,000 NVMe namespaces on one host, dm paths failing and
//    coming back through uevents (STORM_RATE a second); the service with both polls (dm
//    watched, NVMe polled) and with neither: their share during the storm is the difference.
// In-process, on a private dbus-daemon; the simulators stand in for the ioctls (DM_LIST_DEVICES,
// a DM_TABLE_STATUS pair per map read) and for sysfs (a tree in tmpfs), so the kernel's time
// for those is not counted. Each read is followed by a collection and malloc_trim, as `serve`
// does after a read of every source (hence --expose-gc). Cases run in ROUNDS rounds, each round
// every case once, each on a fresh service that has settled after two collections: the figures
// are medians with their spread. Case order matters in one process (the services before a case
// leave garbage that V8's helper threads collect): a per-change figure is trustworthy to a few ms. `npx tsc -p tsconfig.json && npx tsx --expose-gc bench/kernel-poll.ts`
// (about ten minutes at the defaults).
/* eslint-disable @typescript-eslint/no-require-imports */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { startPrivateBus, type PrivateBus } from '../src/cli/private-bus';
import type { DmSource } from '../src/sources/device-mapper/reader';
import type * as Simulator from '../src/sim/simulator';
import type * as NvmeSim from '../src/sim/nvme-sysfs';
import type * as Addon from '../src/native/addon';
import { connectBus, createLogger, DEFAULT_CONFIG, disconnect, MultipathdClient, MultipathService } from './compiled';

// tsc's output, as bench/compiled.ts explains.
const { MultipathdSimulator } = require('../dist/sim/simulator') as typeof Simulator;
const { NvmeSysfsSim } = require('../dist/sim/nvme-sysfs') as typeof NvmeSim;
const { trimMemory } = require('../dist/native/addon') as typeof Addon;

const SIZE = Number(process.env.KERNEL_POLL_SIZE ?? 1000);
const SECONDS = Number(process.env.KERNEL_POLL_SECONDS ?? 10);
const ROUNDS = Number(process.env.KERNEL_POLL_ROUNDS ?? 3);
const STORM_RATE = Number(process.env.STORM_RATE ?? 500);
/** KERNEL_POLL_ONLY=dm,nvme,storm: these comparisons only. */
const ONLY = new Set((process.env.KERNEL_POLL_ONLY ?? 'dm,nvme,storm').split(','));
const GOAL = 1; // % of one core
const SETTLE_MS = Number(process.env.KERNEL_POLL_SETTLE_MS ?? 2000);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
const gc = () => (globalThis as { gc?: () => void }).gc?.();

interface Case {
  label: string;
  /** Which comparison it belongs to: the first case of each is the others' reference. */
  group: 'dm' | 'nvme' | 'storm';
  dmMaps: number;
  /** How device-mapper's changes are seen: its counter watched, its list polled each second, or neither. */
  dm: 'watched' | 'polled' | 'neither' | 'none';
  nvme: 'polled' | 'unpolled' | 'none';
  change: 'none' | 'switch' | 'ana' | 'storm';
}

const dm = (label: string, watch: Case['dm'], change: Case['change']): Case => ({ label, group: 'dm', dmMaps: SIZE, dm: watch, nvme: 'none', change });
const nvme = (label: string, poll: Case['nvme'], change: Case['change']): Case => ({ label, group: 'nvme', dmMaps: 0, dm: 'none', nvme: poll, change });
const storm = (label: string, on: boolean): Case => ({ label, group: 'storm', dmMaps: SIZE, dm: on ? 'watched' : 'neither', nvme: on ? 'polled' : 'unpolled', change: 'storm' });

const CASES: Case[] = ([
  dm(`dm ${SIZE} x 4, idle, neither watched nor polled`, 'neither', 'none'),
  dm('  idle, event counter watched', 'watched', 'none'),
  dm('  idle, device list polled each second (before 4.13)', 'polled', 'none'),
  dm('  one map switching group a second, watched', 'watched', 'switch'),
  dm('  one map switching group a second, polled', 'polled', 'switch'),
  nvme(`NVMe ${SIZE} x 4, ${SIZE} ANA groups, idle, not polled`, 'unpolled', 'none'),
  nvme('  idle, polled each second', 'polled', 'none'),
  nvme('  one ANA change a second, polled', 'polled', 'ana'),
  storm(`storm: dm ${SIZE} x 4 + NVMe ${SIZE} x 4, ${STORM_RATE} path events/s, no polls`, false),
  storm('  the same storm, dm watched and NVMe polled', true),
] as Case[]).filter((c) => ONLY.has(c.group));
const referenceOf = (c: Case) => CASES.find((r) => r.group === c.group)!;

interface Figure {
  percent: number;
  /** Changes made in the window (switches, ANA flips, storm events). */
  changes: number;
  published: number;
}

/** The service as `serve` composes it, on `c`'s host, and the CPU its process used over SECONDS of `c`'s changes. */
async function measure(c: Case, bus: PrivateBus, tree: InstanceType<typeof NvmeSysfsSim>): Promise<Figure> {
  const socket = `@multipath-dbus-kernel-poll-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const sim = new MultipathdSimulator({ socket, topology: { maps: c.dmMaps, pathsPerMap: 4, groupsPerMap: 3 } });
  await sim.listen();
  const unwatched: DmSource = { dmListDevices: () => sim.dmListDevices(), dmTableStatus: (n, t) => sim.dmTableStatus(n, t) };
  const conn = await connectBus(bus.address);
  const service = new MultipathService({
    bus: conn,
    config: { ...DEFAULT_CONFIG, enable: true, refreshInterval: 0, kernelPollInterval: c.dm === 'polled' ? 1 : 0 },
    log: createLogger('error'),
    multipathd: new MultipathdClient({ socket, expectedUid: process.getuid?.() }),
    dm: c.dm === 'none' ? undefined : c.dm === 'watched' ? sim : unwatched,
    nvme: c.nvme === 'none' ? undefined : { root: tree.root, pollIntervalMs: c.nvme === 'polled' ? 1000 : 0 },
    openMonitor: undefined,
    releaseMemory: () => {
      gc();
      trimMemory();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await service.start();
    // The coldplug's garbage and the last service's collected, and V8's follow-up work on its
    // helper threads (sweeping, its memory reducer's collections) over before the window.
    gc();
    await sleep(SETTLE_MS);
    gc();
    await sleep(SETTLE_MS);
    const serial = service.eventSerial;
    let changes = 0;
    const map = sim.topology.maps[0];
    const devs = sim.maps().flatMap((m) => m.paths.map((p) => p.dev));
    const change = {
      none: () => undefined,
      // Three groups in turn: two switches between two polls still leave the map changed.
      switch: () => sim.topology.switchGroup(map, (Math.max(map.nextGroup, map.activeGroup) % 3) + 1),
      // Port 1 reports group 1 non-optimized: one path of one namespace fails, then comes back.
      ana: () => tree.setPortAnaState(1, 1, changes % 2 === 0 ? 'non-optimized' : 'inaccessible'),
      // A tenth of a second's events at a time, a path failing and then coming back.
      storm: () => {
        for (let i = 0; i < STORM_RATE / 10; i++, changes++) {
          const dev = devs[Math.floor(changes / 2) % devs.length];
          for (const d of changes % 2 === 0 ? sim.failPath(dev) : sim.reinstatePath(dev)) service.handleDatagram(d);
        }
      },
    }[c.change];
    const t0 = process.cpuUsage();
    const w0 = performance.now();
    timer = setInterval(() => {
      if (c.change !== 'storm') changes++;
      change();
    }, c.change === 'storm' ? 100 : 1000);
    await sleep(SECONDS * 1000);
    const used = process.cpuUsage(t0);
    const percent = ((used.user + used.system) / 1000 / (performance.now() - w0)) * 100;
    clearInterval(timer);
    return { percent, changes, published: Number(service.eventSerial - serial) };
  } finally {
    clearInterval(timer);
    // The tree as it was: the next case starts from the same ANA states.
    tree.setPortAnaState(1, 1, 'non-optimized');
    await service.stop();
    disconnect(conn);
    await sim.close();
  }
}

const spread = (xs: number[], digits: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], text: `${s[0].toFixed(digits)}–${s[s.length - 1].toFixed(digits)}` };
};

async function main(): Promise<void> {
  const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
  console.log(`${SECONDS} s each, ${ROUNDS} rounds, CPU of the service's process as % of one core (median, spread); load average ${load()}`);
  const bus = await startPrivateBus();
  const tree = new NvmeSysfsSim({ subsystems: 1, namespaces: SIZE, ports: 4, anaGroups: SIZE, parent: fs.existsSync('/dev/shm') ? '/dev/shm' : undefined });
  try {
    // A process's first service carries one-off work (compiling) into its first seconds: not counted.
    await measure(CASES[0], bus, tree);
    const figures = new Map<Case, Figure[]>(CASES.map((c) => [c, []]));
    for (let r = 0; r < ROUNDS; r++) for (const c of CASES) figures.get(c)!.push(await measure(c, bus, tree));
    for (const c of CASES) {
      const runs = figures.get(c)!;
      const own = spread(runs.map((f) => f.percent), 3);
      let line = `${c.label.padEnd(66)} ${own.median.toFixed(3).padStart(7)} % (${own.text})`;
      const reference = referenceOf(c);
      if (reference !== c) {
        const ref = figures.get(reference)!;
        const added = runs.map((f, i) => f.percent - ref[i].percent);
        const a = spread(added, 3);
        line += `  added ${a.median.toFixed(3).padStart(6)} % (${a.text}) goal < ${GOAL} % ${a.median < GOAL ? '✔' : '✘'}`;
        // Per change: what a switch or an ANA flip costs, read and published, beyond the same
        // service idle (its watch or poll included) in the same round; not for a storm's events.
        const idle = CASES.find((i) => i.group === c.group && i.change === 'none' && i.dm === c.dm && i.nvme === c.nvme);
        if ((c.change === 'switch' || c.change === 'ana') && idle) {
          const still = figures.get(idle)!;
          const per = spread(runs.map((f, i) => (((f.percent - still[i].percent) / 100) * SECONDS * 1000) / f.changes), 1);
          line += `, ${per.median.toFixed(1)} ms CPU a change (${per.text})`;
        }
      }
      const f = runs[0];
      if (c.change !== 'none') line += `; ${f.changes} changes, ${f.published} events published`;
      console.log(line);
    }
    console.log(`load average ${load()}`);
  } finally {
    tree.destroy();
    await bus.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
