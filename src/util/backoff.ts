// How long to wait before the next attempt at something that keeps failing: doubling from
// one second, capped at thirty, so a source that is gone for good costs two tries a minute.

export function backoffMs(failures: number, baseMs = 1000, maxMs = 30000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
}
