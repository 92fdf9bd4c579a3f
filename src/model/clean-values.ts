// The one place between outside data and the model where values are made to fit. Everything the model holds ends up in a
// D-Bus message, and the bus refuses the whole message (dbus-daemon disconnects the sender)
// for one string with a NUL or invalid UTF-8, and our marshaller throws for an int32 out of
// range. So each value is made one D-Bus can carry here, where multipathd's and the kernel's
// data become map snapshots: a bad character is replaced (the object stays), a number out
// of range is clamped, and each repair is reported naming the map or path and the field.
// Object paths need nothing here: every element is escaped (api.ts) and so always valid.
import { cleanText, fitInteger, U64_MAX } from './value-limits';
import { pathKey, type GroupState, type MapState, type PathState } from './topology';
import type { MultipathSettings } from './readings';

/** Told about each repaired value: which object, which field (its D-Bus name), what was done. */
export type RepairWarn = (message: string) => void;

type Kind = 's' | 'u' | 'i';

const MAP_FIELDS: [keyof MapState, Kind][] = [
  ['wwid', 's'], ['name', 's'], ['sysfsName', 's'], ['devT', 's'], ['vendor', 's'], ['product', 's'],
  ['revision', 's'], ['features', 's'], ['hardwareHandler', 's'], ['writeProtect', 's'], ['dmState', 's'],
  ['failback', 's'], ['queueing', 's'], ['pathFaults', 'u'], ['switchGroup', 'u'], ['mapLoads', 'u'],
  ['queueTimeouts', 'u'], ['dmSeqnum', 'u'], ['subsystemNqn', 's'], ['ioPolicy', 's'],
];
const GROUP_FIELDS: [keyof GroupState, Kind][] = [['number', 'u'], ['selector', 's'], ['priority', 'i']];
const PATH_FIELDS: [keyof PathState, Kind][] = [
  ['devT', 's'], ['device', 's'], ['deviceState', 's'], ['checkerState', 's'], ['checker', 's'], ['priority', 'i'],
  ['hostWwnn', 's'], ['hostWwpn', 's'], ['targetWwnn', 's'], ['targetWwpn', 's'], ['hostAdapter', 's'], ['lun', 's'],
  ['failCount', 'u'], ['group', 'u'], ['anaState', 's'], ['controller', 's'], ['controllerState', 's'], ['transport', 's'],
  ['address', 's'],
];

const propertyName = (field: string) => field[0].toUpperCase() + field.slice(1);

/** Repair the fields of one record by its table; the same object when nothing needed it. */
function gateRecord<T extends object>(record: T, fields: [keyof T, Kind][], subject: () => string, warn: RepairWarn): T {
  let out: T | undefined;
  for (const [field, kind] of fields) {
    const v = record[field] as unknown;
    if (v === undefined) continue;
    let fixed: unknown;
    let what: string;
    if (kind === 's') {
      fixed = cleanText(v as string);
      what = 'holds a NUL or invalid UTF-8; the character was replaced by U+FFFD';
    } else {
      fixed = fitInteger(kind, v as number);
      what = `${String(v)} is outside ${kind === 'u' ? 'uint32' : 'int32'}; published as ${String(fixed)}`;
    }
    if (fixed === v) continue;
    warn(`${subject()}: ${propertyName(String(field))} ${what}`);
    out ??= { ...record };
    (out as Record<keyof T, unknown>)[field] = fixed;
  }
  return out ?? record;
}

/** A map snapshot every value of which D-Bus can carry; paths re-keyed by their repaired key. */
export function cleanMap(map: MapState, warn: RepairWarn): MapState {
  const out = gateRecord(map, MAP_FIELDS, () => `map ${map.name} (${map.wwid})`, warn);
  const mapName = out.name;
  let changed = out !== map;
  const clamped = map.size < 0n ? 0n : map.size > U64_MAX ? U64_MAX : map.size;
  if (clamped !== map.size) warn(`map ${mapName}: Size ${map.size} is outside uint64; published as ${clamped}`);
  const groups = map.groups.map((g) => {
    const fixed = gateRecord(g, GROUP_FIELDS, () => `path group ${g.number} of map ${mapName}`, warn);
    const members = g.paths.map(cleanText);
    const same = members.every((d, i) => d === g.paths[i]);
    if (fixed !== g || !same) changed = true;
    return same ? fixed : { ...fixed, paths: members };
  });
  const paths = new Map<string, PathState>();
  for (const p of map.paths.values()) {
    const fixed = gateRecord(p, PATH_FIELDS, () => `path ${p.device || p.devT} of map ${mapName}`, warn);
    if (fixed !== p) changed = true;
    paths.set(pathKey(fixed), fixed);
  }
  if (!changed && clamped === map.size) return map;
  return { ...out, size: clamped, groups, paths };
}

/** multipathd's settings, the same way (they are the Manager's properties). */
export function cleanSettings(s: MultipathSettings, warn: RepairWarn): MultipathSettings {
  const findMultipaths = cleanText(s.findMultipaths);
  if (findMultipaths !== s.findMultipaths) warn('multipathd config: FindMultipaths holds a NUL or invalid UTF-8; replaced by U+FFFD');
  const pollingInterval = fitInteger('u', s.pollingInterval);
  if (pollingInterval !== s.pollingInterval) warn(`multipathd config: PollingInterval ${s.pollingInterval} is outside uint32; published as ${pollingInterval}`);
  const list = (name: string, entries: MultipathSettings['blacklist']) =>
    entries.map((e) => {
      const kind = cleanText(e.kind);
      const pattern = cleanText(e.pattern);
      if (kind === e.kind && pattern === e.pattern) return e;
      warn(`multipathd config: an entry of ${name} holds a NUL or invalid UTF-8; replaced by U+FFFD`);
      return { ...e, kind, pattern };
    });
  return {
    ...s,
    findMultipaths,
    pollingInterval,
    blacklist: list('Blacklist', s.blacklist),
    blacklistExceptions: list('BlacklistExceptions', s.blacklistExceptions),
  };
}
