// The transitions between two snapshots of one map. Property changes are not listed here:
// the D-Bus layer compares published values itself; these are the events a client is told about.
// Paths are named by their key in the map (pathKey: dev_t, or the kernel name of an NVMe path).
import { chosenGroup, validPaths, type MapState } from './topology';

export type Transition =
  | { type: 'map-added'; wwid: string }
  | { type: 'map-removed'; wwid: string; map: MapState }
  | { type: 'path-added'; wwid: string; key: string }
  | { type: 'path-removed'; wwid: string; key: string; device: string }
  | { type: 'path-failed' | 'path-reinstated'; wwid: string; key: string; validPaths: number; dmSeqnum: number }
  | { type: 'map-failed' | 'map-restored'; wwid: string }
  | { type: 'policy-changed'; wwid: string; properties: string[] };

export function diffMap(prev: MapState | undefined, next: MapState | undefined): Transition[] {
  if (!prev && !next) return [];
  if (!next) {
    const p = prev!;
    return [
      ...[...p.paths].map(([key, x]): Transition => ({ type: 'path-removed', wwid: p.wwid, key, device: x.device })),
      { type: 'map-removed', wwid: p.wwid, map: p },
    ];
  }
  const out: Transition[] = [];
  const wwid = next.wwid;
  if (!prev) {
    out.push({ type: 'map-added', wwid });
    for (const key of next.paths.keys()) out.push({ type: 'path-added', wwid, key });
    return out;
  }
  for (const [key, p] of next.paths) {
    const before = prev.paths.get(key);
    if (!before) out.push({ type: 'path-added', wwid, key });
    else if (before.dmState !== p.dmState) {
      out.push({
        type: p.dmState === 'failed' ? 'path-failed' : 'path-reinstated',
        wwid,
        key,
        validPaths: validPaths(next),
        dmSeqnum: next.dmSeqnum ?? 0,
      });
    }
  }
  const prevValid = validPaths(prev);
  const nextValid = validPaths(next);
  if (prev.paths.size > 0 && prevValid > 0 && nextValid === 0 && next.paths.size > 0) out.push({ type: 'map-failed', wwid });
  if (prev.paths.size > 0 && prevValid === 0 && nextValid > 0) out.push({ type: 'map-restored', wwid });

  const policy = policyChanges(prev, next);
  if (policy.length > 0) out.push({ type: 'policy-changed', wwid, properties: policy });
  for (const [key, p] of prev.paths) {
    if (!next.paths.has(key)) out.push({ type: 'path-removed', wwid, key, device: p.device });
  }
  return out;
}

/** NVMe: a path usable before and after whose ANA state changed (between optimized and non-optimized). */
function anaStateMoved(prev: MapState, next: MapState): boolean {
  if (next.kind !== 'nvme') return false;
  for (const [key, p] of next.paths) {
    const before = prev.paths.get(key);
    if (before && before.dmState === 'active' && p.dmState === 'active' && before.anaState !== p.anaState) return true;
  }
  return false;
}

function policyChanges(prev: MapState, next: MapState): string[] {
  const selectors = (m: MapState) => m.groups.map((g) => g.selector).join('\n');
  const checks: [string, boolean][] = [
    ['Selector', selectors(prev) !== selectors(next)],
    ['ActiveGroup', chosenGroup(prev) !== chosenGroup(next)],
    ['Features', prev.features !== next.features],
    ['HardwareHandler', prev.hardwareHandler !== next.hardwareHandler],
    ['Failback', prev.failback !== next.failback],
    ['Queueing', prev.queueing !== next.queueing],
    ['IoPolicy', prev.ioPolicy !== next.ioPolicy],
    // Where NVMe I/O goes: a path that stays usable moved between optimized and non-optimized.
    ['AnaState', anaStateMoved(prev, next)],
  ];
  return checks.filter(([, changed]) => changed).map(([name]) => name);
}
