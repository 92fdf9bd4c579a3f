// What `serve` does after each reading so that the garbage of a reading (megabytes at a
// thousand maps) does not stay resident until V8 next decides to collect.
import * as v8 from 'node:v8';
import { trimMemory } from '../native/addon';

const gc = () => (globalThis as { gc?: () => void }).gc?.();

/**
 * How long after the last reading the service settles (see settle): longer than the 1 s
 * between two readings while events keep coming (the engine's minRefreshIntervalMs), so a
 * storm's readings do not each pay for it.
 */
const SETTLE_AFTER_MS = 1500;
let settling: NodeJS.Timeout | undefined;

/**
 * After each reading its garbage is collected at once (the launcher runs node with
 * --expose-gc; about 5 ms at 1,000 maps) and freed malloc pages go back to the kernel.
 * Once readings stop, the service settles.
 */
export function releaseMemory(): void {
  gc();
  trimMemory();
  if (settling) settling.refresh();
  else settling = setTimeout(settle, SETTLE_AFTER_MS).unref();
}

/**
 * A full collection that also compacts: V8 compacts only the pages it finds fragmented
 * enough, and left a quarter of the old generation committed but free (22 MiB for 16 MiB of
 * objects at 1,000 x 4). Then malloc is trimmed again: V8 frees dead ArrayBuffers' memory
 * (replies, a reading's buffers, dropped entries) on a background thread after a collection
 * returns, so the trim right after the reading's collection misses them. At 8,192 x 4 the
 * two took RSS from 194 to 134 MiB once started.
 */
function settle(): void {
  settling = undefined;
  v8.setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    v8.setFlagsFromString('--no-compact-on-every-full-gc');
  }
  trimMemory();
}
