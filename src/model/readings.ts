// What the sources tell the model, in the model's own terms: each source's parser produces
// these, and the model (build.ts, apply-event.ts) reads nothing else of a source. A new
// source adds its reading here and its merge in build.ts.
import type { NvmeReading } from './nvme-reading';

export interface MpdPath {
  dev: string;
  devT: string;
  dmState: string;
  devState: string;
  checkerState: string;
  checker: string;
  priority: number;
  hostWwnn: string;
  hostWwpn: string;
  targetWwnn: string;
  targetWwpn: string;
  hostAdapter: string;
  /** lun_hex */
  lun: string;
  marginal: boolean;
}

export interface MpdGroup {
  number: number;
  selector: string;
  priority: number;
  dmState: string;
  marginal: boolean;
  paths: MpdPath[];
}

export interface MpdMap {
  name: string;
  /** multipathd's "uuid": the WWID, exactly as multipathd and udev hold it. */
  wwid: string;
  sysfs: string;
  failback: string;
  queueing: string;
  numPaths: number;
  writeProt: string;
  dmState: string;
  features: string;
  hwhandler: string;
  pathFaults: number;
  vendor: string;
  product: string;
  revision: string;
  switchGroup: number;
  mapLoads: number;
  totalQTime: number;
  qTimeouts: number;
  groups: MpdGroup[];
}

export interface DmPathStatus {
  devT: string;
  active: boolean;
  failCount: number;
}

export interface DmGroupStatus {
  state: 'active' | 'enabled' | 'disabled';
  paths: DmPathStatus[];
}

export interface DmMultipathStatus {
  featureArgs: string[];
  hwHandlerArgs: string[];
  /** 1-based; the group the kernel will use next (0 only when there are no groups). */
  nextGroup: number;
  /** In table order: group N is groups[N - 1]. */
  groups: DmGroupStatus[];
}

export interface DmGroupTable {
  /** "service-time 0": name, argument count and arguments, as multipathd prints it. */
  selector: string;
  paths: { devT: string; args: string[] }[];
}

export interface DmMultipathTable {
  /** "0" or "1 queue_if_no_path", as multipathd prints it. */
  features: string;
  /** "1 alua" or "0". */
  hardwareHandler: string;
  initialGroup: number;
  groups: DmGroupTable[];
}

export interface BlacklistEntry {
  /** devnode | wwid | property | protocol | device */
  kind: string;
  pattern: string;
}

export interface MultipathSettings {
  userFriendlyNames: boolean;
  findMultipaths: string;
  pollingInterval: number;
  blacklist: BlacklistEntry[];
  blacklistExceptions: BlacklistEntry[];
}

/** A kernel uevent as the model applies it: dm-mpath's path events, and maps coming, going, changing. */
export type KernelEvent =
  | {
      kind: 'path';
      action: 'failed' | 'reinstated';
      /** DM_UUID without "mpath-". */
      wwid: string;
      mapName: string;
      /** "dm-0" */
      sysfs: string;
      /** The map's MAJOR:MINOR. */
      mapDevT: string;
      /** DM_PATH: the path's major:minor. */
      pathDevT: string;
      validPaths: number;
      /** Per map, not global: order a map's events by it. */
      dmSeqnum: number;
      /** The kernel's global SEQNUM. */
      seqnum: number;
    }
  | { kind: 'map'; action: 'add' | 'remove' | 'change'; sysfs: string; mapDevT: string; seqnum: number; mapName?: string; wwid?: string }
  /**
   * An NVMe subsystem, controller (NVME_EVENT=connected among them) or multipath head came,
   * went or changed: what it means only a read of sysfs can say.
   */
  | { kind: 'nvme'; action: 'add' | 'remove' | 'change'; device: string; seqnum: number };

/** One multipath map as device-mapper reports it. */
export interface DmMapView {
  name: string;
  uuid: string;
  devT: string;
  sizeSectors: number;
  status: DmMultipathStatus;
  table: DmMultipathTable;
  /** Kernel name of a member path (dev_t -> sdb); asked only when nothing else named it. */
  resolveName?: (devT: string) => string | undefined;
}

/**
 * What one read of the sources produced; undefined means "that source could not be read", or
 * was not read this time (a read of one source alone leaves the others' maps as they were).
 */
export interface SourceReadings {
  multipathd?: readonly MpdMap[];
  dm?: readonly DmMapView[];
  nvme?: NvmeReading;
}
