// A real systemd-journald for one test, in a private mount namespace: tmpfs over its
// sockets and storage, so nothing reaches this machine's journal. Commands run inside the
// namespace (nsenter) see its /run/systemd/journal/socket, and journalctl reads its entries
// (and its own catalog database).
import { spawn, type ChildProcess } from 'node:child_process';
import { run, type Run } from './service-harness';

const SCRIPT = `
set -e
for d in /run/systemd /run/log /var/log/journal /var/lib/systemd/catalog; do mkdir -p "$d"; mount -t tmpfs tmpfs "$d"; done
/lib/systemd/systemd-journald &
journald=$!
trap 'kill $journald; wait $journald; exit 0' TERM
for i in $(seq 300); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
[ -S /run/systemd/journal/socket ]
echo ready
wait $journald
`;

export interface Journald {
  /** Start a command inside the namespace. */
  spawn(cmd: string, args: string[]): ChildProcess;
  /** `journalctl ARGS` on this journal. */
  journalctl(...args: string[]): Promise<Run>;
  /** A shell script inside the namespace, to completion. */
  sh(script: string): Promise<Run>;
  stop(): Promise<void>;
}

export async function startJournald(): Promise<Journald> {
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const end = Date.now() + 20_000;
  while (!out.includes('ready')) {
    if (child.exitCode !== null || Date.now() > end) {
      child.kill();
      throw new Error(`journald did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const inside = (cmd: string, args: string[]) => ['-t', String(child.pid), '-m', '--', cmd, ...args];
  return {
    spawn: (cmd, args) => spawn('nsenter', inside(cmd, args)),
    journalctl: (...args) => run('nsenter', inside('journalctl', ['--no-pager', ...args])),
    sh: (script) => run('nsenter', inside('bash', ['-c', script])),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
