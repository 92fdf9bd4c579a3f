// The topology model: immutable per-map snapshots keyed by WWID, paths keyed by dev_t (by
// kernel name for NVMe paths, which have none: see pathKey). Two kinds of map share it:
// device-mapper multipath maps and native NVMe multipath namespaces, whose ANA groups are the
// groups and whose controller paths are the paths. A map owns its groups and paths, so one map
// can be replaced without copying the rest — a storm of path events on a host with a thousand
// LUNs touches one map at a time.

export type PathDmState = 'active' | 'failed';
export type GroupDmState = 'active' | 'enabled' | 'disabled';
export type Health = 'optimal' | 'degraded' | 'failed' | 'unknown';
export type MapKind = 'dm-multipath' | 'nvme';

/** The key of a path within its map: its dev_t, or its kernel name where it has none (NVMe paths are hidden devices). */
export const pathKey = (p: { readonly devT: string; readonly device: string }): string => p.devT || p.device;

export interface PathState {
  readonly devT: string;
  /** Kernel name (sdb); '' until multipathd or sysfs told us. */
  readonly device: string;
  /** Whether the kernel sends I/O down it: dm-mpath's A/F, or for NVMe a live controller with a usable ANA state. */
  readonly dmState: PathDmState;
  readonly deviceState: string;
  readonly checkerState: string;
  readonly checker: string;
  readonly priority: number;
  readonly hostWwnn: string;
  readonly hostWwpn: string;
  readonly targetWwnn: string;
  readonly targetWwpn: string;
  readonly hostAdapter: string;
  readonly lun: string;
  readonly marginal: boolean;
  readonly failCount: number;
  /** 1-based group number within the map (for NVMe, the ANA group id). */
  readonly group: number;
  /** NVMe: the path's ANA state (optimized, non-optimized, inaccessible, persistent-loss, change); '' for dm. */
  readonly anaState: string;
  /** NVMe: the controller this path goes through (nvme0) and its state, transport and address; '' for dm. */
  readonly controller: string;
  readonly controllerState: string;
  readonly transport: string;
  readonly address: string;
}

export interface GroupState {
  readonly number: number;
  readonly selector: string;
  readonly priority: number;
  readonly dmState: GroupDmState;
  readonly marginal: boolean;
  /** The member paths' keys (pathKey), in table order. */
  readonly paths: readonly string[];
}

export interface MapState {
  readonly kind: MapKind;
  readonly wwid: string;
  readonly name: string;
  readonly sysfsName: string;
  readonly devT: string;
  readonly size: bigint;
  readonly vendor: string;
  readonly product: string;
  readonly revision: string;
  readonly features: string;
  readonly hardwareHandler: string;
  readonly writeProtect: string;
  readonly dmState: string;
  readonly failback: string;
  readonly queueing: string;
  readonly pathFaults: number;
  readonly switchGroup: number;
  readonly mapLoads: number;
  readonly queueTimeouts: number;
  /** NVMe: the subsystem's NQN and I/O policy (numa, round-robin, queue-depth); '' for dm. */
  readonly subsystemNqn: string;
  readonly ioPolicy: string;
  readonly groups: readonly GroupState[];
  /**
   * The group dm-mpath named next in its status (1-based; 0 without a dm reading). After
   * switch_group it has no current group until the next I/O, so no group is active yet.
   */
  readonly nextGroup: number;
  readonly paths: ReadonlyMap<string, PathState>;
  /** Highest DM_SEQNUM applied; undefined until the first path uevent for this map. */
  readonly dmSeqnum: number | undefined;
}

/** An immutable view of every map. */
export type Topology = ReadonlyMap<string, MapState>;

export function validPaths(map: MapState): number {
  let n = 0;
  for (const p of map.paths.values()) if (p.dmState === 'active') n++;
  return n;
}

/** Each snapshot's health, worked out once: the manager's is asked at every burst, of every map. */
const healthOf = new WeakMap<MapState, Health>();

export function mapHealth(map: MapState): Health {
  let health = healthOf.get(map);
  if (health === undefined) {
    const total = map.paths.size;
    const valid = validPaths(map);
    health = total === 0 ? 'unknown' : valid === 0 ? 'failed' : valid === total ? 'optimal' : 'degraded';
    healthOf.set(map, health);
  }
  return health;
}

/** The manager's health: the worst of its maps ('optimal' when there are none). */
export function overallHealth(topology: Topology): Health {
  const rank: Record<Health, number> = { optimal: 0, unknown: 1, degraded: 2, failed: 3 };
  let worst: Health = 'optimal';
  for (const m of topology.values()) {
    const h = mapHealth(m);
    if (rank[h] > rank[worst]) worst = h;
  }
  return worst;
}

/** The group the kernel is currently sending I/O to (1-based), 0 when none is active. */
export function activeGroup(map: MapState): number {
  return map.groups.find((g) => g.dmState === 'active')?.number ?? 0;
}

/**
 * The group the kernel uses: its active group or, when it has none current (after
 * switch_group and before the next I/O), the one its status names next. PolicyChanged's
 * "ActiveGroup" follows this, so a switch is announced when it is made, not at the next I/O.
 */
export function chosenGroup(map: MapState): number {
  return activeGroup(map) || map.nextGroup;
}
