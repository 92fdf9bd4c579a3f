// What /proc says about another process: CPU time and resident memory.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** User + system CPU time of a process, in ms (clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * (1000 / 100);
}

export function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

/** Proportional set size: shared pages (the node binary's text) split among the processes mapping them. */
export function pssBytes(pid: number): number {
  return Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
}

/** A process's resident memory as the goals count it (MiB, one decimal). */
export interface Memory {
  rssMiB: number;
  pssMiB: number;
}

const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;

export function memoryOf(pid: number): Memory {
  return { rssMiB: mib(rssBytes(pid)), pssMiB: mib(pssBytes(pid)) };
}

/**
 * For a node child: Node's own diagnostic report on SIGUSR2 (`--report-on-signal`), written
 * only when asked, so the process measured runs as it otherwise would. Spread into its env.
 */
export function heapReportEnv(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --report-on-signal --report-signal=SIGUSR2 --report-directory=${dir}`.trim() };
}

/** The V8 heap (used / committed, MiB) of a child started with heapReportEnv(dir): asked for after its RSS was read. */
export async function v8HeapOf(pid: number, dir: string): Promise<{ usedMiB: number; totalMiB: number }> {
  const before = new Set(fs.readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (;;) {
    const name = fs.readdirSync(dir).find((f) => !before.has(f) && f.includes(`.${pid}.`));
    if (name) {
      try {
        const heap = JSON.parse(fs.readFileSync(`${dir}/${name}`, 'utf8')).javascriptHeap as { usedMemory: number; totalMemory: number };
        return { usedMiB: mib(heap.usedMemory), totalMiB: mib(heap.totalMemory) };
      } catch {
        // Still being written.
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Node's floor, measured in the same run: `node` with the launcher's flags (bin/multipath-dbus)
 * running nothing but a timer, once it has started.
 */
export async function nodeFloor(): Promise<Memory> {
  const child = spawn(process.execPath, [...launcherFlags(), '-e', "process.stdout.write('up'); setInterval(() => {}, 1e9)"], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise((resolve, reject) => {
      child.stdout!.once('data', resolve);
      child.once('exit', reject);
    });
    return memoryOf(child.pid!);
  } finally {
    child.kill();
  }
}

/** The node flags on the launcher's first line, so the floor runs with what `serve` runs with. */
function launcherFlags(): string[] {
  const first = fs.readFileSync(path.join(__dirname, '..', 'bin', 'multipath-dbus'), 'utf8').split('\n')[0];
  return first.split(/\s+/).filter((a) => a.startsWith('--'));
}
