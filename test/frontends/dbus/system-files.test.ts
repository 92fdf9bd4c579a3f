// The files an administrator installs from dbus/: they must agree with the code and with each
// other, or the service fails at boot in ways no other test would notice.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, parseConfigFile } from '../../../src/config/config-file';
import { BUS_NAME } from '../../../src/frontends/dbus/api';
import { run } from '../../helpers/dbus-daemon';

const DIR = path.resolve(__dirname, '../../../dbus');
const read = (name: string) => fs.readFileSync(path.join(DIR, name), 'utf8');
const UNIT = read('multipath-dbus.service');

describe('the example configuration', () => {
  const example = read('multipath-dbus.conf.example');

  it('parses, and installs a disabled service', () => {
    expect(parseConfigFile(example, 'example')).toEqual({ ok: true, value: { ...DEFAULT_CONFIG, enable: false } });
  });

  it('documents the defaults: with every setting uncommented it still means the defaults', () => {
    const uncommented = example.replace(/^#(\w+ = .*)$/gm, '$1');
    expect(uncommented).not.toEqual(example);
    const r = parseConfigFile(uncommented, 'example');
    // Examples of settings that are off by default: the socket, the metrics outputs.
    const examples = { socket: undefined, metricsListen: undefined, metricsTextfile: undefined };
    expect(r.ok && { ...r.value, ...examples }).toEqual({ ...DEFAULT_CONFIG, ...examples });
  });
});

describe('activation and the systemd unit', () => {
  it('the activation file names our bus name and the unit that owns it', () => {
    const activation = read(`${BUS_NAME}.service`);
    expect(activation).toMatch(new RegExp(`^Name=${BUS_NAME.replace(/\./g, '\\.')}$`, 'm'));
    expect(activation).toMatch(/^User=root$/m);
    expect(activation).toMatch(/^SystemdService=multipath-dbus\.service$/m);
    expect(UNIT).toMatch(new RegExp(`^BusName=${BUS_NAME.replace(/\./g, '\\.')}$`, 'm'));
    expect(UNIT).toMatch(/^Type=dbus$/m);
  });

  it('keeps what Node and the dm ioctls need', () => {
    // V8 aborts under MemoryDenyWriteExecute; PrivateDevices hides /dev/mapper/control.
    expect(UNIT).not.toMatch(/^MemoryDenyWriteExecute=(yes|true|1)/m);
    expect(UNIT).not.toMatch(/^PrivateDevices=(yes|true|1)/m);
    expect(UNIT).toMatch(/^DeviceAllow=\/dev\/mapper\/control rw$/m);
    expect(UNIT).toMatch(/^RestrictAddressFamilies=AF_UNIX AF_NETLINK$/m);
  });

  it('bounds root to the two capabilities the service uses', () => {
    // CAP_SYS_ADMIN: device-mapper ioctls; CAP_NET_ADMIN: SO_RCVBUFFORCE on the uevent socket.
    expect(UNIT.match(/^CapabilityBoundingSet=.*$/gm)).toEqual(['CapabilityBoundingSet=CAP_SYS_ADMIN CAP_NET_ADMIN']);
  });

  it('systemd-analyze security scores the unit 2.0 or lower (test/vm/scenarios/systemd-unit.sh scores the installed one)', async () => {
    const r = await run('systemd-analyze', ['security', '--offline=true', '--no-pager', path.join(DIR, 'multipath-dbus.service')]);
    const score = /Overall exposure level for \S+: ([0-9.]+)/.exec(r.stdout)?.[1];
    expect(score, r.stdout + r.stderr).toBeDefined();
    expect(Number(score)).toBeLessThanOrEqual(2.0);
  });

  it('systemd accepts every directive', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'multipath-dbus-unit-'));
    try {
      // verify insists the binary exists; the rest of the unit is what is checked here.
      const unit = path.join(dir, 'multipath-dbus.service');
      fs.writeFileSync(unit, UNIT.replace(/\/usr\/local\/bin\/multipath-dbus/g, '/bin/true'));
      const r = await run('systemd-analyze', ['verify', '--man=no', unit]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
