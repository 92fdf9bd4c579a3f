// Which transitions become journal entries, and what each says. Every kind has its own
// MESSAGE_ID (generated once, never to change: users filter and alert on them), explained
// by catalog/multipath-dbus.catalog for `journalctl -x`.
import { validPaths, type MapState } from '../../model/topology';
import type { CoreEvent, EventName, EventSubject } from '../../core/events';
import { SYSLOG_PRIORITY, type LogLevel } from '../../util/log';
import type { JournalFields } from './native-protocol';

interface Kind {
  id: string;
  level: LogLevel;
  message: (e: CoreEvent, about: EventSubject) => string;
}

const named = (m: MapState | undefined) => (m ? `${m.name} (${m.wwid})` : 'an unknown map');
// A dm path by name and dev_t; an NVMe path (no dev_t) by name, ANA state and controller.
const pathOf = ({ path: p }: EventSubject) =>
  !p ? 'path' : p.devT ? `${p.device || 'path'} (${p.devT})` : `${p.device} (ANA ${p.anaState || 'none'}, controller ${p.controller} ${p.controllerState})`;
const counted = (m: MapState | undefined) => (m ? `${validPaths(m)} of ${m.paths.size} paths valid` : '');

export const JOURNAL_KINDS: Partial<Record<EventName, Kind>> = {
  PathFailed: { id: 'd29dba0f94eb41eaa4fe9653adac4153', level: 'warning', message: (_, a) => `path ${pathOf(a)} of ${named(a.map)} failed; ${counted(a.map)}` },
  PathReinstated: { id: '8616cd80b9e6471795f7dc8c03c9066b', level: 'notice', message: (_, a) => `path ${pathOf(a)} of ${named(a.map)} reinstated; ${counted(a.map)}` },
  Failed: { id: '9e4fc1eb0d074265b8d339ba5793147c', level: 'error', message: (_, a) => `map ${named(a.map)} failed: no valid path left` },
  Restored: { id: 'b809c42b4bea40a992bea763ede22b54', level: 'notice', message: (_, a) => `map ${named(a.map)} restored; ${counted(a.map)}` },
  PolicyChanged: {
    id: 'e3e01fd4c7824a68aa53b0d3517c0802',
    level: 'info',
    message: (e, a) => `map ${named(a.map)}: ${e.name === 'PolicyChanged' ? e.properties.join(', ') : ''} changed`,
  },
  Resynchronized: {
    id: '2c4edc1083b34ccd83176312f4b370b8',
    level: 'notice',
    message: (e) => `re-read all multipath state after lost events (${e.name === 'Resynchronized' ? e.reason : ''})`,
  },
};

// Map names and WWIDs come from multipathd, object paths from callers: keep one hostile value
// from making the entry huge.
export const MAX_VALUE_CHARS = 1024;

export interface JournalEntry {
  level: LogLevel;
  message: string;
  fields: JournalFields;
}

/** The journal entry for a transition, or undefined for the kinds not journaled (objects coming and going). */
export function journalEntry(e: CoreEvent, about: EventSubject): JournalEntry | undefined {
  const kind = JOURNAL_KINDS[e.name];
  if (!kind) return undefined;
  const { map: m, path } = about;
  const message = kind.message(e, about).slice(0, MAX_VALUE_CHARS);
  const fields: [string, string][] = [
    ['MESSAGE', message],
    ['MESSAGE_ID', kind.id],
    ['PRIORITY', String(SYSLOG_PRIORITY[kind.level])],
    ['SYSLOG_IDENTIFIER', 'multipath-dbus'],
    ['MULTIPATH_SERIAL', String(e.serial)],
  ];
  const add = (name: string, value: string | number | undefined) => {
    if (value !== undefined && value !== '') fields.push([name, String(value).slice(0, MAX_VALUE_CHARS)]);
  };
  if (m) {
    add('MULTIPATH_MAP', m.name);
    add('MULTIPATH_WWID', m.wwid);
    add('MULTIPATH_VALID_PATHS', validPaths(m));
  }
  // The device the entry is about: the path for path entries, the map's dm device otherwise.
  add('MULTIPATH_DEVICE', path ? path.device : m?.sysfsName);
  add('MULTIPATH_DEVT', path ? path.devT : m?.devT);
  if (m?.kind === 'nvme') {
    add('MULTIPATH_KIND', m.kind);
    add('MULTIPATH_SUBSYSTEM_NQN', m.subsystemNqn);
    add('MULTIPATH_ANA_STATE', path?.anaState);
    add('MULTIPATH_CONTROLLER', path?.controller);
    add('MULTIPATH_CONTROLLER_STATE', path?.controllerState);
  } else {
    add('MULTIPATH_DM_SEQNUM', 'dmSeqnum' in e ? e.dmSeqnum : m?.dmSeqnum);
  }
  if (e.name === 'PolicyChanged') add('MULTIPATH_PROPERTIES', e.properties.join(','));
  if (e.name === 'Resynchronized') add('MULTIPATH_REASON', e.reason);
  else add('MULTIPATH_SYNTHESIZED', e.synthesized ? 1 : 0);
  return { level: kind.level, message, fields };
}
