// What native NVMe multipath looks like, as the NVMe source reads it from sysfs: subsystems ->
// namespaces (the multipath heads, nvmeXnY) -> paths (one per controller, nvmeXcYnZ), with the
// controller each path goes through. Plain data: the source fills it, the model reads it.

/** A path's ANA state as the kernel prints it (multipath.c nvme_ana_state_names). */
export const ANA_STATES = ['optimized', 'non-optimized', 'inaccessible', 'persistent-loss', 'change'] as const;
export type AnaState = (typeof ANA_STATES)[number] | 'unknown';

/** A controller's state as the kernel prints it (core.c nvme_sysfs_show_state). */
export const CONTROLLER_STATES = ['new', 'live', 'resetting', 'connecting', 'deleting', 'deleting (no IO)', 'dead'] as const;
export type ControllerState = (typeof CONTROLLER_STATES)[number] | 'unknown';

/** The subsystem's I/O policy (multipath.c nvme_iopolicy_names; queue-depth since 6.11). */
export const IO_POLICIES = ['numa', 'round-robin', 'queue-depth'] as const;
export type IoPolicy = (typeof IO_POLICIES)[number] | 'unknown';

export interface NvmeController {
  /** nvmeX */
  name: string;
  state: ControllerState;
  /** tcp, rdma, fc, pcie, loop; '' when unreadable. */
  transport: string;
  /** "traddr=…,trsvcid=…" for fabrics, the PCI address for pcie; '' when absent or unreadable. */
  address: string;
  cntlid: number | undefined;
  subsysnqn: string;
}

export interface NvmePath {
  /** nvmeXcYnZ: the per-controller block device the kernel hides behind the head. */
  name: string;
  /** The controller this path goes through (nvmeY). */
  controller: string;
  anaState: AnaState;
  anaGroup: number | undefined;
}

export interface NvmeNamespace {
  /** nvmeXnY: the multipath head. */
  name: string;
  /**
   * False while the head has no block device yet: the kernel adds it only once a path is
   * live and usable (multipath.c nvme_mpath_set_live), so a namespace whose paths are all
   * inaccessible at connect time has paths but no head; its ids then come from a path.
   */
  headPresent: boolean;
  nsid: number | undefined;
  wwid: string;
  nguid: string;
  uuid: string;
  /** 512-byte sectors. */
  sizeSectors: number | undefined;
  /** major:minor of the head; '' without one. */
  devT: string;
  paths: NvmePath[];
}

export interface NvmeSubsystem {
  /** nvme-subsysN */
  name: string;
  nqn: string;
  model: string;
  serial: string;
  firmwareRev: string;
  ioPolicy: IoPolicy;
  namespaces: NvmeNamespace[];
  /** Every controller linked from the subsystem, also those with no namespace. */
  controllers: NvmeController[];
}

export interface NvmeReading {
  /** nvme_core's multipath parameter: false when native multipath is off, undefined without nvme_core. */
  nativeMultipath: boolean | undefined;
  subsystems: NvmeSubsystem[];
  /**
   * Values that were unreadable or refused, one sentence each (attribute path under the
   * root, and why); outside text in them is escaped and cut short, safe for a log line.
   */
  problems: string[];
}
