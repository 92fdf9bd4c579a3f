// The device-mapper reader's failure paths. This machine's kernel has no
// device-mapper, so the ioctls themselves are exercised by the VM tier; here we
// check that every way of not getting an answer is a clear NativeError, not a crash.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DM_CONTROL_PATH, dmListDevices, dmTableStatus, NativeError } from '../../src/native/addon';
import { thrown } from '../helpers/native';


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

  it.runIf(!fs.existsSync(DM_CONTROL_PATH))('says clearly that this machine has no device-mapper', () => {
    const err = thrown(() => dmListDevices());
    expect(err.message).toBe(`open ${DM_CONTROL_PATH}: No such file or directory`);
  });

  it.runIf(fs.existsSync(DM_CONTROL_PATH))('lists the devices of the real device-mapper', () => {
    for (const device of dmListDevices()) {
      expect(device.devT).toMatch(/^\d+:\d+$/);
      expect(Array.isArray(dmTableStatus(device.name, true))).toBe(true);
    }
  });
});
