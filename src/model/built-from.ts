// What each map snapshot was built from (the source readings' objects for it), so a read that
// hands a map the very objects it was built from gets the snapshot back without building,
// cleaning and comparing it again: at 1,000 maps, a read of the one map whose kernel state
// moved (the device-mapper watch, an NVMe poll) then costs one map, not a thousand.
import type { MapState } from './topology';

/** A map, and what it was built from now (undefined: it was kept as it was). */
export interface Built {
  map: MapState;
  from?: readonly unknown[];
}

const inputs = new WeakMap<MapState, readonly unknown[]>();

/** What `map` was built from, if it was built by a reading. */
export function builtFrom(map: MapState): readonly unknown[] | undefined {
  return inputs.get(map);
}

/** Whether `map` was built from exactly these objects. */
export function sameInputs(map: MapState, from: readonly unknown[]): boolean {
  const was = inputs.get(map);
  return was !== undefined && was.length === from.length && was.every((x, i) => x === from[i]);
}

/** Records that `map` was built from `from`; returns `map`. */
export function madeFrom(map: MapState, from: readonly unknown[]): MapState {
  inputs.set(map, from);
  return map;
}
