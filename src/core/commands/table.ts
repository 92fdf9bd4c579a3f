// The management methods, one row each (as systemd-timedated declares its methods): the
// object it acts on, its arguments' checks, the polkit action, multipathd's command, and
// how the effect shows in the published state. Everything else (authorization, sending,
// waiting, logging) is the same for every row and lives in manager.ts.
import { ACTION_CONFIGURE, ACTION_MANAGE_PATHS, MANAGER_IFACE, MAP_IFACE, mapObjectPath, ROOT_PATH, PATH_IFACE } from '../../frontends/dbus/api';
import { chosenGroup, type MapState, type PathState, type Topology } from '../../model/topology';
import { pathObjectFor } from '../../frontends/dbus/views';

/** What a call turned into once its object and arguments checked out. */
export interface Prepared {
  /** multipathd's command, or the reason none can be written (Error.Failed). */
  command: string | { refused: string };
  /**
   * Which device the object names now. A map's object is its WWID, its identity; a path's is
   * its kernel name, which the kernel gives the next disk once this one is gone: its dev_t.
   */
  identity: string;
  /** The effect as the published state shows it; absent: the state read after the command, published. */
  visible?: (now: Topology) => boolean;
  /** multipathd's settings change too: read them again. */
  rereadSettings?: boolean;
  /** The kernel announces the effect itself, in a path uevent carrying its DM_SEQNUM. */
  announcedByKernel?: boolean;
}

/** A row, with the object and argument types erased for the dispatcher. */
export interface ManagedMethod {
  iface: string;
  name: string;
  action: string;
  /** undefined: no such object (Error.NotFound); a string: invalid arguments or a name multipathd cannot be sent (InvalidArgs). */
  prepare(objectPath: string, topology: Topology, args: unknown[]): Prepared | string | undefined;
}

/** A name as it can go into a command: a word, or why none can be sent (Failed: not known yet; InvalidArgs: not one word). */
type Word = string | { refused: string } | { invalid: string };

interface Row<T> {
  iface: string;
  name: string;
  action: string;
  find(objectPath: string, topology: Topology): T | undefined;
  identity(target: T): string;
  /** The arguments before options: a message saying what is wrong with them, or undefined. */
  check?(target: T, args: unknown[]): string | undefined;
  command(target: T, args: unknown[]): Word;
  visible?(target: T, args: unknown[]): ((now: Topology) => boolean) | undefined;
  rereadSettings?: boolean;
  announcedByKernel?: boolean;
}

function row<T>(r: Row<T>): ManagedMethod {
  return {
    iface: r.iface,
    name: r.name,
    action: r.action,
    prepare(objectPath, topology, args) {
      const target = r.find(objectPath, topology);
      if (target === undefined) return undefined;
      const bad = r.check?.(target, args);
      if (bad !== undefined) return bad;
      const command = r.command(target, args);
      if (typeof command !== 'string' && 'invalid' in command) return command.invalid;
      return { command, identity: r.identity(target), visible: r.visible?.(target, args), rereadSettings: r.rereadSettings, announcedByKernel: r.announcedByKernel };
    },
  };
}

interface OnPath {
  map: MapState;
  path: PathState;
}

function findPath(objectPath: string, topology: Topology): OnPath | undefined {
  for (const map of topology.values()) for (const path of map.paths.values()) if (pathObjectFor(path) === objectPath) return { map, path };
  return undefined;
}

function findMap(objectPath: string, topology: Topology): MapState | undefined {
  for (const map of topology.values()) if (mapObjectPath(map.wwid) === objectPath) return map;
  return undefined;
}

// multipathd's tokenizer (libmultipath's alloc_strvec) splits a command at blanks and at
// bytes outside ASCII, makes a word of each `{`, `}` and `"` (a quote also joins what follows
// up to the next one), and ends the command at `!` or `#`. A name with any of these would
// reach multipathd as other words or be cut short: only bytes it reads as part of one word
// are sent, and it reads at most 512 bytes of the line.
const WORD = /^[A-Za-z0-9._:+@=-]{1,128}$/;
const NOT_ONE_WORD = 'has bytes multipathd would not read as one word (it is sent only ASCII letters, digits and ._:+@=-)';

/** A path as multipathd's `fail path` finds it: by its kernel name. */
function pathWord({ path }: OnPath): Word {
  if (path.device === '') return { refused: `the kernel name of path ${path.devT} is not known (yet), and multipathd finds paths by name` };
  if (WORD.test(path.device)) return path.device;
  return { invalid: `the kernel name of path ${path.devT} ${NOT_ONE_WORD}` };
}

/** A map as multipathd's find_mp_by_str() finds it: dm-N is unambiguous and safe to send; else its alias. */
function mapWord(map: MapState): Word {
  if (/^dm-\d+$/.test(map.sysfsName)) return map.sysfsName;
  return dmName(map);
}

/** The device-mapper name (multipathd's alias): `switchgroup` hands it to libdevmapper as is, so dm-N will not do. */
function dmName(map: MapState): Word {
  if (WORD.test(map.name)) return map.name;
  return { invalid: `the device-mapper name of map ${map.wwid} ${NOT_ONE_WORD}` };
}

const cmd = (verb: string, word: Word, rest = '') => (typeof word === 'string' ? `${verb} ${word}${rest}` : word);

const pathIdentity = ({ path }: OnPath) => `dev_t ${path.devT}`;
const mapIdentity = (map: MapState) => map.wwid;

const pathIs = ({ map, path }: OnPath, state: PathState['dmState']) => (now: Topology) => now.get(map.wwid)?.paths.get(path.devT)?.dmState === state;

export const MANAGED_METHODS: readonly ManagedMethod[] = [
  row<OnPath>({
    iface: PATH_IFACE,
    name: 'Fail',
    action: ACTION_MANAGE_PATHS,
    find: findPath,
    identity: pathIdentity,
    command: (t) => cmd('fail path', pathWord(t)),
    visible: (t) => pathIs(t, 'failed'),
    announcedByKernel: true,
  }),
  row<OnPath>({
    iface: PATH_IFACE,
    name: 'Reinstate',
    action: ACTION_MANAGE_PATHS,
    find: findPath,
    identity: pathIdentity,
    command: (t) => cmd('reinstate path', pathWord(t)),
    visible: (t) => pathIs(t, 'active'),
    announcedByKernel: true,
  }),
  row<MapState>({
    iface: MAP_IFACE,
    name: 'SwitchGroup',
    action: ACTION_MANAGE_PATHS,
    find: findMap,
    identity: mapIdentity,
    check: (map, [group]) =>
      (group as number) >= 1 && (group as number) <= map.groups.length ? undefined : `group ${group} does not exist: map ${map.name} has groups 1 to ${map.groups.length}`,
    command: (map, [group]) => cmd('switchgroup map', dmName(map), ` group ${group}`),
    visible: (map, [group]) => (now) => {
      const m = now.get(map.wwid);
      return m !== undefined && chosenGroup(m) === group;
    },
  }),
  row<MapState>({
    iface: MAP_IFACE,
    name: 'SetQueueing',
    action: ACTION_CONFIGURE,
    find: findMap,
    identity: mapIdentity,
    command: (map, [enabled]) => cmd(enabled ? 'restorequeueing map' : 'disablequeueing map', mapWord(map)),
    // Restoring brings back whatever no_path_retry the configuration gives (it may be none):
    // only the state read afterwards can say. Disabling always reads "off", without queue_if_no_path.
    visible: (map, [enabled]) =>
      enabled
        ? undefined
        : (now) => {
            const m = now.get(map.wwid);
            return m !== undefined && m.queueing === 'off' && !m.features.includes('queue_if_no_path');
          },
  }),
  row<MapState>({
    iface: MAP_IFACE,
    name: 'Resize',
    action: ACTION_CONFIGURE,
    find: findMap,
    identity: mapIdentity,
    command: (map) => cmd('resize map', mapWord(map)),
  }),
  row<null>({
    iface: MANAGER_IFACE,
    name: 'Reconfigure',
    action: ACTION_CONFIGURE,
    find: (objectPath) => (objectPath === ROOT_PATH ? null : undefined),
    identity: () => ROOT_PATH,
    command: () => 'reconfigure',
    rereadSettings: true,
  }),
];
