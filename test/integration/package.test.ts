// `npm run package` as a distribution would judge its output: the two .debs carry what the
// service runs and nothing else (no /usr/local, no dev dependencies, no addon sources, no
// tests), every bundled module's licence is in debian/copyright, lintian finds no error and
// no warning it is not told why to accept, the maintainer scripts start and enable nothing,
// and two builds of one commit are the same bytes. test/vm/scenarios/systemd-package.sh
// installs, upgrades, removes and purges them under systemd.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/service-harness';

const REPO = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};
const ACTIVATION = '/usr/share/dbus-1/system-services/org.kernel.linux.storage.multipath1.service';

let tmp: string;
let arch: string;
const out: string[] = [];
const debs = (i: number) => ({
  service: path.join(out[i], `multipath-dbus_${pkg.version}_${arch}.deb`),
  cockpit: path.join(out[i], `multipath-dbus-cockpit_${pkg.version}_all.deb`),
});

async function ok(cmd: string, args: string[]) {
  const r = await run(cmd, args);
  expect(r.code, `${cmd} ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}
const listing = async (deb: string) =>
  (await ok('dpkg-deb', ['-c', deb])).split('\n').filter(Boolean).map((l) => l.split(/\s+/).slice(5).join(' ').replace(/^\.\//, '/'));
const field = async (deb: string, name: string) => (await ok('dpkg-deb', ['-f', deb, name])).trim();
const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-deb-'));
  arch = (await ok('dpkg', ['--print-architecture'])).trim();
  // Twice from the same commit in the same checkout, as a rebuild would be.
  for (const i of [0, 1]) {
    out.push(path.join(tmp, `build${i}`));
    const built = await run('bash', [path.join(REPO, 'scripts', 'package.sh'), out[i]], { env: { SOURCE_DATE_EPOCH: '' } });
    expect(built.code, built.stdout + built.stderr).toBe(0);
  }
}, 240_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// dpkg-deb and lintian read the whole package: 13 s for lintian on a loaded day.
describe('npm run package', { timeout: 120_000 }, () => {
  it('makes the two packages, with the dependencies the issue names', async () => {
    const { service, cockpit } = debs(0);
    expect(await field(service, 'Version')).toBe(pkg.version);
    expect(await field(service, 'Depends')).toMatch(/^nodejs \(>= 20\), dbus, libc6/);
    expect(await field(service, 'Recommends')).toBe('multipath-tools, polkitd');
    expect(await field(cockpit, 'Architecture')).toBe('all');
    expect(await field(cockpit, 'Depends')).toBe(`cockpit-bridge, multipath-dbus (>= ${pkg.version})`);
  });

  it('carries only what runs: nothing in /usr/local, no dev dependency, no addon source, no test, map or type file', async () => {
    const files = [...(await listing(debs(0).service)), ...(await listing(debs(0).cockpit))];
    const lock = JSON.parse(fs.readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')).packages as Record<string, { dev?: boolean }>;
    const dev = new Set([...Object.keys(pkg.devDependencies), ...Object.keys(lock).filter((k) => lock[k].dev).map((k) => k.replace(/.*node_modules\//, ''))]);
    const bad = files.filter((f) => {
      const mod = f.match(/\/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1];
      return (
        f.startsWith('/usr/local') ||
        (mod !== undefined && dev.has(mod)) ||
        /^\/usr\/lib\/multipath-dbus\/(native|src|test)\/|\/(tests?|__tests__|examples?)\/|binding\.gyp|\.(cc|cpp|h|ts|map)$|\.(test|spec)\.js$/.test(f)
      );
    });
    expect(bad).toEqual([]);
    expect(files).toContain('/usr/lib/multipath-dbus/build/Release/multipath_native.node');
    expect(files).toContain('/lib/systemd/system/multipath-dbus.service');
    expect(files).toContain(ACTIVATION);
    expect(files).toContain('/usr/share/cockpit/multipath-dbus/manifest.json');
  });

  it('debian/copyright gives the licence of every module bundled in either package', async () => {
    const copyright = fs.readFileSync(path.join(REPO, 'debian', 'copyright'), 'utf8');
    const stanzas = new Map(
      [...copyright.matchAll(/^Files: node_modules\/(\S+)\/\*\n(?:.+\n)*?License: (.+)$/gm)].map((m) => [m[1], m[2]]),
    );
    const modules = new Set(
      (await listing(debs(0).service)).flatMap((f) => f.match(/^\/usr\/lib\/multipath-dbus\/node_modules\/((?:@[^/]+\/)?[^/]+)\/package\.json$/)?.[1] ?? []),
    );
    expect(modules.size).toBeGreaterThan(3);
    const unlisted: string[] = [];
    for (const m of modules) {
      // package.json's licence: an SPDX name, {type}, or a list (old packages); some give none.
      const { license, licenses } = JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', m, 'package.json'), 'utf8'));
      const names = [license ?? licenses ?? []].flat().map((l: string | { type: string }) => (typeof l === 'string' ? l : l.type));
      const dep5 = names.map((l) => ({ MIT: 'Expat', 'MIT/X11': 'Expat', Apache2: 'Apache-2.0' })[l] ?? l);
      const listed = stanzas.get(m);
      if (!listed || dep5.some((l) => !listed.includes(l))) unlisted.push(`${m} (${names.join(', ')}): ${listed ?? 'no stanza'}`);
    }
    expect(unlisted).toEqual([]);
    // The Cockpit page is one esbuild bundle: cockpit/build.mjs writes which modules went in.
    const comment = copyright.match(/^Files: cockpit\/dist\/\*\n(?:.+\n)*?Comment: ((?:.+\n)+)/m)?.[1] ?? '';
    const bundled = fs.readFileSync(path.join(REPO, 'cockpit', 'bundled-modules.txt'), 'utf8').split('\n').filter(Boolean);
    expect(bundled).toContain('react');
    expect(bundled.filter((m) => !comment.includes(`${m} (`))).toEqual([]);
  });

  it('installs disabled: /etc/multipath-dbus.conf a conffile with enable = no; no script starts or enables; upgrade try-restarts, remove stops', async () => {
    const { service } = debs(0);
    const x = path.join(tmp, 'x');
    await ok('dpkg-deb', ['-R', service, x]);
    expect(fs.readFileSync(path.join(x, 'DEBIAN', 'conffiles'), 'utf8')).toBe('/etc/multipath-dbus.conf\n');
    expect(fs.readFileSync(path.join(x, 'etc', 'multipath-dbus.conf'), 'utf8')).toMatch(/^enable = no$/m);
    const script = (s: string) => (fs.existsSync(path.join(x, 'DEBIAN', s)) ? fs.readFileSync(path.join(x, 'DEBIAN', s), 'utf8') : '');
    const postinst = script('postinst');
    // Enabled only where the admin had enabled it before (deb-systemd-helper was-enabled).
    expect(postinst).not.toMatch(/deb-systemd-invoke (start|restart)|systemctl (start|enable)/);
    expect(postinst).toMatch(/if \[ -n "\$2" \]; then\s+deb-systemd-invoke try-restart 'multipath-dbus.service'/);
    expect(script('preinst')).not.toMatch(/stop/);
    expect(script('prerm')).toMatch(/"\$1" = remove .*\n\s+deb-systemd-invoke stop multipath-dbus.service/);
    expect(script('postrm')).toMatch(/deb-systemd-helper purge 'multipath-dbus.service'/);

    // The unit and the activation file start /usr/bin's command, which names node by path
    // and reports the package's version.
    expect(fs.readFileSync(path.join(x, 'lib/systemd/system/multipath-dbus.service'), 'utf8')).toMatch(/^ExecStart=\/usr\/bin\/multipath-dbus serve$/m);
    expect(fs.readFileSync(path.join(x, ACTIVATION), 'utf8')).toMatch(/^Exec=\/usr\/bin\/multipath-dbus serve$/m);
    expect(fs.readlinkSync(path.join(x, 'usr/bin/multipath-dbus'))).toBe('../lib/multipath-dbus/bin/multipath-dbus');
    const launcher = path.join(x, 'usr/lib/multipath-dbus/bin/multipath-dbus');
    expect(fs.readFileSync(launcher, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env -S /usr/bin/node --max-semi-space-size=1 --expose-gc');
    const version = await run(launcher, ['--version'], { env: { PATH: '' } });
    expect(version.stdout.trim(), version.stderr).toBe(await field(service, 'Version'));
  });

  it('the Cockpit page shows only where the activation file the service package ships exists', async () => {
    const x = path.join(tmp, 'cockpit');
    await ok('dpkg-deb', ['-x', debs(0).cockpit, x]);
    const manifest = JSON.parse(fs.readFileSync(path.join(x, 'usr/share/cockpit/multipath-dbus/manifest.json'), 'utf8'));
    expect(manifest.conditions).toEqual([{ 'path-exists': ACTIVATION }]);
    expect(await listing(debs(0).service)).toContain(ACTIVATION);
  });

  it('lintian: no error, and every warning left is overridden with a comment saying why', async () => {
    const { service, cockpit } = debs(0);
    const l = await run('lintian', ['--fail-on', 'error,warning', '--info', service, cockpit]);
    expect(l.code, l.stdout + l.stderr).toBe(0);
    // Also no override that no longer matches anything.
    expect(l.stdout).not.toMatch(/^[EW]: |unused-override|mismatched-override/m);
    for (const f of fs.readdirSync(path.join(REPO, 'debian')).filter((n) => n.endsWith('.lintian-overrides'))) {
      const lines = fs.readFileSync(path.join(REPO, 'debian', f), 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (line && !line.startsWith('#')) expect(lines[i - 1], `${f}: ${line}`).toMatch(/^#/);
      });
    }
  });

  it('two builds of one commit are identical', () => {
    expect(sha(debs(1).service)).toBe(sha(debs(0).service));
    expect(sha(debs(1).cockpit)).toBe(sha(debs(0).cockpit));
  });
});
