// JS values <-> dbus-next's marshalling: variants are built from the table's signature, so
// callers pass plain values and receive plain values.
import { Variant } from 'dbus-next';

export function variant(signature: string, value: unknown): Variant {
  return new Variant(signature, value);
}

/** Replace every Variant by its value, recursively. */
export function unwrap(v: unknown): unknown {
  if (v instanceof Variant) return unwrap(v.value);
  if (Array.isArray(v)) return v.map(unwrap);
  if (v && typeof v === 'object' && !Buffer.isBuffer(v)) {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, unwrap(x)]));
  }
  return v;
}
