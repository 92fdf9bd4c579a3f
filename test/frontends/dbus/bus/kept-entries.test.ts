// The marshalled GetManagedObjects entries are kept while calls use them (a client's pages,
// a repeated read), then let go: kept for good they were the whole reply's size again in
// memory (48 MiB at 8,192 x 4). What stays is each entry's size, so a refusal still costs
// nothing to repeat. An ObjectServer with the real tables on a real dbus-daemon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPathObjects, type PathObjects } from '../../../helpers/path-objects';

const OBJECTS = 500;
const KEPT_MS = 200;

let o: PathObjects;
let released: () => void = () => undefined;
let releases = 0;

beforeAll(async () => {
  o = await exportPathObjects(OBJECTS, {
    entriesKeptMs: KEPT_MS,
    onEntriesReleased: () => {
      releases++;
      released();
    },
  });
}, 60_000);

afterAll(async () => o?.stop());

const getManagedObjects = () => o.getManagedObjects();
const nextRelease = () => new Promise<void>((r) => (released = r));

describe('the kept GetManagedObjects entries', () => {
  it('are let go once calls stop using them, and the next reply is the same', async () => {
    const release = nextRelease();
    const before = await getManagedObjects();
    await release;
    expect(releases).toBe(1);
    expect(await getManagedObjects()).toEqual(before);
  });

  it('stay while calls keep using them', async () => {
    const release = nextRelease();
    const at = releases;
    const t0 = Date.now();
    // Calls closer together than KEPT_MS, for longer than it: nothing is let go meanwhile.
    while (Date.now() - t0 < KEPT_MS * 3) await getManagedObjects();
    expect(releases).toBe(at);
    await release;
    expect(releases).toBe(at + 1);
  });

  it('leave their sizes: a refusal after they went measures nothing again', async () => {
    await getManagedObjects();
    await nextRelease();
    const limit = o.serverConn.maxMessageBytes;
    o.serverConn.maxMessageBytes = 64 * 1024;
    try {
      o.charged.length = 0;
      await expect(getManagedObjects()).rejects.toThrow(/LimitsExceeded/);
      // Charged the 4 KiB minimum only: the running total was still known.
      expect(o.charged.length).toBeGreaterThan(0);
      expect(o.charged.every((b) => b <= 4096)).toBe(true);
    } finally {
      o.serverConn.maxMessageBytes = limit;
    }
  });
});
