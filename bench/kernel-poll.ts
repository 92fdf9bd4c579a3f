// The device-mapper watch at 1,000 maps x 4 paths: the service's CPU, as % of one core, idle
// and with one map's event counter moving every second (a path group switched), where the
// kernel's event counter is watched (Linux 4.13+) and where the device list is polled each
// second instead (kernel_poll_interval = 1), beside the same idle service with neither.
// Goal: the watch's share under 1 % of one core. In-process, on a private dbus-daemon, with
// the simulator's device-mapper: it stands in for the ioctls (DM_LIST_DEVICES, and a
// DM_TABLE_STATUS pair per map on each read), so their kernel time is not counted.
// `npx tsc -p tsconfig.json && npx tsx bench/kernel-poll.ts` (about a minute).
/* eslint-disable @typescript-eslint/no-require-imports */
import { startPrivateBus } from '../src/cli/private-bus';
import type { DmSource } from '../src/sources/device-mapper/reader';
import type * as Simulator from '../src/sim/simulator';
import { connectBus, createLogger, DEFAULT_CONFIG, disconnect, MultipathdClient, MultipathService } from './compiled';

// tsc's output, as bench/compiled.ts explains.
const { MultipathdSimulator } = require('../dist/sim/simulator') as typeof Simulator;

const MAPS = Number(process.env.KERNEL_POLL_MAPS ?? 1000);
const SECONDS = Number(process.env.KERNEL_POLL_SECONDS ?? 10);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

interface Case {
  label: string;
  /** The simulator's event counters watched (its watchEvents), or not. */
  watched: boolean;
  pollSeconds: number;
  /** One map's path group switched every second. */
  moving: boolean;
}

/** % of one core the service's process used over SECONDS, and what it published meanwhile. */
async function measure(c: Case): Promise<{ percent: number; moves: number; changes: number; requests: number }> {
  const bus = await startPrivateBus();
  const socket = `@multipath-dbus-kernel-poll-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const sim = new MultipathdSimulator({ socket, topology: { maps: MAPS, pathsPerMap: 4, groupsPerMap: 3 } });
  await sim.listen();
  const dm: DmSource = c.watched ? sim : { dmListDevices: () => sim.dmListDevices(), dmTableStatus: (n, t) => sim.dmTableStatus(n, t) };
  const conn = await connectBus(bus.address);
  const service = new MultipathService({
    bus: conn,
    config: { ...DEFAULT_CONFIG, enable: true, refreshInterval: 0, kernelPollInterval: c.pollSeconds },
    log: createLogger('error'),
    multipathd: new MultipathdClient({ socket, expectedUid: process.getuid?.() }),
    dm,
    openMonitor: undefined,
  });
  try {
    await service.start();
    await sleep(1000);
    const serial = service.eventSerial;
    const requests = sim.requests.length;
    const map = sim.topology.maps[0];
    // Three groups in turn: two switches between two polls still leave the map changed.
    let moves = 0;
    const mover = c.moving ? setInterval(() => {
          moves++;
          sim.topology.switchGroup(map, (Math.max(map.nextGroup, map.activeGroup) % 3) + 1);
        }, 1000) : undefined;
    const c0 = process.cpuUsage();
    await sleep(SECONDS * 1000);
    const used = process.cpuUsage(c0);
    clearInterval(mover);
    return { percent: ((used.user + used.system) / 1e6 / SECONDS) * 100, moves, changes: Number(service.eventSerial - serial), requests: sim.requests.length - requests };
  } finally {
    await service.stop();
    disconnect(conn);
    await sim.close();
    await bus.stop();
  }
}

async function main(): Promise<void> {
  console.log(`${MAPS} maps x 4 paths, ${SECONDS} s each, CPU of the service's process as % of one core`);
  const reference = await measure({ label: '', watched: false, pollSeconds: 0, moving: false });
  console.log(`${'idle, neither watched nor polled (reference)'.padEnd(58)} ${reference.percent.toFixed(3).padStart(7)} %`);
  const cases: Case[] = [
    { label: 'idle, event counter watched', watched: true, pollSeconds: 0, moving: false },
    { label: 'idle, device list polled each second (before 4.13)', watched: false, pollSeconds: 1, moving: false },
    { label: 'one map switching group each second, watched', watched: true, pollSeconds: 0, moving: true },
    { label: 'one map switching group each second, polled', watched: false, pollSeconds: 1, moving: true },
  ];
  for (const c of cases) {
    const r = await measure(c);
    const added = r.percent - reference.percent;
    // Each change is read and published: the CPU it adds, per change.
    const perChange = r.moves > 0 ? `${r.moves} switches, ${(((added / 100) * SECONDS * 1000) / r.moves).toFixed(1)} ms CPU each, ` : '';
    console.log(
      `${c.label.padEnd(58)} ${r.percent.toFixed(3).padStart(7)} %  added ${added.toFixed(3).padStart(7)} % (goal < 1 %)  ${perChange}${r.changes} events published, ${r.requests} multipathd requests`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
