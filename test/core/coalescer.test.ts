import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../src/core/coalescer';
import { fakeTimers, settle } from '../helpers/fake-timers';

describe('coalesced reads', () => {
  it('a burst of requests causes one read, and every caller is answered', async () => {
    const { timers, advance } = fakeTimers();
    let reads = 0;
    const c = new Coalescer(async () => void reads++, 1000, timers);
    const all = Promise.all(Array.from({ length: 100 }, () => c.request()));
    await advance(0);
    await all;
    expect(reads).toBe(1);
  });

  it('a flood causes at most one read per interval', async () => {
    const { timers, advance } = fakeTimers();
    let reads = 0;
    const c = new Coalescer(async () => void reads++, 1000, timers);
    for (let t = 0; t < 5000; t += 10) {
      void c.request();
      await advance(10);
    }
    expect(reads).toBeGreaterThanOrEqual(5);
    expect(reads).toBeLessThanOrEqual(6);
  });

  it('a request during a read gets a later read, not the running one', async () => {
    const { timers, advance } = fakeTimers();
    const started: number[] = [];
    let finish!: () => void;
    const c = new Coalescer(
      () => {
        started.push(timers.now());
        return new Promise<void>((r) => (finish = r));
      },
      100,
      timers,
    );
    void c.request();
    await advance(0);
    let secondDone = false;
    void c.request().then(() => (secondDone = true));
    finish();
    await advance(0);
    expect(secondDone).toBe(false);
    await advance(100);
    expect(started).toEqual([0, 100]);
    finish();
    await advance(0);
    expect(secondDone).toBe(true);
  });

  it('pokes from the event path coalesce like requests', async () => {
    const { timers, advance } = fakeTimers();
    let reads = 0;
    const c = new Coalescer(async () => void reads++, 1000, timers);
    for (let i = 0; i < 10000; i++) c.schedule();
    await advance(0);
    expect(reads).toBe(1);
    c.schedule();
    await advance(999);
    expect(reads).toBe(1);
    await advance(1);
    expect(reads).toBe(2);
  });
});

describe('a read that throws', () => {
  it('is reported once, rejects the callers it served, and the next read runs', async () => {
    const { timers, advance } = fakeTimers();
    const errors: unknown[] = [];
    let reads = 0;
    const c = new Coalescer(
      async () => {
        if (reads++ === 0) throw new Error('bug');
      },
      1000,
      timers,
      (e) => errors.push(e),
    );
    const first = expect(c.request()).rejects.toThrow('bug');
    await advance(0);
    await first;
    expect(errors).toHaveLength(1);
    const second = c.request();
    await advance(1000);
    await expect(second).resolves.toBeUndefined();
    expect(reads).toBe(2);
  });
});
