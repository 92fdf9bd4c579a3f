// The management commands, one row each (as systemd-timedated declares its methods): the
// target it acts on, its arguments' checks, the permission it needs, multipathd's command,
// and how the effect shows in the published state. Everything else (authorization, sending,
// waiting, the audit) is the same for every row and lives in commands.ts. Targets are named
// by the model's identities; each front end maps its own names onto them.
import { chosenGroup, pathKey, type MapState, type PathState, type Topology } from '../../model/topology';
import type { Permission } from '../ports';

/** What a command acts on: the service, a map (by WWID), a path (by dev_t and the kernel name the caller used). */
export type Target = { kind: 'manager' } | { kind: 'map'; wwid: string } | { kind: 'path'; wwid: string; devT: string; device: string };

export type CommandName = 'fail-path' | 'reinstate-path' | 'switch-group' | 'set-queueing' | 'resize' | 'reconfigure';

/** The arguments of every command, by name (absent where a command takes none). */
export interface CommandArgs {
  group?: number;
  enabled?: boolean;
}

/** What a call turned into once its target and arguments checked out. */
export interface Prepared {
  /** multipathd's command, or the reason none can be written (failed). */
  command: string | { refused: string };
  /**
   * Which device the target names now. A map's identity is its WWID; a path's object is its
   * kernel name, which the kernel gives the next disk once this one is gone: its dev_t.
   */
  identity: string;
  /** The effect as the published state shows it; absent: the state read after the command, published. */
  visible?: (now: Topology) => boolean;
  /** multipathd's settings change too: read them again. */
  rereadSettings?: boolean;
  /** The kernel announces the effect itself, in a path uevent carrying its DM_SEQNUM. */
  announcedByKernel?: boolean;
}

/** A row, with the target type erased for the dispatcher. */
export interface Command {
  name: CommandName;
  kind: Target['kind'];
  permission: Permission;
  /** undefined: no such target now; a string: invalid arguments or a name multipathd cannot be sent. */
  prepare(target: Target, topology: Topology, args: CommandArgs): Prepared | string | undefined;
}

/** A name as it can go into a command: a word, or why none can be sent (failed: not known yet; invalid: not one word). */
type Word = string | { refused: string } | { invalid: string };

interface Row<T> {
  name: CommandName;
  kind: Target['kind'];
  permission: Permission;
  find(target: Target, topology: Topology): T | undefined;
  identity(found: T): string;
  /** A message saying what is wrong with the arguments, or undefined. */
  check?(found: T, args: CommandArgs): string | undefined;
  command(found: T, args: CommandArgs): Word;
  visible?(found: T, args: CommandArgs): ((now: Topology) => boolean) | undefined;
  rereadSettings?: boolean;
  announcedByKernel?: boolean;
}

function row<T>(r: Row<T>): Command {
  return {
    name: r.name,
    kind: r.kind,
    permission: r.permission,
    prepare(target, topology, args) {
      const found = target.kind === r.kind ? r.find(target, topology) : undefined;
      if (found === undefined) return undefined;
      const bad = r.check?.(found, args);
      if (bad !== undefined) return bad;
      const command = r.command(found, args);
      if (typeof command !== 'string' && 'invalid' in command) return command.invalid;
      return { command, identity: r.identity(found), visible: r.visible?.(found, args), rereadSettings: r.rereadSettings, announcedByKernel: r.announcedByKernel };
    },
  };
}

interface OnPath {
  map: MapState;
  path: PathState;
}

/**
 * The path the caller named, by the name it used (its kernel name, or its dev_t before it had
 * one): between the call and its authorization that name may have passed to another disk,
 * which the identity check in commands.ts then refuses.
 */
function findPath(target: Target, topology: Topology): OnPath | undefined {
  if (target.kind !== 'path') return undefined;
  const name = target.device || target.devT;
  const map = topology.get(target.wwid);
  const path = map?.paths.get(pathKey(target));
  if (map && path && (path.device || path.devT) === name) return { map, path };
  for (const m of topology.values()) for (const p of m.paths.values()) if ((p.device || p.devT) === name) return { map: m, path: p };
  return undefined;
}

const findMap = (target: Target, topology: Topology) => (target.kind === 'map' ? topology.get(target.wwid) : undefined);

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

const pathIs = ({ map, path }: OnPath, state: PathState['dmState']) => (now: Topology) => now.get(map.wwid)?.paths.get(pathKey(path))?.dmState === state;

export const COMMANDS: ReadonlyMap<CommandName, Command> = new Map(
  [
    row<OnPath>({
      name: 'fail-path',
      kind: 'path',
      permission: 'manage-paths',
      find: findPath,
      identity: pathIdentity,
      command: (t) => cmd('fail path', pathWord(t)),
      visible: (t) => pathIs(t, 'failed'),
      announcedByKernel: true,
    }),
    row<OnPath>({
      name: 'reinstate-path',
      kind: 'path',
      permission: 'manage-paths',
      find: findPath,
      identity: pathIdentity,
      command: (t) => cmd('reinstate path', pathWord(t)),
      visible: (t) => pathIs(t, 'active'),
      announcedByKernel: true,
    }),
    row<MapState>({
      name: 'switch-group',
      kind: 'map',
      permission: 'manage-paths',
      find: findMap,
      identity: mapIdentity,
      check: (map, { group = 0 }) => (group >= 1 && group <= map.groups.length ? undefined : `group ${group} does not exist: map ${map.name} has groups 1 to ${map.groups.length}`),
      command: (map, { group }) => cmd('switchgroup map', dmName(map), ` group ${group}`),
      visible: (map, { group }) => (now) => {
        const m = now.get(map.wwid);
        return m !== undefined && chosenGroup(m) === group;
      },
    }),
    row<MapState>({
      name: 'set-queueing',
      kind: 'map',
      permission: 'configure',
      find: findMap,
      identity: mapIdentity,
      command: (map, { enabled }) => cmd(enabled ? 'restorequeueing map' : 'disablequeueing map', mapWord(map)),
      // Restoring brings back whatever no_path_retry the configuration gives (it may be none):
      // only the state read afterwards can say. Disabling always reads "off", without queue_if_no_path.
      visible: (map, { enabled }) =>
        enabled
          ? undefined
          : (now) => {
              const m = now.get(map.wwid);
              return m !== undefined && m.queueing === 'off' && !m.features.includes('queue_if_no_path');
            },
    }),
    row<MapState>({
      name: 'resize',
      kind: 'map',
      permission: 'configure',
      find: findMap,
      identity: mapIdentity,
      command: (map) => cmd('resize map', mapWord(map)),
    }),
    row<null>({
      name: 'reconfigure',
      kind: 'manager',
      permission: 'configure',
      find: (target) => (target.kind === 'manager' ? null : undefined),
      identity: () => 'the service',
      command: () => 'reconfigure',
      rereadSettings: true,
    }),
  ].map((c) => [c.name, c]),
);
