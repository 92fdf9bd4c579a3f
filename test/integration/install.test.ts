// `npm run install-system` staged into a scratch root: every file lands where the system
// looks for it, the unit and activation file name the command under $PREFIX, the installed
// program runs from the staged tree alone, installing needs no network, and removal takes
// it all back (but the config, unless --purge). What root will run is root's alone to change:
// 0755 directories whatever the umask, node named by its path, PREFIX a plain path.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, startHarness, type Harness } from '../helpers/service-harness';

const SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'install-system.sh');

const files = (prefix: string) => [
  `${prefix}/lib/multipath-dbus/dist/cli/main.js`,
  `${prefix}/lib/multipath-dbus/build/Release/multipath_native.node`,
  `${prefix}/lib/multipath-dbus/node_modules/dbus-next/package.json`,
  `${prefix}/lib/multipath-dbus/node_modules/commander/package.json`,
  'usr/share/dbus-1/system.d/org.kernel.linux.storage.multipath1.conf',
  'usr/share/dbus-1/system-services/org.kernel.linux.storage.multipath1.service',
  'etc/systemd/system/multipath-dbus.service',
  'usr/share/polkit-1/actions/org.kernel.linux.storage.multipath1.policy',
  `${prefix}/lib/multipath-dbus/node_modules/prom-client/package.json`,
  'usr/lib/systemd/catalog/multipath-dbus.catalog',
  'usr/share/cockpit/multipath-dbus/manifest.json',
  'usr/share/cockpit/multipath-dbus/index.html',
  'usr/share/cockpit/multipath-dbus/index.js',
  'etc/multipath-dbus.conf',
];

let h: Harness;
beforeAll(async () => {
  h = await startHarness('small');
});
afterAll(async () => h?.stop());

async function stage(prefix: string, how: { offline?: boolean; umask?: string; env?: NodeJS.ProcessEnv } = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-root-'));
  const env: NodeJS.ProcessEnv = { DESTDIR: root, PREFIX: prefix, ...how.env };
  const inst = how.offline
    ? await run('unshare', ['--net', 'bash', SCRIPT], {
        // No network at all, and an npm that would have to fetch: an empty cache, a
        // registry nobody serves, no retries (so the old `npm ci` fails at once, not in minutes).
        env: { ...env, npm_config_cache: path.join(root, 'npm-cache'), npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0' },
      })
    : await run('bash', ['-c', `umask ${how.umask ?? '022'} && exec bash "$0"`, SCRIPT], { env });
  return { root, env, inst, at: (f: string) => path.join(root, f.replace(/^\//, '')) };
}

describe('install-system', () => {
  it('installs program, policy, activation file, unit, polkit actions and config; --remove keeps only the config', async () => {
    const { root, env, inst, at } = await stage('/usr/local');
    expect(inst.code, inst.stderr).toBe(0);
    for (const f of files('usr/local')) expect(fs.existsSync(at(f)), f).toBe(true);
    // Only what runs: no dev dependencies, no build tools.
    for (const dev of ['vitest', 'typescript', 'node-gyp', 'node-addon-api']) {
      expect(fs.existsSync(at(`usr/local/lib/multipath-dbus/node_modules/${dev}`)), dev).toBe(false);
    }
    expect(fs.readFileSync(at('etc/multipath-dbus.conf'), 'utf8')).toMatch(/^enable = no/m);
    expect(fs.readlinkSync(at('usr/local/bin/multipath-dbus'))).toBe('/usr/local/lib/multipath-dbus/bin/multipath-dbus');

    const version = await run('node', [at('usr/local/lib/multipath-dbus/bin/multipath-dbus'), '--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);

    const rm = await run('bash', [SCRIPT, '--remove'], { env });
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout.trim()).toBe('multipath-dbus removed (kept /etc/multipath-dbus.conf; --purge removes it too)');
    for (const f of files('usr/local').slice(0, -1)) expect(fs.existsSync(at(f)), f).toBe(false);
    expect(() => fs.lstatSync(at('usr/local/bin/multipath-dbus'))).toThrow();
    expect(fs.existsSync(at('etc/multipath-dbus.conf'))).toBe(true);
    fs.rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it('the unit and the activation file start the command under PREFIX; --purge says it removed the config', async () => {
    const { root, env, inst, at } = await stage('/opt/mpd');
    expect(inst.code, inst.stderr).toBe(0);
    for (const f of files('opt/mpd')) expect(fs.existsSync(at(f)), f).toBe(true);
    const unit = fs.readFileSync(at('etc/systemd/system/multipath-dbus.service'), 'utf8');
    const activation = fs.readFileSync(at('usr/share/dbus-1/system-services/org.kernel.linux.storage.multipath1.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/opt\/mpd\/bin\/multipath-dbus serve$/m);
    expect(activation).toMatch(/^Exec=\/opt\/mpd\/bin\/multipath-dbus serve$/m);
    expect(unit + activation).not.toContain('/usr/local');
    expect(fs.readlinkSync(at('opt/mpd/bin/multipath-dbus'))).toBe('/opt/mpd/lib/multipath-dbus/bin/multipath-dbus');

    const purge = await run('bash', [SCRIPT, '--purge'], { env });
    expect(purge.code, purge.stderr).toBe(0);
    expect(purge.stdout.trim()).toBe('multipath-dbus removed, including /etc/multipath-dbus.conf');
    expect(fs.existsSync(at('etc/multipath-dbus.conf'))).toBe(false);
    expect(fs.readdirSync(at('opt/mpd/lib'))).toEqual([]);
    fs.rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it.skipIf(process.getuid?.() !== 0)('needs no network, and the staged program runs from its own tree alone', async () => {
    const t0 = Date.now();
    const { root, inst, at } = await stage('/usr/local', { offline: true });
    expect(inst.code, inst.stdout + inst.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(fs.existsSync(at('npm-cache'))).toBe(false);
    // Run from the staged root (outside this checkout, so nothing resolves from its
    // node_modules): commander, dbus-next, the addon and the multipathd client all load.
    const cli = at('usr/local/lib/multipath-dbus/bin/multipath-dbus');
    const status = await run('node', [cli, 'status', '--bus', h.bus.address]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(h.sim.maps()[0].wwid);
    const snap = await run('node', [cli, 'snapshot', '--json', '--socket', h.sim.socket]);
    expect(snap.stderr).not.toMatch(/Cannot find module/);
    expect(JSON.parse(snap.stdout).map((m: { Wwid: string }) => m.Wwid)).toContain(h.sim.maps()[0].wwid);
    fs.rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it('under umask 0002 every directory it makes is 0755 and no file it installs is writable by group or others', async () => {
    const { root, inst } = await stage('/usr/local', { umask: '0002' });
    expect(inst.code, inst.stderr).toBe(0);
    const loose: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        const mode = fs.lstatSync(p).mode & 0o7777;
        if (e.isDirectory() ? mode !== 0o755 : !e.isSymbolicLink() && mode & 0o022) loose.push(`${mode.toString(8)} ${path.relative(root, p)}`);
        if (e.isDirectory()) walk(p);
      }
    };
    walk(root);
    expect(loose).toEqual([]);
    fs.rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it('the command names node by its absolute path and runs with PATH empty', async () => {
    const { root, inst, at } = await stage('/usr/local');
    expect(inst.code, inst.stderr).toBe(0);
    const launcher = at('usr/local/lib/multipath-dbus/bin/multipath-dbus');
    const node = (await run('bash', ['-c', 'command -v node'])).stdout.trim();
    expect(node).toMatch(/^\//);
    expect(fs.readFileSync(launcher, 'utf8').split('\n')[0]).toBe(`#!/usr/bin/env -S ${node} --max-semi-space-size=1 --expose-gc`);
    // As a root service whose PATH has no node in it: the unit execs $PREFIX/bin/multipath-dbus, this file.
    const version = await run(launcher, ['--version'], { env: { PATH: '' } });
    expect(version.stdout.trim(), version.stderr).toMatch(/^\d+\.\d+\.\d+$/);
    fs.rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it('a PREFIX that is not a plain absolute path, or a node another user could replace, is refused with a clear error, and nothing is installed', async () => {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-usernode-'));
    const userNode = path.join(userDir, 'node');
    fs.copyFileSync(process.execPath, userNode);
    fs.chownSync(userNode, 65534, 65534);
    const cases: [NodeJS.ProcessEnv, string][] = [
      ...['/opt/a|b', '/opt/a\nb', '/opt/a&b', 'opt/mpd', '/opt/../etc'].map((prefix): [NodeJS.ProcessEnv, string] => [
        { PREFIX: prefix },
        `PREFIX must be a plain absolute path (letters, digits, . _ / + -; no ..), not `,
      ]),
      [{ NODE: userNode }, `node ${userNode} (or a directory above it) can be changed by a user other than root`],
    ];
    for (const [env, message] of cases) {
      const { root, inst } = await stage(env.PREFIX ?? '/usr/local', { env });
      expect(inst.code, JSON.stringify(env)).toBe(2);
      // One line, the caller's text quoted (a newline in it shown as \n, not written).
      expect(inst.stderr).toMatch(/^[^\n]*\n$/);
      expect(inst.stderr).toContain(message);
      expect(inst.stderr).toContain('nothing installed or removed');
      expect(fs.readdirSync(root), JSON.stringify(env)).toEqual([]);
      fs.rmSync(root, { recursive: true, force: true });
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  }, 120_000);
});
