// The one place state changes. Kernel path events are applied the moment they arrive; full
// readings replace maps wholesale. Either way the caller gets, per map that changed, the
// snapshots before and after and the transitions between them.
import type { PathEvent } from './apply-event';
import { applyPathEvent } from './apply-event';
import { buildTopology } from './build';
import type { RepairWarn } from './clean-values';
import { diffMap, type Transition } from './diff';
import { builtFrom, madeFrom } from './built-from';
import { sameMap } from './equal';
import type { MapState, Topology } from './topology';
import type { SourceReadings } from './readings';

export interface MapChange {
  wwid: string;
  prev: MapState | undefined;
  next: MapState | undefined;
  transitions: Transition[];
}

export type PathEventResult =
  | { kind: 'applied'; change: MapChange | undefined; resync: false | 'seqnum-gap' | 'valid-paths-mismatch' }
  | { kind: 'stale' }
  /** The map or path is not known yet: only a re-read can place it. */
  | { kind: 'unknown' };

export class TopologyStore {
  private maps = new Map<string, MapState>();

  get topology(): Topology {
    return this.maps;
  }

  applyPathEvent(ev: PathEvent): PathEventResult {
    const prev = this.maps.get(ev.wwid);
    if (!prev) return { kind: 'unknown' };
    const out = applyPathEvent(prev, ev);
    if (out.kind === 'stale') return out;
    if (out.kind === 'unknown-path') return { kind: 'unknown' };
    this.maps.set(ev.wwid, out.map);
    const change = out.changed ? { wwid: ev.wwid, prev, next: out.map, transitions: diffMap(prev, out.map) } : undefined;
    return { kind: 'applied', change, resync: out.needsResync };
  }

  /** A dm device was created or removed: its DM_SEQNUM count starts again. */
  forgetSeqnum(sysfs: string): void {
    for (const [wwid, m] of this.maps) {
      if (m.sysfsName === sysfs && m.dmSeqnum !== undefined) this.maps.set(wwid, { ...m, dmSeqnum: undefined });
    }
  }

  /** Replace the state with a fresh reading; returns only the maps that really changed. `warn` hears each value clean-values.ts repaired. */
  applyReadings(readings: SourceReadings, warn?: RepairWarn): MapChange[] {
    const next = buildTopology(readings, this.maps, warn);
    const changes: MapChange[] = [];
    for (const [wwid, n] of next) {
      const prev = this.maps.get(wwid);
      if (prev === n) continue;
      if (prev && sameMap(prev, n)) {
        // The snapshot clients hold stays (replacing a key's value keeps its place in the map).
        next.set(wwid, prev);
        // What n was built from built prev as well: the next read with the same objects keeps it at once.
        const from = builtFrom(n);
        if (from) madeFrom(prev, from);
        continue;
      }
      changes.push({ wwid, prev, next: n, transitions: diffMap(prev, n) });
    }
    for (const [wwid, prev] of this.maps) {
      if (!next.has(wwid)) changes.push({ wwid, prev, next: undefined, transitions: diffMap(prev, undefined) });
    }
    this.maps = next;
    return changes;
  }
}
