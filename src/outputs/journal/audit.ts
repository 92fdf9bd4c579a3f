// The one place management actions are recorded. Each call's outcome is a native journal
// entry with its own MESSAGE_ID (explained by catalog/multipath-dbus.catalog) and its facts
// as fields. OBJECT_PID is a field of its own: sent by root, it makes journald add the
// caller's trusted OBJECT_UID, OBJECT_COMM, OBJECT_SYSTEMD_UNIT, ... itself. Where journald
// does not listen, the entry is one log line (escaped by the logger): the call in words,
// then every field as key=value, which `journalctl -g` and log shippers can match.
//
// A caller decides how many calls it makes: calls refused before multipathd was sent
// anything (invalid, denied) are written once per uid and window, the rest of that window
// counted into one summary entry, so one uid cannot flood the journal past its rate limit,
// which would then drop the path transitions. Calls that reached multipathd are always written.
import type { AuditRecord, Timers } from '../../core/ports';
import { SYSLOG_PRIORITY, type Logger } from '../../util/log';
import { MAX_VALUE_CHARS, type JournalEntry } from './entries';

/** Never to change: users filter and alert on them. */
export const AUDIT_MESSAGE_IDS = {
  done: '58d0cdd1acf84071b338251888425054',
  denied: 'e09219e783ef4b05afd14e2d67b56fd0',
  failed: '62057860cef343b089125a5a6a65f8fc',
  /** Refusals of one uid in a window, counted after the first. */
  refusedRepeatedly: '2ed48fa04d8c4fa18e98468e0f96fc2e',
} as const;

export type AuditFields = Record<string, string>;

function auditFields(r: AuditRecord): AuditFields {
  const f: AuditFields = { MULTIPATH_METHOD: r.method, MULTIPATH_OBJECT: r.object, MULTIPATH_OUTCOME: r.outcome };
  if (r.caller) {
    f.OBJECT_PID = String(r.caller.pid);
    f.MULTIPATH_CALLER_UID = String(r.caller.uid);
    if (r.caller.unit) f.MULTIPATH_CALLER_UNIT = r.caller.unit;
  }
  f.MULTIPATH_CALLER_BUS_NAME = r.sender;
  if (r.command) f.MULTIPATH_COMMAND = r.command;
  if (r.detail) f.MULTIPATH_DETAIL = r.detail;
  for (const k in f) f[k] = f[k].slice(0, MAX_VALUE_CHARS);
  return f;
}

/** A value as key=value wants it: quoted when it has blanks, quotes or backslashes. */
function kv(key: string, value: string): string {
  return /^[^\s"\\=]*$/.test(value) && value !== '' ? `${key}=${value}` : `${key}=${JSON.stringify(value)}`;
}

/** The call in words. */
function words(r: AuditRecord): string {
  const who = r.caller ? `uid ${r.caller.uid}` : 'an unidentified caller';
  return `${r.method} on ${r.object} by ${who}: ${r.outcome}${r.detail ? ` (${r.detail})` : ''}`.slice(0, MAX_VALUE_CHARS);
}

/** A log line where there is no journal: the message, then every field. */
const line = (message: string, fields: AuditFields) => `${message}; ${Object.entries(fields).map(([k, v]) => kv(k, v)).join(' ')}`;

/** The log line of one call where there is no journal: the call in words, then every field. */
export function auditMessage(r: AuditRecord, fields: AuditFields = auditFields(r)): string {
  return line(words(r), fields);
}

function entry(id: string, l: JournalEntry['level'], message: string, fields: AuditFields): JournalEntry {
  return {
    level: l,
    message,
    fields: [['MESSAGE', message], ['MESSAGE_ID', id], ['PRIORITY', String(SYSLOG_PRIORITY[l])], ['SYSLOG_IDENTIFIER', 'multipath-dbus'], ...Object.entries(fields)],
  };
}

/** Where entries go: journald, or the log line given where it does not listen. */
export type WriteEntry = (entry: JournalEntry, fallback: string) => void;

/** No journal: every entry as its log line. */
export const logEntries =
  (log: Logger): WriteEntry =>
  (e, text) =>
    log[e.level](text);

/** Callers the bus daemon could not identify (already gone) share one count. */
const UNKNOWN_UID = -1;

export class Audit {
  /** uid -> refusals held back in its current window (the window's first was written). */
  private readonly windows = new Map<number, { held: number; timer: unknown }>();

  constructor(
    private readonly write: WriteEntry,
    private readonly timers: Timers,
    private readonly windowMs = 60_000,
  ) {}

  record(r: AuditRecord): void {
    const refused = r.outcome !== 'done' && r.command === undefined;
    if (refused) {
      const uid = r.caller?.uid ?? UNKNOWN_UID;
      const w = this.windows.get(uid);
      if (w) {
        w.held++;
        return;
      }
      this.windows.set(uid, { held: 0, timer: this.timers.setTimeout(() => this.summarize(uid), this.windowMs) });
    }
    // Notice for actions done, warning for refusals and failures.
    const fields = auditFields(r);
    this.write(entry(AUDIT_MESSAGE_IDS[r.outcome], r.outcome === 'done' ? 'notice' : 'warning', words(r), fields), auditMessage(r, fields));
  }

  /** Writes what is held back now (the service is stopping). */
  stop(): void {
    for (const [uid, w] of this.windows) {
      this.timers.clearTimeout(w.timer);
      this.summarize(uid);
    }
  }

  private summarize(uid: number): void {
    const w = this.windows.get(uid);
    this.windows.delete(uid);
    if (!w || w.held === 0) return;
    const who = uid === UNKNOWN_UID ? 'callers the bus could no longer identify' : `uid ${uid}`;
    const seconds = Math.round(this.windowMs / 1000);
    const message = `${w.held} more management calls by ${who} refused within ${seconds} s (the first was logged; the rest are counted here)`;
    const fields: AuditFields = { MULTIPATH_REFUSED_CALLS: String(w.held), MULTIPATH_WINDOW_SEC: String(seconds) };
    if (uid !== UNKNOWN_UID) fields.MULTIPATH_CALLER_UID = String(uid);
    this.write(entry(AUDIT_MESSAGE_IDS.refusedRepeatedly, 'warning', message, fields), line(message, fields));
  }
}
