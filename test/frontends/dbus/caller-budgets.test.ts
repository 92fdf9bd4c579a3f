import { describe, expect, it } from 'vitest';
import { CallerBudgets } from '../../../src/frontends/dbus/caller-budgets';
import { fakeTimers, settle } from '../../helpers/fake-timers';

const LIMITS = { bytesPerSecond: 1000, burstBytes: 5000, perCallBytes: 100, maxWaiting: 3, managementCallBytes: 2000 };

describe('per-uid reply budgets', () => {
  it('admits at once within the burst, then makes the caller wait until the bucket has refilled', async () => {
    const { timers, advance } = fakeTimers();
    const b = new CallerBudgets(timers, LIMITS);
    expect(b.admit(1000)).toBeUndefined();
    b.charge(1000, 6000); // a large reply: the bucket is now 1,100 bytes in debt
    let admitted = false;
    void b.admit(1000)!.then(() => (admitted = true));
    await advance(1000);
    expect(admitted).toBe(false);
    await advance(200);
    expect(admitted).toBe(true);
  });

  it('uids do not share a bucket', () => {
    const { timers } = fakeTimers();
    const b = new CallerBudgets(timers, LIMITS);
    b.charge(1000, 1e9);
    expect(b.admit(1001)).toBeUndefined();
  });

  it('releases waiting calls one at a time, each paying before the next goes', async () => {
    const { timers, advance } = fakeTimers();
    const b = new CallerBudgets(timers, LIMITS);
    b.charge(7, 5000);
    const order: number[] = [];
    for (const i of [1, 2, 3]) void b.admit(7)!.then(() => {
      order.push(i);
      b.charge(7, 2000);
    });
    // The first goes as soon as the bucket is positive, and leaves it 2,100 bytes in debt.
    await advance(1000);
    expect(order).toEqual([1]);
    await advance(1200);
    expect(order).toEqual([1, 2]);
  });

  it('refuses with LimitsExceeded once too many calls wait', async () => {
    const { timers } = fakeTimers();
    const b = new CallerBudgets(timers, LIMITS);
    b.charge(7, 1e6);
    for (let i = 0; i < LIMITS.maxWaiting; i++) void b.admit(7);
    await expect(b.admit(7)).rejects.toMatchObject({ errorName: 'org.freedesktop.DBus.Error.LimitsExceeded' });
    b.stop();
    await settle();
  });
});
