// Manager.GetMapSummaries: every map as a client lists it (views.ts mapSummary), a few hundred
// bytes each, for a client that shows thousands of maps and reads a map's groups and paths
// only when it needs them. Answered from the state as last published, with the serial of
// the newest event it reflects: the signals sent after the reply, or GetEvents from that
// serial, carry every later change.
import type { Burst, Sink } from '../../core/events';
import type { MapState, Topology } from '../../model/topology';
import { MAP_SUMMARY, mapObjectPath } from './api';
import { DBusError } from './bus/object-server';
import { align8, premarshal, type Premarshalled } from './bus/wire';
import { mapSummary } from './views';

export interface SummaryPage {
  maps: Premarshalled[];
  next: string;
  serial: bigint;
}

/** The reply's array length, `next` (4 + its bytes + NUL, padded) and the serial: beyond the entries. */
const REPLY_OVERHEAD = 8 + 8 + 8;

export class MapSummaries implements Sink {
  private topology: Topology = new Map();
  private serial = 0n;
  /** The maps' object paths in byte order, with their WWIDs, while no map comes or goes. */
  private sorted: { path: string; wwid: string }[] | undefined;
  /** Each map snapshot's entry, marshalled when first asked for (a snapshot never changes). */
  private readonly entries = new WeakMap<MapState, Premarshalled>();

  event(): void {}

  burst(b: Burst): void {
    if (b.full || [...b.changed].some(([wwid, map]) => !map || !this.topology.has(wwid))) this.sorted = undefined;
    this.topology = b.topology;
    this.serial = b.eventSerial;
  }

  /**
   * The maps whose object paths sort after `after`, at most `max`, and no more than fit in
   * `budget` bytes; `next` is the last one's path while more follow, else "".
   */
  page(after: string, max: number, budget: number): SummaryPage {
    const sorted = this.order();
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid].path <= after) lo = mid + 1;
      else hi = mid;
    }
    const maps: Premarshalled[] = [];
    let bytes = REPLY_OVERHEAD;
    let i = lo;
    for (; i < sorted.length && maps.length < max; i++) {
      const { path, wwid } = sorted[i];
      const entry = this.entry(this.topology.get(wwid)!);
      const size = align8(entry.bytes.length);
      if (bytes + size + Buffer.byteLength(path) > budget) break;
      bytes += size;
      maps.push(entry);
    }
    if (maps.length === 0 && i < sorted.length) {
      throw new DBusError('org.freedesktop.DBus.Error.LimitsExceeded', `the summary of ${sorted[i].path} alone is larger than the message size limit`);
    }
    return { maps, next: i < sorted.length ? sorted[i - 1].path : '', serial: this.serial };
  }

  private order(): { path: string; wwid: string }[] {
    if (!this.sorted) {
      this.sorted = [...this.topology.keys()].map((wwid) => ({ path: mapObjectPath(wwid), wwid })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    }
    return this.sorted;
  }

  private entry(map: MapState): Premarshalled {
    let e = this.entries.get(map);
    if (e === undefined) this.entries.set(map, (e = premarshal(MAP_SUMMARY, mapSummary(map))));
    return e;
  }
}
