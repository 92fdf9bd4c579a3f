// The one stream every output reads. The model's transitions are numbered once (the
// service-wide serial, recorded in the history for GetEvents) and handed to each sink in
// order; at the end of a burst each sink is told which maps changed. The D-Bus publisher,
// metrics and the journal are sinks; none of them changes the model.
import type { MapState, PathState, Topology } from '../model/topology';
import type { EventValue, HistoryEvent } from './history';
import type { MultipathSettings } from '../model/readings';

export type EventName =
  | 'PathFailed'
  | 'PathReinstated'
  | 'Failed'
  | 'Restored'
  | 'PolicyChanged'
  | 'Resynchronized'
  | 'MapAdded'
  | 'MapRemoved'
  | 'PathAdded'
  | 'PathRemoved';

/** A transition as every sink sees it: the history entry plus the objects it concerns. */
export interface ServiceEvent extends HistoryEvent {
  readonly name: EventName;
  /** Found by a re-read rather than announced by the kernel. */
  readonly synthesized: boolean;
  /** The map after the transition (before it, for a removal); absent for Resynchronized. */
  readonly map?: MapState;
  /** The path concerned, for the path events. */
  readonly path?: PathState;
  readonly data: Record<string, EventValue>;
}

/** What the service knows about itself, beyond the topology. */
export interface ManagerState {
  version: string;
  instanceId: string;
  multipathdAvailable: boolean;
  kernelEventsAvailable: boolean;
  settings: MultipathSettings | undefined;
  /** Times the kernel uevent socket overflowed (events lost) since start. */
  ueventOverflows: number;
  /** Signals dropped because the bus daemon was not reading, since start. */
  signalsDropped: number;
}

export interface Burst {
  readonly topology: Topology;
  /** Maps whose snapshot changed in this burst: WWID -> the map now (undefined: gone). */
  readonly changed: ReadonlyMap<string, MapState | undefined>;
  readonly manager: ManagerState;
  /** Serial of the newest event. */
  readonly eventSerial: bigint;
  /**
   * The sink's view is unknown (one of its calls threw): it should rebuild everything from
   * `topology`; `changed` lists only what changed since the last burst.
   */
  readonly full: boolean;
}

export interface Sink {
  /** Called at once for each transition, in serial order. */
  event(e: ServiceEvent): void;
  /** Called once at the end of each burst in which anything changed. */
  burst(b: Burst): void;
}
