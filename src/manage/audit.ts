// The one place management actions are logged. Each record is a set of journal-style fields
// (OBJECT_PID is journald's own convention: "this message is about that process"); until the
// service has a native journal writer, the fields travel in the message as key=value, which
// `journalctl -g` and log shippers can match.
import type { Logger } from '../util/log';
import type { Caller } from './caller';

export type Outcome = 'done' | 'denied' | 'failed';

export interface AuditRecord {
  method: string;
  object: string;
  caller: Caller | undefined;
  outcome: Outcome;
  /** multipathd's command, once one was sent. */
  command?: string;
  detail?: string;
}

export type AuditFields = Record<string, string>;

export function auditFields(r: AuditRecord): AuditFields {
  const f: AuditFields = { MULTIPATH_METHOD: r.method, MULTIPATH_OBJECT: r.object, MULTIPATH_OUTCOME: r.outcome };
  if (r.caller) {
    // journald adds OBJECT_UID, OBJECT_SYSTEMD_UNIT, ... itself from OBJECT_PID (sent by root).
    f.OBJECT_PID = String(r.caller.pid);
    f.MULTIPATH_CALLER_UID = String(r.caller.uid);
    if (r.caller.unit) f.MULTIPATH_CALLER_UNIT = r.caller.unit;
    f.MULTIPATH_CALLER_BUS_NAME = r.caller.sender;
  }
  if (r.command) f.MULTIPATH_COMMAND = r.command;
  if (r.detail) f.MULTIPATH_DETAIL = r.detail;
  return f;
}

/** A value as key=value wants it: quoted when it has blanks, quotes or backslashes. */
function kv(key: string, value: string): string {
  return /^[^\s"\\=]*$/.test(value) && value !== '' ? `${key}=${value}` : `${key}=${JSON.stringify(value)}`;
}

/** The message text: the call in words, then every field. */
export function auditMessage(r: AuditRecord, fields: AuditFields = auditFields(r)): string {
  const who = r.caller ? `uid ${r.caller.uid}` : 'an unidentified caller';
  const words = `${r.method} on ${r.object} by ${who}: ${r.outcome}${r.detail ? ` (${r.detail})` : ''}`;
  return `${words}; ${Object.entries(fields).map(([k, v]) => kv(k, v)).join(' ')}`;
}

/** Where records go: the service's logger (notice for actions, warning for refusals and failures). */
export function loggerAudit(log: Logger): (r: AuditRecord) => void {
  return (r) => (r.outcome === 'done' ? log.notice(auditMessage(r)) : log.warning(auditMessage(r)));
}
