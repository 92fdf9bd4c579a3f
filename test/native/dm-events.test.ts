// device-mapper's global event counter, watched (openDmEventWatch). Without device-mapper only
// the failures can be checked; where the kernel has it (the VM tier runs this file again,
// scenario native-tests), devices this test creates must wake the watch: a table event (a
// multipath target's switch_group, which moves the device's event counter) and a table
// swapped by a reload (which moves only the global counter).
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { dmListDevices, openDmEventWatch, type DmEventWatch } from '../../src/native/addon';
import { noDeviceMapper, thrown } from '../helpers/native';

const dmAbsent = noDeviceMapper();

const open: DmEventWatch[] = [];
const created: string[] = [];
afterEach(() => {
  for (const w of open.splice(0)) w.close();
  for (const name of created.splice(0).reverse()) execFileSync('dmsetup', ['remove', name]);
});

const dmsetup = (...args: string[]) => execFileSync('dmsetup', args, { encoding: 'utf8' }).trim();

/** A watch whose wakeups are counted; `next()` resolves at the first one after it is called. */
function watch() {
  let wakes = 0;
  let waiter: (() => void) | undefined;
  const w = openDmEventWatch(
    () => {
      wakes++;
      waiter?.();
    },
    (e) => {
      throw e;
    },
  );
  open.push(w);
  return {
    get wakes() {
      return wakes;
    },
    next: (what: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no wakeup after ${what} within 10 s`)), 10_000);
        waiter = () => {
          clearTimeout(timer);
          waiter = undefined;
          resolve();
        };
      }),
  };
}

describe('device-mapper events', () => {
  it('names the missing control node, and a node that is not device-mapper (as a kernel before 4.13 answers)', () => {
    expect(thrown(() => openDmEventWatch(() => {}, () => {}, '/nonexistent/control'))).toMatchObject({ code: 'ENOENT', syscall: 'open' });
    const err = thrown(() => openDmEventWatch(() => {}, () => {}, '/dev/null'));
    expect(err).toMatchObject({ code: 'ENOTTY', syscall: 'ioctl' });
    expect(err.message).toMatch(/^ioctl DM_DEV_ARM_POLL: /);
  });

  it.skipIf(dmAbsent !== undefined)(`wakes on a multipath target's switch_group (its event counter moves) and on a reload (only the global one does) (${dmAbsent ?? 'real device-mapper'})`, async () => {
    const id = randomUUID().slice(0, 8);
    const [zero, mp] = [`mpdbus-zero-${id}`, `mpdbus-mp-${id}`];
    // Two paths (zero targets) for a multipath table in two groups; bio-based, as zero is.
    const paths = ['a', 'b'].map((p) => {
      dmsetup('create', `${zero}${p}`, '--table', '0 2048 zero');
      created.push(`${zero}${p}`);
      return dmsetup('info', '-c', '--noheadings', '-o', 'major,minor', '--separator', ':', `${zero}${p}`);
    });
    const w = watch();
    const eventNr = () => dmListDevices().find((d) => d.name === mp)?.eventNr;

    let woken = w.next('dmsetup create');
    dmsetup('create', mp, '--table', `0 2048 multipath 2 queue_mode bio 0 2 1 ${paths.map((p) => `round-robin 0 1 1 ${p} 1`).join(' ')}`);
    created.push(mp);
    await woken;
    const before = eventNr();
    expect(before).toBeTypeOf('number');

    woken = w.next('switch_group');
    dmsetup('message', mp, '0', 'switch_group', '2');
    await woken;
    expect(eventNr()).toBe(before! + 1);

    woken = w.next('a reload');
    dmsetup('reload', `${zero}a`, '--table', '0 2048 zero');
    dmsetup('resume', `${zero}a`);
    await woken;
    expect(eventNr()).toBe(before! + 1);
    console.log(`device-mapper events: ${w.wakes} wakeups for create, switch_group and a reload`);
  });
});
