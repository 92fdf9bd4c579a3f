import { describe, expect, it } from 'vitest';
import { EventHistory, MAX_EVENTS_PER_CALL } from '../../src/core/history';

const fill = (h: EventHistory, n: number) => {
  for (let i = 0; i < n; i++) h.append({ serial: 0n, name: 'PathFailed', wwid: 'w', devT: `8:${i}`, device: '', validPaths: 0, dmSeqnum: i, synthesized: false });
};

describe('event history', () => {
  it('numbers events from 1 and replays those after a serial', () => {
    const h = new EventHistory(10);
    fill(h, 3);
    expect(h.lastSerial).toBe(3n);
    expect(h.since(1n, 10)).toMatchObject({ complete: true, events: [{ serial: 2n }, { serial: 3n }] });
    expect(h.since(3n, 10)).toEqual({ complete: true, events: [] });
  });

  it('stays bounded and says when the oldest requested events are gone', () => {
    const h = new EventHistory(4);
    fill(h, 10);
    const r = h.since(0n, 100);
    expect(r.complete).toBe(false);
    expect(r.events.map((e) => e.serial)).toEqual([7n, 8n, 9n, 10n]);
    expect(h.since(6n, 100).complete).toBe(true);
    expect(h.since(5n, 100).complete).toBe(false);
  });

  it('caps what one call returns, whatever max the caller asks for', () => {
    const h = new EventHistory(5000);
    fill(h, 3000);
    expect(h.since(0n, 0xffffffff).events).toHaveLength(MAX_EVENTS_PER_CALL);
    expect(h.since(0n, 2).events.map((e) => e.serial)).toEqual([1n, 2n]);
  });

  it('treats a serial from the future (another instance) as incomplete', () => {
    const h = new EventHistory(4);
    fill(h, 2);
    expect(h.since(99n, 10)).toEqual({ complete: false, events: [] });
  });
});
