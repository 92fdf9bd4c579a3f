// The NVMe silent-state poll at 1,000 namespaces x 4 paths, on a simulated sysfs tree in
// tmpfs, with 4 ANA groups and with one group per namespace (the worst case: every path is
// its group's representative, read every poll). Goal: under 1 % of one core at the default
// 1 s interval. Beside it, in the same run: this process idle over the same window (the
// reference), the poll reading every file by path (open/read/close, as before the kept files),
// and the same number of reads through kept fds on a real sysfs attribute, since tmpfs is not
// sysfs (kernfs formats each value on read).
// `npx tsc -p tsconfig.json && npx tsx --expose-gc bench/nvme-poll.ts` (about two minutes;
// with --expose-gc each window starts after a collection, as the service collects after a reading).
/* eslint-disable @typescript-eslint/no-require-imports */
import * as fs from 'node:fs';
import type * as Kept from '../src/sources/nvme/kept-attributes';
import type * as Reader from '../src/sources/nvme/reader';
import type * as Poll from '../src/sources/nvme/silent-poll';
import type * as Sim from '../src/sim/nvme-sysfs';

// tsc's output, as bench/compiled.ts explains.
const { readNvme } = require('../dist/sources/nvme/reader') as typeof Reader;
const { SilentStatePoll } = require('../dist/sources/nvme/silent-poll') as typeof Poll;
const { KeptAttributes } = require('../dist/sources/nvme/kept-attributes') as typeof Kept;
const { NvmeSysfsSim } = require('../dist/sim/nvme-sysfs') as typeof Sim;

const NAMESPACES = Number(process.env.NVME_NAMESPACES ?? 1000);
const PORTS = 4;
const POLLS = Number(process.env.NVME_POLLS ?? 50);
/** Seconds of each window at one poll a second (the idle reference has the same). */
const WINDOW = Number(process.env.NVME_WINDOW ?? 10);
const GOAL = 1; // % of one core
const parent = fs.existsSync('/dev/shm') ? '/dev/shm' : undefined;
// Present on every Linux; its show() is as small as ana_state's (one short line).
const SYSFS_ATTRIBUTE = '/sys/devices/system/cpu/online';

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

/** % of one core this process used over WINDOW seconds of calling `tick` once a second. */
async function windowPercent(tick: () => unknown): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  // V8's helper threads finish that collection (and any compiling) outside the window.
  await new Promise((settled) => setTimeout(settled, 1000));
  const t0 = cpuMs();
  const w0 = performance.now();
  await new Promise<void>((done) => {
    let n = 0;
    const timer = setInterval(() => {
      tick();
      if (++n === WINDOW) {
        clearInterval(timer);
        done();
      }
    }, 1000);
  });
  return ((cpuMs() - t0) / (performance.now() - w0)) * 100;
}

const pct = (p: number) => `${p.toFixed(3)} %`;
const verdict = (p: number) => `goal < ${GOAL} % ${p < GOAL ? '✔' : '✘'}`;

function line(label: string, ms: number, reads: number, extra = ''): void {
  // ms of CPU per poll at one poll a second = that many thousandths of a core.
  console.log(`  ${label.padEnd(50)} ${ms.toFixed(3).padStart(8)} ms CPU/poll ${String(reads).padStart(5)} reads  ${pct(ms / 10).padStart(9)} of one core at 1 s${extra}`);
}

async function main(): Promise<void> {
  // A process's first seconds carry one-off work on helper threads (about 60 ms here): not idle.
  await windowPercent(() => undefined);
  for (const groups of [4, NAMESPACES]) {
    let t = Date.now();
    const sim = new NvmeSysfsSim({ subsystems: 1, namespaces: NAMESPACES, ports: PORTS, anaGroups: groups, parent });
    const built = Date.now() - t;
    try {
      const reading = readNvme(sim.root);
      const paths = reading.subsystems.reduce((n, s) => n + s.namespaces.reduce((m, ns) => m + ns.paths.length, 0), 0);
      console.log(`\n${NAMESPACES} namespaces x ${PORTS} paths (${paths}), ${groups} ANA groups, tree in ${sim.root} (built in ${built} ms)`);
      console.log(`  ${'full read (readNvme, on a uevent)'.padEnd(50)} ${medianMs(5, () => readNvme(sim.root)).toFixed(1).padStart(8)} ms CPU`);
      t = cpuMs();
      const poll = new SilentStatePoll(reading, sim.root);
      const opened = cpuMs() - t;
      console.log(`  ${'new poll (opens the representatives\' files)'.padEnd(50)} ${opened.toFixed(1).padStart(8)} ms CPU`);
      try {
        const nothing = medianMs(POLLS, () => poll.poll());
        const reads = poll.reads;
        // The reference: this process, idle with the same timer, over the window just before.
        const idle = await windowPercent(() => undefined);
        const polling = await windowPercent(() => poll.poll());
        line('poll, nothing changed (default: sweep over 60 polls)', nothing, reads, `  ${verdict(nothing / 10)}`);
        console.log(`  ${`process over ${WINDOW} s: idle / polling once a second`.padEnd(50)} ${pct(idle)} / ${pct(polling)} of one core (the poll: ${pct(polling - idle)})`);
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
      } finally {
        poll.close();
      }
      const byPath = new SilentStatePoll(reading, sim.root, 60, 0);
      const before = medianMs(POLLS, () => byPath.poll());
      line('the same, every file by path (before the kept fds)', before, byPath.reads);
      byPath.close();
      const everyPath = new SilentStatePoll(reading, sim.root, 1);
      line('every path every poll (sweepPolls 1), for comparison', medianMs(POLLS, () => everyPath.poll()), everyPath.reads);
      everyPath.close();
      if (groups === NAMESPACES) sysfsCalibration(paths + PORTS);
    } finally {
      sim.destroy();
    }
  }
}

/** The worst case's reads through kept fds of a real sysfs attribute: what the kernel adds to tmpfs's figure. */
function sysfsCalibration(reads: number): void {
  if (!fs.existsSync(SYSFS_ATTRIBUTE)) return;
  const kept = new KeptAttributes(reads, 32);
  try {
    for (let i = 0; i < reads; i++) kept.keep(SYSFS_ATTRIBUTE);
    const ms = medianMs(POLLS, () => {
      kept.readAll();
      for (let i = 0; i < reads; i++) kept.value(i);
    });
    line(`${reads} reads of kept ${SYSFS_ATTRIBUTE} (real sysfs)`, ms, reads, `  ${verdict(ms / 10)}`);
  } finally {
    kept.close();
  }
}

void main();
