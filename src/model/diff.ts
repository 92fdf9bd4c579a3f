// The transitions between two snapshots of one map. Property changes are not listed here:
// the D-Bus layer compares published values itself; these are the events a client is told about.
import { chosenGroup, validPaths, type MapState } from './topology';

export type Transition =
  | { type: 'map-added'; wwid: string }
  | { type: 'map-removed'; wwid: string; map: MapState }
  | { type: 'path-added'; wwid: string; devT: string }
  | { type: 'path-removed'; wwid: string; devT: string; device: string }
  | { type: 'path-failed' | 'path-reinstated'; wwid: string; devT: string; validPaths: number; dmSeqnum: number }
  | { type: 'map-failed' | 'map-restored'; wwid: string }
  | { type: 'policy-changed'; wwid: string; properties: string[] };

export function diffMap(prev: MapState | undefined, next: MapState | undefined): Transition[] {
  if (!prev && !next) return [];
  if (!next) {
    const p = prev!;
    return [
      ...[...p.paths.values()].map((x): Transition => ({ type: 'path-removed', wwid: p.wwid, devT: x.devT, device: x.device })),
      { type: 'map-removed', wwid: p.wwid, map: p },
    ];
  }
  const out: Transition[] = [];
  const wwid = next.wwid;
  if (!prev) {
    out.push({ type: 'map-added', wwid });
    for (const devT of next.paths.keys()) out.push({ type: 'path-added', wwid, devT });
    return out;
  }
  for (const [devT, p] of next.paths) {
    const before = prev.paths.get(devT);
    if (!before) out.push({ type: 'path-added', wwid, devT });
    else if (before.dmState !== p.dmState) {
      out.push({
        type: p.dmState === 'failed' ? 'path-failed' : 'path-reinstated',
        wwid,
        devT,
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
  for (const [devT, p] of prev.paths) {
    if (!next.paths.has(devT)) out.push({ type: 'path-removed', wwid, devT, device: p.device });
  }
  return out;
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
  ];
  return checks.filter(([, changed]) => changed).map(([name]) => name);
}
