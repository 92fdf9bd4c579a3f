// Text for a terminal from strings we did not write. Vendor, product, WWID and map names
// come from storage arrays and multipathd; an escape sequence in one could recolour,
// retitle or rewrite the user's terminal. Like systemctl, print such characters as
// C escapes so they are seen, not obeyed. Only the human-readable output goes through
// here; --json prints the exact strings (JSON escapes control characters itself).

const NAMED: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\v': '\\v', '\f': '\\f', '\r': '\\r', '\\': '\\\\' };

// C0 controls, DEL, C1 controls (U+0080–U+009F: 0x9B is CSI on many terminals), and the
// bidirectional overrides that can make text read other than it is; the backslash too,
// so that an escape we print cannot be confused with one that was in the string.
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\\]/g;

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `s` with every character a terminal would act on, rather than show, written as an escape. */
export function terminalText(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}
