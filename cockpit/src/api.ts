// The service's D-Bus names and the shapes of its objects, as this page reads them
// (dbus/org.kernel.linux.storage.multipath1.xml is the contract).

export const BUS_NAME = 'org.kernel.linux.storage.multipath1';
export const ROOT = '/org/kernel/linux/storage/multipath1';
export const MANAGER = `${BUS_NAME}.Manager`;
export const MAP = `${BUS_NAME}.Map`;
export const GROUP = `${BUS_NAME}.PathGroup`;
export const PATH = `${BUS_NAME}.Path`;
export const ERROR = `${BUS_NAME}.Error`;
export const CONFIG_FILE = '/etc/multipath-dbus.conf';

export type Health = 'optimal' | 'degraded' | 'failed' | 'unknown';

/** A dm-multipath map, or a native NVMe multipath namespace (whose management methods answer NotSupported). */
export type Kind = 'dm-multipath' | 'nvme';

export interface ManagerProps {
  Version: string;
  InstanceId: string;
  EventSerial: number;
  Health: Health;
  MultipathdAvailable: boolean;
  KernelEventsAvailable: boolean;
  Maps: string[];
  Paths: string[];
}

export interface MapProps {
  Name: string;
  Wwid: string;
  SysfsName: string;
  Size: number;
  Vendor: string;
  Product: string;
  Revision: string;
  Features: string;
  HardwareHandler: string;
  DmState: string;
  Queueing: string;
  Failback: string;
  Health: Health;
  NumPaths: number;
  ValidPaths: number;
  PathFaults: number;
  PathGroups: string[];
  Paths: string[];
  Kind: Kind;
  /** NVMe only ("" for dm): the subsystem's NQN and its I/O policy (numa, round-robin, queue-depth). */
  SubsystemNqn: string;
  IoPolicy: string;
}

export interface GroupProps {
  Number: number;
  Selector: string;
  Priority: number;
  DmState: string;
  Marginal: boolean;
  Map: string;
  Paths: string[];
}

export interface PathProps {
  Device: string;
  DevT: string;
  DmState: string;
  DeviceState: string;
  CheckerState: string;
  Checker: string;
  Priority: number;
  HostWwpn: string;
  TargetWwpn: string;
  HostAdapter: string;
  Lun: string;
  Marginal: boolean;
  FailCount: number;
  Map: string;
  PathGroup: string;
  /** NVMe only ("" for dm): the path's ANA state, its controller (nvme1) with that controller's state, transport and address. */
  AnaState: string;
  Controller: string;
  ControllerState: string;
  Transport: string;
  Address: string;
}

/** Everything the page knows about the service's objects, keyed by object path. */
export interface Objects {
  manager: ManagerProps | null;
  maps: Map<string, MapProps>;
  groups: Map<string, GroupProps>;
  paths: Map<string, PathProps>;
}

export const emptyObjects = (): Objects => ({ manager: null, maps: new Map(), groups: new Map(), paths: new Map() });

/**
 * Manager.GetMapSummaries(after, max, options) -> (maps, next, serial): each map as its object
 * path, these Map properties in this order, then its paths' kernel names.
 */
export const MAP_SUMMARY_FIELDS = ['Name', 'Wwid', 'SysfsName', 'Vendor', 'Product', 'Size', 'Health', 'NumPaths', 'ValidPaths', 'Queueing', 'Kind'] as const;

/** The map-level signals, each ending with the service-wide serial. */
export const MAP_SIGNALS = ['PathFailed', 'PathReinstated', 'Failed', 'Restored', 'PolicyChanged'];
