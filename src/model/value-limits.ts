// The limits every value the model holds keeps, so that any front end can carry it: those
// of D-Bus, the strictest. dbus-daemon drops the connection of a sender whose message
// holds a string with a NUL or invalid UTF-8, and integers have fixed widths. The model's
// clean-values.ts makes outside data fit these rules; the D-Bus object server asserts them.

export const U32_MAX = 0xffff_ffff;
export const I32_MIN = -0x8000_0000;
export const I32_MAX = 0x7fff_ffff;
export const U64_MAX = (1n << 64n) - 1n;

// NUL, or half a surrogate pair (a string JSON.parse builds from "\ud800"): not valid UTF-8.
const FORBIDDEN = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const FORBIDDEN_ALL = new RegExp(FORBIDDEN.source, 'g');

export function validText(s: string): boolean {
  return !FORBIDDEN.test(s);
}

/** The string with each character D-Bus refuses replaced by U+FFFD. */
export function cleanText(s: string): string {
  return FORBIDDEN.test(s) ? s.replace(FORBIDDEN_ALL, '\ufffd') : s;
}

/** The nearest integer of the width ('u': uint32, 'i': int32); NaN is 0. */
export function fitInteger(kind: 'u' | 'i', n: number): number {
  if (Number.isNaN(n)) return 0;
  const [lo, hi] = kind === 'u' ? [0, U32_MAX] : [I32_MIN, I32_MAX];
  return Math.min(hi, Math.max(lo, Math.trunc(n)));
}
