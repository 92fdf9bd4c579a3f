// Version 1 of the API, as the README's "D-Bus API" section documents it.
// dbus/org.kernel.linux.storage.multipath1.xml is the same contract written by hand; a test
// (test/frontends/dbus/contract.test.ts) holds the two together.
import type { ArgSpec, InterfaceSpec, PropertySpec } from './bus/interface-spec';

export const BUS_NAME = 'org.kernel.linux.storage.multipath1';
export const ROOT_PATH = '/org/kernel/linux/storage/multipath1';
export const MANAGER_IFACE = `${BUS_NAME}.Manager`;
export const MAP_IFACE = `${BUS_NAME}.Map`;
export const PATH_GROUP_IFACE = `${BUS_NAME}.PathGroup`;
export const PATH_IFACE = `${BUS_NAME}.Path`;

/** The management methods' errors (Error.NotAuthorized, .NotFound, .Unavailable, .Failed). */
export const ERROR_PREFIX = `${BUS_NAME}.Error.`;
/** polkit actions, split by danger (dbus/org.kernel.linux.storage.multipath1.policy). */
export const ACTION_MANAGE_PATHS = `${BUS_NAME}.manage-paths`;
export const ACTION_CONFIGURE = `${BUS_NAME}.configure`;

const props = (list: string): PropertySpec[] =>
  list
    .trim()
    .split(/\s+/)
    .map((entry) => {
      const [name, type] = entry.split(':');
      return { name, type };
    });

const args = (list: string): ArgSpec[] => (list ? props(list) : []);

/** The Map properties in a map's Manager.GetMapSummaries struct, in order, after its object path and before its paths' kernel names. */
export const MAP_SUMMARY_FIELDS = ['Name', 'Wwid', 'SysfsName', 'Vendor', 'Product', 'Size', 'Health', 'NumPaths', 'ValidPaths', 'Queueing', 'Kind'] as const;
/** That struct's type (the fields' types as the Map table gives them: a test holds the two together). */
export const MAP_SUMMARY = '(ossssstsuussas)';

export const MANAGER: InterfaceSpec = {
  name: MANAGER_IFACE,
  properties: props(`
    Version:s InstanceId:s EventSerial:t Health:s MultipathdAvailable:b KernelEventsAvailable:b Maps:ao Paths:ao
    UserFriendlyNames:b FindMultipaths:s PollingInterval:u Blacklist:a(ss) BlacklistExceptions:a(ss)`),
  methods: [
    { name: 'GetEvents', in: args('since:t max:u'), out: args('complete:b events:a(tsoa{sv})') },
    { name: 'Refresh', in: [], out: [] },
    { name: 'GetManagedObjectsPage', in: args('after:s max:u'), out: args('objects:a{oa{sa{sv}}} next:s') },
    { name: 'GetMapSummaries', in: args('after:s max:u options:a{sv}'), out: args(`maps:a${MAP_SUMMARY} next:s serial:t`) },
    { name: 'Reconfigure', in: args('options:a{sv}'), out: [] },
  ],
  signals: [{ name: 'Resynchronized', args: args('reason:s serial:t') }],
};

export const MAP: InterfaceSpec = {
  name: MAP_IFACE,
  properties: props(`
    Name:s Wwid:s SysfsName:s DevT:s Size:t Vendor:s Product:s Revision:s Features:s HardwareHandler:s WriteProtect:s
    DmState:s Failback:s Queueing:s Health:s NumPaths:u ValidPaths:u PathFaults:u GroupSwitches:u MapLoads:u
    QueueTimeouts:u PathGroups:ao Paths:ao UDisksBlock:o Kind:s SubsystemNqn:s IoPolicy:s`),
  methods: [
    { name: 'SwitchGroup', in: args('group:u options:a{sv}'), out: [] },
    { name: 'SetQueueing', in: args('enabled:b options:a{sv}'), out: [] },
    { name: 'Resize', in: args('options:a{sv}'), out: [] },
  ],
  signals: [
    { name: 'PathFailed', args: args('path:o dev_t:s valid_paths:u dm_seqnum:u serial:t') },
    { name: 'PathReinstated', args: args('path:o dev_t:s valid_paths:u dm_seqnum:u serial:t') },
    { name: 'Failed', args: args('serial:t') },
    { name: 'Restored', args: args('serial:t') },
    { name: 'PolicyChanged', args: args('properties:as serial:t') },
  ],
};

export const PATH_GROUP: InterfaceSpec = {
  name: PATH_GROUP_IFACE,
  properties: props('Number:u Selector:s Priority:i DmState:s Marginal:b Map:o Paths:ao'),
  methods: [],
  signals: [],
};

export const PATH: InterfaceSpec = {
  name: PATH_IFACE,
  properties: props(`
    Device:s DevT:s DmState:s DeviceState:s CheckerState:s Checker:s Priority:i HostWwnn:s HostWwpn:s TargetWwnn:s
    TargetWwpn:s HostAdapter:s Lun:s Marginal:b FailCount:u Map:o PathGroup:o UDisksBlock:o AnaState:s Controller:s
    ControllerState:s Transport:s Address:s`),
  methods: [
    { name: 'Fail', in: args('options:a{sv}'), out: [] },
    { name: 'Reinstate', in: args('options:a{sv}'), out: [] },
  ],
  signals: [],
};

const escaped = new Map<string, string>();

/** Every byte outside [A-Za-z0-9] as _xx, as udisks does; '' becomes '_'. */
export function escapePathElement(s: string): string {
  const hit = escaped.get(s);
  if (hit !== undefined) return hit;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const alnum = (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122);
    out += alnum ? String.fromCharCode(b) : `_${b.toString(16).padStart(2, '0')}`;
  }
  if (out === '') out = '_';
  // Names of maps and paths on one host: bounded in practice; the cap keeps it so.
  if (escaped.size > 100_000) escaped.clear();
  escaped.set(s, out);
  return out;
}

export const mapObjectPath = (wwid: string) => `${ROOT_PATH}/maps/${escapePathElement(wwid)}`;
export const groupObjectPath = (wwid: string, n: number) => `${mapObjectPath(wwid)}/group${n}`;
export const pathObjectPath = (dev: string) => `${ROOT_PATH}/paths/${escapePathElement(dev)}`;
