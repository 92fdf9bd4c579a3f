// Structural equality of map snapshots, so a refresh that changes nothing costs a compare
// per map and republishes nothing.
import type { GroupState, MapState, PathState } from './topology';

export function sameMap(a: MapState, b: MapState): boolean {
  if (a === b) return true;
  for (const k of Object.keys(a) as (keyof MapState)[]) {
    if (k === 'groups' || k === 'paths') continue;
    if (a[k] !== b[k]) return false;
  }
  if (a.groups.length !== b.groups.length || a.paths.size !== b.paths.size) return false;
  for (let i = 0; i < a.groups.length; i++) if (!sameGroup(a.groups[i], b.groups[i])) return false;
  for (const [devT, p] of a.paths) {
    const q = b.paths.get(devT);
    if (!q || !samePath(p, q)) return false;
  }
  return true;
}

function sameGroup(a: GroupState, b: GroupState): boolean {
  return (
    a.number === b.number &&
    a.selector === b.selector &&
    a.priority === b.priority &&
    a.dmState === b.dmState &&
    a.marginal === b.marginal &&
    a.paths.length === b.paths.length &&
    a.paths.every((p, i) => p === b.paths[i])
  );
}

function samePath(a: PathState, b: PathState): boolean {
  for (const k of Object.keys(a) as (keyof PathState)[]) if (a[k] !== b[k]) return false;
  return true;
}
