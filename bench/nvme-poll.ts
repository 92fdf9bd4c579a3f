// The NVMe silent-state poll at 1,000 namespaces x 4 paths, on a simulated sysfs tree in
// tmpfs: CPU per poll and the share of one core it takes at the default 1 s interval (goal:
// under 1 %), beside reading every path each poll and the worst case of one ANA group per
// namespace. `npx tsc -p tsconfig.json && npx tsx bench/nvme-poll.ts` (about a minute).
// tmpfs is not sysfs: the kernel formats each value on read, a few hundred ns more per file.
/* eslint-disable @typescript-eslint/no-require-imports */
import * as fs from 'node:fs';
import type * as Reader from '../src/sources/nvme/reader';
import type * as Poll from '../src/sources/nvme/silent-poll';
import type * as Sim from '../src/sim/nvme-sysfs';

// tsc's output, as bench/compiled.ts explains.
const { readNvme } = require('../dist/sources/nvme/reader') as typeof Reader;
const { SilentStatePoll } = require('../dist/sources/nvme/silent-poll') as typeof Poll;
const { NvmeSysfsSim } = require('../dist/sim/nvme-sysfs') as typeof Sim;

const NAMESPACES = Number(process.env.NVME_NAMESPACES ?? 1000);
const PORTS = 4;
const POLLS = Number(process.env.NVME_POLLS ?? 50);
const parent = fs.existsSync('/dev/shm') ? '/dev/shm' : undefined;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Median CPU ms of `measure` over `runs` calls (after two warm-up calls); it returns what it measured. */
function median(runs: number, measure: () => number): number {
  measure();
  measure();
  const samples = Array.from({ length: runs }, measure);
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)];
}

function medianMs(runs: number, f: () => unknown): number {
  return median(runs, () => {
    const t = cpuMs();
    f();
    return cpuMs() - t;
  });
}

function line(label: string, ms: number, reads: number): void {
  // ms of CPU per poll at one poll a second = that many thousandths of a core.
  console.log(`${label.padEnd(52)} ${ms.toFixed(3).padStart(8)} ms CPU/poll ${String(reads).padStart(5)} reads  ${(ms / 10).toFixed(3)} % of one core at 1 s`);
}

for (const groups of [4, NAMESPACES]) {
  let t = Date.now();
  const sim = new NvmeSysfsSim({ subsystems: 1, namespaces: NAMESPACES, ports: PORTS, anaGroups: groups, parent });
  const built = Date.now() - t;
  try {
    t = Date.now();
    const reading = readNvme(sim.root);
    const paths = reading.subsystems.reduce((n, s) => n + s.namespaces.reduce((m, ns) => m + ns.paths.length, 0), 0);
    console.log(`\n${NAMESPACES} namespaces x ${PORTS} paths (${paths}), ${groups} ANA groups, tree in ${sim.root} (built in ${built} ms)`);
    console.log(`${'full read (readNvme, on a uevent)'.padEnd(52)} ${medianMs(5, () => readNvme(sim.root)).toFixed(1).padStart(8)} ms CPU`);
    const poll = new SilentStatePoll(reading, sim.root);
    line('poll, nothing changed (default: sweep over 60 polls)', medianMs(POLLS, () => poll.poll()), poll.reads);
    // One port's group turns inaccessible before each poll, and back: the poll reads the whole
    // group (and the one changed before it, still settling).
    let flip = false;
    const changing = median(POLLS, () => {
      flip = !flip;
      sim.setPortAnaState(1, 1, flip ? 'inaccessible' : 'non-optimized');
      const t0 = cpuMs();
      poll.poll();
      return cpuMs() - t0;
    });
    line('poll after a port changed one ANA group', changing, poll.reads);
    const everyPath = new SilentStatePoll(reading, sim.root, 1);
    line('every path every poll (sweepPolls 1), for comparison', medianMs(POLLS, () => everyPath.poll()), everyPath.reads);
  } finally {
    sim.destroy();
  }
}
