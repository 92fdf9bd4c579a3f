// Control characters from text we did not write, made visible instead of obeyed. A newline
// in a log line starts a new journal entry (and "<0>" after it a priority-0 one, broadcast
// to every terminal); an escape sequence on a terminal recolours or rewrites it. Each such
// character is written as a C escape (\n, \x1b, \u009b), so it is seen and cannot act.

const NAMED: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\v': '\\v', '\f': '\\f', '\r': '\\r', '\\': '\\\\' };

/** One character as a C escape. */
export function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

// C0 controls, DEL and C1 controls (U+0080-U+009F: 0x9B is CSI on many terminals).
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;

/** `s` on one line, with every control character written as an escape. */
export function escapeControls(s: string): string {
  return s.replace(CONTROL, escapeChar);
}
