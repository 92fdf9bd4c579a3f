// A private system-like bus (src/cli/private-bus.ts: default-deny policy plus our
// dbus/org.kernel.linux.storage.multipath1.conf) and clients run as another uid, so tests
// see the access policy exactly as an unprivileged user on a real system would.
import { spawn, type ChildProcess } from 'node:child_process';

export { POLICY_FILE, startPrivateBus, type PrivateBus } from '../../src/cli/private-bus';

export const NOBODY = 65534;

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Start `cmd` as `uid` (same gid, no supplementary groups). setpriv rather than spawn's own
 * uid option, so what runs is exactly the command line a reader of the test would type.
 */
export function spawnAs(uid: number, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', cmd, ...args], {
    env: { ...process.env, HOME: '/nonexistent', ...env },
    // Not the checkout: that uid may not be allowed to enter it (see world-readable-copy.ts).
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Run `cmd` as `uid` to completion. */
export const runAs = (uid: number, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
  collect(spawnAs(uid, cmd, args, env));

/** Run `cmd` as the current user to completion. */
export const run = (cmd: string, args: string[]): Promise<RunResult> => collect(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }));

function collect(child: ChildProcess): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
