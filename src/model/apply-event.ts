// Apply one kernel path event to a map at once, without waiting for multipathd.
// dm-mpath numbers its uevents per map (DM_SEQNUM): an older one than we applied is stale
// (they can arrive out of order), a jump means we missed some and must re-read that map.
import { validPaths, type MapState, type PathState } from './topology';
import type { KernelEvent } from './readings';

export type PathEvent = Extract<KernelEvent, { kind: 'path' }>;

export type ApplyOutcome =
  | { kind: 'applied'; map: MapState; changed: boolean; needsResync: false | 'seqnum-gap' | 'valid-paths-mismatch' }
  | { kind: 'stale' }
  | { kind: 'unknown-path' };

export function applyPathEvent(map: MapState, ev: PathEvent): ApplyOutcome {
  if (map.dmSeqnum !== undefined && ev.dmSeqnum <= map.dmSeqnum) return { kind: 'stale' };
  const gap = map.dmSeqnum !== undefined && ev.dmSeqnum > map.dmSeqnum + 1;
  const path = map.paths.get(ev.pathDevT);
  if (!path) return { kind: 'unknown-path' };

  const dmState: PathState['dmState'] = ev.action === 'failed' ? 'failed' : 'active';
  let paths: ReadonlyMap<string, PathState> = map.paths;
  const changed = path.dmState !== dmState;
  if (changed) {
    const next = new Map(map.paths);
    // The kernel counts a failure only when an active path is failed.
    next.set(path.devT, { ...path, dmState, failCount: dmState === 'failed' ? path.failCount + 1 : path.failCount });
    paths = next;
  }
  const updated: MapState = { ...map, paths, dmSeqnum: ev.dmSeqnum };
  const needsResync = gap ? 'seqnum-gap' : validPaths(updated) !== ev.validPaths ? 'valid-paths-mismatch' : false;
  return { kind: 'applied', map: updated, changed, needsResync };
}
