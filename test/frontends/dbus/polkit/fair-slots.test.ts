// The bounds on questions to polkit: overall, per uid, the waiting room, and turns between uids.
import { describe, expect, it } from 'vitest';
import { FairSlots } from '../../../../src/frontends/dbus/polkit/fair-slots';
import { RecentDenials } from '../../../../src/frontends/dbus/polkit/denials';

const LIMITS = { total: 4, perUid: 2, waitingPerUid: 3 };
const settle = () => new Promise((r) => setImmediate(r));

describe('polkit slots', () => {
  it('gives a uid at most its share, makes the rest wait, and refuses past the waiting room', async () => {
    const slots = new FairSlots(LIMITS);
    const held = [await slots.acquire(7), await slots.acquire(7)];
    const started: number[] = [];
    for (const i of [1, 2, 3]) void slots.acquire(7).then(() => started.push(i));
    await expect(slots.acquire(7)).rejects.toMatchObject({ errorName: 'org.freedesktop.DBus.Error.LimitsExceeded' });
    // Another uid is not kept waiting by uid 7's queue.
    await slots.acquire(8);
    await settle();
    expect(started).toEqual([]);
    held[0]();
    held[0](); // giving a slot back twice frees one
    await settle();
    expect(started).toEqual([1]);
  });

  it('serves the uids that wait in turn, one call each', async () => {
    const slots = new FairSlots({ total: 2, perUid: 2, waitingPerUid: 10 });
    const first = [await slots.acquire(1), await slots.acquire(1)];
    const order: string[] = [];
    for (let i = 0; i < 3; i++) void slots.acquire(1).then((release) => (order.push('uid 1'), release));
    void slots.acquire(2).then(() => order.push('uid 2'));
    first[0]();
    first[1]();
    await settle();
    expect(order).toEqual(['uid 1', 'uid 2']);
  });
});

describe('recent denials', () => {
  it('remember a refusal for its duration, per caller, action and interactivity', () => {
    let now = 0;
    const d = new RecentDenials({ ms: 5000, max: 2, now: () => now });
    const key = RecentDenials.key(':1.5', 'a.b', false);
    d.remember(key, { ok: false, reason: 'no' });
    expect(d.get(key)).toEqual({ ok: false, reason: 'no' });
    expect(d.get(RecentDenials.key(':1.5', 'a.b', true))).toBeUndefined();
    expect(d.get(RecentDenials.key(':1.6', 'a.b', false))).toBeUndefined();
    now = 5000;
    expect(d.get(key)).toBeUndefined();
  });

  it('keep at most `max`, dropping the oldest', () => {
    const d = new RecentDenials({ ms: 5000, max: 2, now: () => 0 });
    for (const s of [':1.1', ':1.2', ':1.3']) d.remember(RecentDenials.key(s, 'a', false), { ok: false, reason: s });
    expect(d.get(RecentDenials.key(':1.1', 'a', false))).toBeUndefined();
    expect(d.get(RecentDenials.key(':1.3', 'a', false))).toMatchObject({ reason: ':1.3' });
  });
});
