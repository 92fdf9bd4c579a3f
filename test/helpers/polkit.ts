// A real polkitd on a private test bus, deciding from our action file and rules the test
// writes. polkitd 122 has no option for other directories, so it runs in a private mount
// namespace (unshare -m) in which temporary directories are bind-mounted over its actions
// and both rules directories; nothing outside its process sees them. It is started as root
// and drops to the polkitd user itself, as under systemd; the bus must include polkit's own
// bus policy (POLKIT_BUS_POLICY: only that user may own org.freedesktop.PolicyKit1).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { callMethod, connectBus, disconnect } from '../../src/frontends/dbus/bus/connection';

export const POLKITD = '/usr/lib/polkit-1/polkitd';
export const POLKIT_NAME = 'org.freedesktop.PolicyKit1';
export const POLKIT_BUS_POLICY = '/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf';
/** A uid the tests grant (daemon: it has a passwd entry and is neither root nor nobody). */
export const GRANTED_UID = 1;
/** Our action file, as installed into /usr/share/polkit-1/actions. */
export const ACTIONS_FILE = path.resolve(__dirname, '..', '..', 'dbus', 'org.kernel.linux.storage.multipath1.policy');

const OVERLAID = ['/usr/share/polkit-1/actions', '/etc/polkit-1/rules.d', '/usr/share/polkit-1/rules.d'];

export interface PolkitOptions {
  /** .policy files for its actions directory (default: ours). */
  actions?: string[];
  /** rules.d content: file name -> JavaScript (see rulesFor). */
  rules: Record<string, string>;
}

export interface Polkit {
  pid: number;
  /** What polkitd printed so far (its rules' polkit.log lines included). */
  output(): string;
  /** Stop it and wait until its name is gone from the bus. */
  stop(): Promise<void>;
}

/** The login name of a uid, as polkit's rules see it in subject.user. */
export function userName(uid: number): string {
  for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (Number(f[2]) === uid && f[2] !== '') return f[0];
  }
  throw new Error(`uid ${uid} has no /etc/passwd entry: polkit rules name users`);
}

/**
 * Rules answering every action under `actionPrefix`: YES for the users of `grant`, NO for
 * those of `deny`, AUTH_ADMIN (a password, if the caller lets polkit ask) for those of
 * `challenge`, polkit's defaults for anyone else. Each decision is logged.
 */
export function rulesFor(actionPrefix: string, grant: number[], deny: number[], challenge: number[] = []): string {
  const names = (uids: number[]) => JSON.stringify(uids.map(userName));
  return `// written by test/helpers/polkit.ts
polkit.addRule(function (action, subject) {
  if (action.id.indexOf(${JSON.stringify(actionPrefix)}) !== 0) return undefined;
  if (${names(grant)}.indexOf(subject.user) >= 0) { polkit.log("test rule: YES " + action.id + " for " + subject.user); return polkit.Result.YES; }
  if (${names(deny)}.indexOf(subject.user) >= 0) { polkit.log("test rule: NO " + action.id + " for " + subject.user); return polkit.Result.NO; }
  if (${names(challenge)}.indexOf(subject.user) >= 0) { polkit.log("test rule: AUTH_ADMIN " + action.id + " for " + subject.user); return polkit.Result.AUTH_ADMIN; }
  return undefined;
});
`;
}

async function nameHasOwner(busAddress: string, name: string): Promise<boolean> {
  const bus = await connectBus(busAddress);
  try {
    const [has] = (await callMethod(bus, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', 's', [name])) as [boolean];
    return has;
  } finally {
    disconnect(bus);
  }
}

async function until(what: string, pred: () => Promise<boolean>, ms: number, gone?: () => string | undefined): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    const why = gone?.();
    if (why !== undefined) throw new Error(why);
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Start polkitd on the bus at `busAddress`; resolves once it owns org.freedesktop.PolicyKit1. */
export async function startPolkit(busAddress: string, opts: PolkitOptions): Promise<Polkit> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'multipath-dbus-polkit-'));
  const actionsDir = path.join(dir, 'actions');
  const rulesDir = path.join(dir, 'rules.d');
  const emptyDir = path.join(dir, 'empty');
  for (const d of [actionsDir, rulesDir, emptyDir]) fs.mkdirSync(d);
  for (const f of opts.actions ?? [ACTIONS_FILE]) fs.copyFileSync(f, path.join(actionsDir, path.basename(f)));
  for (const [name, text] of Object.entries(opts.rules)) fs.writeFileSync(path.join(rulesDir, name), text);
  // polkitd reads them after dropping to its own user.
  fs.chmodSync(dir, 0o755);
  for (const d of [actionsDir, rulesDir, emptyDir]) {
    fs.chmodSync(d, 0o755);
    for (const f of fs.readdirSync(d)) fs.chmodSync(path.join(d, f), 0o644);
  }
  const [actionsTarget, etcRules, usrRules] = OVERLAID;
  const script = [
    `mount --bind ${actionsDir} ${actionsTarget}`,
    `mount --bind ${rulesDir} ${etcRules}`,
    // The distribution's rules (50-default.rules, ...) would decide for users ours do not name.
    `mount --bind ${emptyDir} ${usrRules}`,
    `exec ${POLKITD}`,
  ].join(' && ');
  const child: ChildProcess = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
    env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: busAddress },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `polkitd exited (${code ?? signal}) before owning ${POLKIT_NAME}: ${out.trim()}`));
  child.on('error', (e) => (exited = `cannot start polkitd: ${e.message}`));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    await until(`polkitd to own ${POLKIT_NAME}`, () => nameHasOwner(busAddress, POLKIT_NAME), 30_000, () => exited);
  } catch (e) {
    child.kill('SIGKILL');
    cleanup();
    throw e;
  }
  return {
    pid: child.pid!,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await gone;
      }
      cleanup();
      await until(`${POLKIT_NAME} to leave the bus`, async () => !(await nameHasOwner(busAddress, POLKIT_NAME)), 10_000);
    },
  };
}
