// Logs go to stderr. Under systemd (JOURNAL_STREAM set) each line carries the sd-daemon
// "<N>" priority prefix so journald files it at the right level. Messages carry text from
// callers, multipathd and the kernel: every control character is escaped here, the one
// place all lines pass, so no message can start a line of its own (a forged "<0>" entry)
// or act on a terminal that shows the log.
import { escapeControls } from './control-chars';

export type LogLevel = 'error' | 'warning' | 'notice' | 'info' | 'debug';

/** syslog's priority of each level: the sd-daemon prefix, and journal entries' PRIORITY field. */
export const SYSLOG_PRIORITY: Record<LogLevel, number> = { error: 3, warning: 4, notice: 5, info: 6, debug: 7 };

export interface Logger {
  error(msg: string): void;
  warning(msg: string): void;
  notice(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
}

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (l) => process.stderr.write(l),
  journal = process.env.JOURNAL_STREAM !== undefined,
): Logger {
  const max = SYSLOG_PRIORITY[level];
  const at = (l: LogLevel) => (msg: string) => {
    if (SYSLOG_PRIORITY[l] > max) return;
    const line = escapeControls(msg);
    write(journal ? `<${SYSLOG_PRIORITY[l]}>${line}\n` : `multipath-dbus: ${l}: ${line}\n`);
  };
  return { error: at('error'), warning: at('warning'), notice: at('notice'), info: at('info'), debug: at('debug') };
}

/**
 * Says each message once while it lasts: called with what a read found (a value repaired, a map
 * skipped), it logs what the previous call did not have, so a read every second does not repeat
 * the same line, and a problem that goes and comes back is told again.
 */
export function onceWhileLasting(log: (msg: string) => void): (messages: Iterable<string>) => void {
  let reported = new Set<string>();
  return (messages) => {
    const now = new Set(messages);
    for (const m of now) if (!reported.has(m)) log(m);
    reported = now;
  };
}

/** A logger that says the same thing at most once per window, with a count of what it held back. */
export function rateLimited(log: (msg: string) => void, windowMs: number, now: () => number = Date.now): (msg: string) => void {
  let windowStart = -Infinity;
  let suppressed = 0;
  return (msg) => {
    const t = now();
    if (t - windowStart < windowMs) {
      suppressed++;
      return;
    }
    windowStart = t;
    log(suppressed > 0 ? `${msg} (${suppressed} similar messages suppressed)` : msg);
    suppressed = 0;
  };
}
