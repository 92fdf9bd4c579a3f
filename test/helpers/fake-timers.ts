// Timers driven by the test (the Timers seam of src/core/coalescer.ts): time moves only when told.
import type { Timers } from '../../src/core/ports';

export const settle = () => new Promise<void>((r) => setImmediate(r));

export function fakeTimers() {
  let now = 0;
  let queue: { at: number; fn: () => void; id: number }[] = [];
  let id = 0;
  const timers: Timers = {
    now: () => now,
    setTimeout: (fn, ms) => {
      queue.push({ at: now + ms, fn, id: ++id });
      return id;
    },
    clearTimeout: (h) => (queue = queue.filter((q) => q.id !== h)),
  };
  const advance = async (ms: number) => {
    const end = now + ms;
    for (;;) {
      queue.sort((a, b) => a.at - b.at);
      const next = queue[0];
      if (!next || next.at > end) break;
      queue.shift();
      now = next.at;
      next.fn();
      await settle();
    }
    now = end;
    await settle();
  };
  return { timers, advance };
}
