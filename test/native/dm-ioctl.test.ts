// The device-mapper ioctls. Every way of not getting an answer must be a clear NativeError,
// not a crash. Where the kernel has device-mapper (the VM tier runs this file again there,
// scenario native-tests), a device this test creates itself must be found: a host without
// maps would otherwise pass with nothing checked.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DM_CONTROL_PATH, dmListDevices, dmTableStatus, NativeError } from '../../src/native/addon';
import { noDeviceMapper, thrown } from '../helpers/native';

const dmAbsent = noDeviceMapper();


describe('device-mapper ioctls', () => {
  it('names the missing control node, with errno and code', () => {
    const list = thrown(() => dmListDevices('/nonexistent/control'));
    expect(list).toMatchObject({ errno: 2, code: 'ENOENT', syscall: 'open' });
    expect(list.message).toBe('open /nonexistent/control: No such file or directory');
    const status = thrown(() => dmTableStatus('mpatha', false, '/nonexistent/control'));
    expect(status).toMatchObject({ code: 'ENOENT', syscall: 'open' });
    expect(status.message).toContain('/nonexistent/control');
  });

  it('reports a node that is not device-mapper as a failed ioctl', () => {
    const list = thrown(() => dmListDevices('/dev/null'));
    expect(list).toMatchObject({ code: 'ENOTTY', syscall: 'ioctl' });
    expect(list.message).toMatch(/^ioctl DM_LIST_DEVICES: /);
    const status = thrown(() => dmTableStatus('mpatha', true, '/dev/null'));
    expect(status).toMatchObject({ code: 'ENOTTY', syscall: 'ioctl' });
    expect(status.message).toMatch(/^ioctl DM_TABLE_STATUS mpatha: /);
  });

  it('refuses a name the kernel could not hold before asking it', () => {
    const err = thrown(() => dmTableStatus('m'.repeat(128), false, '/dev/null'));
    expect(err).toMatchObject({ code: 'ENAMETOOLONG', syscall: 'ioctl' });
  });

  it.runIf(!fs.existsSync(DM_CONTROL_PATH))('says clearly that this machine has no device-mapper control node', () => {
    const err = thrown(() => dmListDevices());
    expect(err.message).toBe(`open ${DM_CONTROL_PATH}: No such file or directory`);
  });

  it.skipIf(dmAbsent !== undefined)(`finds a device it creates (a zero target), with its table and status (${dmAbsent ?? 'real device-mapper'})`, () => {
    const name = `mpdbus-test-${randomUUID().slice(0, 8)}`;
    execFileSync('dmsetup', ['create', name, '--table', '0 2048 zero']);
    try {
      const [major, minor] = execFileSync('dmsetup', ['info', '-c', '--noheadings', '-o', 'major,minor', '--separator', ':', name], { encoding: 'utf8' }).trim().split(':');
      const device = dmListDevices().find((d) => d.name === name);
      expect(device?.devT).toBe(`${major}:${minor}`);
      for (const table of [false, true]) {
        expect(dmTableStatus(name, table)).toEqual([expect.objectContaining({ start: 0, length: 2048, targetType: 'zero' })]);
      }
    } finally {
      execFileSync('dmsetup', ['remove', name]);
    }
  });
});
