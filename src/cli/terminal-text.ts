// Text for a terminal from strings we did not write. Vendor, product, WWID and map names
// come from storage arrays and multipathd, error texts from the service; an escape sequence
// in one could recolour, retitle or rewrite the user's terminal. Like systemctl, print such
// characters as C escapes so they are seen, not obeyed. Every human-readable line the CLI
// prints goes through here; --json prints the exact strings (JSON escapes controls itself).
import { escapeChar } from '../util/control-chars';

// C0 controls, DEL, C1 controls, and the bidirectional overrides that can make text read
// other than it is; the backslash too, so that an escape we print cannot be confused with
// one that was in the string.
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\\]/g;

/** `s` with every character a terminal would act on, rather than show, written as an escape. */
export function terminalText(s: string): string {
  return s.replace(UNSAFE, escapeChar);
}
