// `npm run install-system` staged into a scratch root: every file lands where the system
// looks for it, the installed command runs, and removal takes it all back but the config.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/service-harness';

const SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'install-system.sh');

describe('install-system', () => {
  it('installs program, policy, activation file, unit, polkit actions and config; removes them again', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-root-'));
    const env = { DESTDIR: root, PREFIX: '/usr/local' };
    const inst = await run('bash', [SCRIPT], { env });
    expect(inst.code, inst.stderr).toBe(0);
    const files = [
      'usr/local/lib/multipath-dbus/dist/cli/main.js',
      'usr/local/lib/multipath-dbus/build/Release/multipath_native.node',
      'usr/local/lib/multipath-dbus/node_modules/dbus-next/package.json',
      'usr/share/dbus-1/system.d/org.kernel.linux.storage.multipath1.conf',
      'usr/share/dbus-1/system-services/org.kernel.linux.storage.multipath1.service',
      'etc/systemd/system/multipath-dbus.service',
      'usr/share/polkit-1/actions/org.kernel.linux.storage.multipath1.policy',
      'usr/share/cockpit/multipath-dbus/manifest.json',
      'usr/share/cockpit/multipath-dbus/index.html',
      'usr/share/cockpit/multipath-dbus/index.js',
      'etc/multipath-dbus.conf',
    ];
    for (const f of files) expect(fs.existsSync(path.join(root, f)), f).toBe(true);
    expect(fs.existsSync(path.join(root, 'usr/local/lib/multipath-dbus/node_modules/vitest'))).toBe(false);
    expect(fs.readFileSync(path.join(root, 'etc/multipath-dbus.conf'), 'utf8')).toMatch(/^enable = no/m);

    const version = await run('node', [path.join(root, 'usr/local/lib/multipath-dbus/bin/multipath-dbus'), '--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);

    const rm = await run('bash', [SCRIPT, '--remove'], { env });
    expect(rm.code, rm.stderr).toBe(0);
    for (const f of files.slice(0, -1)) expect(fs.existsSync(path.join(root, f)), f).toBe(false);
    expect(fs.existsSync(path.join(root, 'etc/multipath-dbus.conf'))).toBe(true);
    fs.rmSync(root, { recursive: true, force: true });
  }, 120_000);
});
