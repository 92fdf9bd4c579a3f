// A command started the way a terminal starts it: in its own process group, so that one
// signal reaches every process of it (what Ctrl-C does), and what it leaves behind can be
// listed afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() when it exited. */
  at: number;
}

export interface GroupRun {
  child: ChildProcess;
  pgid: number;
  /** stdout and stderr so far, interleaved as they came. */
  output(): string;
  /** Resolves with the output once it matches; fails if the command exits first or `ms` pass. */
  waitFor(re: RegExp, ms?: number): Promise<string>;
  exited: Promise<Exit>;
  /** Signal every process of the group; returns Date.now() at the moment it was sent. */
  signal(sig: NodeJS.Signals): number;
}

export function startGroup(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): GroupRun {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const watchers = new Set<() => void>();
  const add = (d: Buffer) => {
    out += d;
    for (const w of [...watchers]) w();
  };
  child.stdout!.on('data', add);
  child.stderr!.on('data', add);
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  let gone = false;
  void exited.then(() => (gone = true), () => (gone = true));
  return {
    child,
    pgid: child.pid!,
    output: () => out,
    exited,
    signal: (sig) => {
      const at = Date.now();
      process.kill(-child.pid!, sig);
      return at;
    },
    waitFor: (re, ms = 20000) =>
      new Promise<string>((resolve, reject) => {
        const done = (err?: Error) => {
          watchers.delete(check);
          clearTimeout(timer);
          if (err) reject(err);
          else resolve(out);
        };
        const check = () => {
          if (re.test(out)) done();
          else if (gone) done(new Error(`exited before printing ${re}; output:\n${out}`));
        };
        const timer = setTimeout(() => done(new Error(`no ${re} within ${ms} ms; output:\n${out}`)), ms);
        watchers.add(check);
        void exited.finally(check);
        check();
      }),
  };
}

/** Pids of the processes in a process group that still run (zombies have exited). */
export function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended while we looked
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') pids.push(Number(entry));
  }
  return pids;
}

/** Whether a pid still names a running (not zombie) process. */
export function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** What is left of a group a test is done with: SIGKILL it, so no test leaks processes. */
export function killGroup(run: GroupRun): void {
  try {
    process.kill(-run.pgid, 'SIGKILL');
  } catch {
    // already empty
  }
}
