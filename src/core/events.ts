// The one stream every output reads. The model's transitions are numbered once (the
// service-wide serial, kept in the history for clients that missed some) and handed to each
// sink in order; at the end of a burst each sink is told which maps changed. Events are plain
// data keyed by the model's identities (a map's WWID, a path's dev_t and kernel name): each
// front end names them in its own vocabulary (the D-Bus one as object paths). The D-Bus
// publisher, the metrics and the journal are sinks; none of them changes the model.
import type { MapState, PathState, Topology } from '../model/topology';
import type { MultipathSettings } from '../model/readings';

interface Numbered {
  /** Set when the event is recorded in the history: 1, 2, ... for the service's lifetime. */
  serial: bigint;
  /** Found by a re-read rather than announced by the kernel. */
  readonly synthesized: boolean;
}

/** A path's identity: its dev_t, and its kernel name ('' until one is known). */
interface OnPath {
  readonly wwid: string;
  readonly devT: string;
  readonly device: string;
}

/** One event, one definition of its fields. */
export type CoreEvent =
  | (Numbered & OnPath & { readonly name: 'PathFailed' | 'PathReinstated'; readonly validPaths: number; readonly dmSeqnum: number })
  | (Numbered & { readonly name: 'Failed' | 'Restored'; readonly wwid: string })
  | (Numbered & { readonly name: 'PolicyChanged'; readonly wwid: string; readonly properties: readonly string[] })
  | (Numbered & { readonly name: 'MapAdded' | 'MapRemoved'; readonly wwid: string; readonly mapName: string })
  | (Numbered & OnPath & { readonly name: 'PathAdded' | 'PathRemoved' })
  | (Numbered & { readonly name: 'Resynchronized'; readonly reason: string });

export type EventName = CoreEvent['name'];

/** What an event concerns, for the sinks that describe it (not kept in the history). */
export interface EventSubject {
  /** The map after the transition (before it, for a removal); absent for Resynchronized. */
  readonly map?: MapState;
  /** The path concerned, for the path events. */
  readonly path?: PathState;
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
  /** Signals a front end dropped because its peer was not reading, since start. */
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
  readonly full?: boolean;
}

export interface Sink {
  /** Called at once for each transition, in serial order. */
  event(e: CoreEvent, subject: EventSubject): void;
  /** Called once at the end of each burst in which anything changed. */
  burst(b: Burst): void;
}
