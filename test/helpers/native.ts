import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { dmListDevices, NativeError } from '../../src/native/addon';

/** The NativeError a call throws (fails the test if it throws anything else, or nothing). */
export function thrown(fn: () => unknown): NativeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(NativeError);
    return e as NativeError;
  }
  throw new Error('expected a NativeError, nothing was thrown');
}

/** Why this machine's kernel cannot be asked about device-mapper, or undefined when it answers. */
export function noDeviceMapper(): string | undefined {
  try {
    dmListDevices();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

// /dev/null's device: a "change" on it makes udev re-apply its mode, nothing more.
export const DEVPATH = '/devices/virtual/mem/null';
const UEVENT_FILE = path.join('/sys', DEVPATH, 'uevent');

/** Why this machine cannot make the kernel send a uevent, or undefined when it can. */
export function canTrigger(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to write sysfs uevent files';
  try {
    fs.accessSync(UEVENT_FILE, fs.constants.W_OK);
  } catch {
    return `${UEVENT_FILE} is not writable`;
  }
  return undefined;
}

/** Makes the kernel emit a uevent we can recognise among everyone else's: its SYNTH_UUID. */
export function trigger(): string {
  const uuid = randomUUID();
  fs.writeFileSync(UEVENT_FILE, `change ${uuid} MPDBUSTEST=1`);
  return uuid;
}
