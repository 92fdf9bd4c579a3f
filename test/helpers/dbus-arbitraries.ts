// fast-check generators of D-Bus types and values, in the raw form RawBusClient sends
// (variant = [signature, value], dict = [[key, value], ...], 64-bit = bigint): every value is
// one the bus accepts (it drops a client that sends an invalid message, which would test the
// bus, not the service), chosen to be awkward: control characters and escape sequences in
// strings, extreme integers, deep nesting, empty and very long arrays.
import * as fc from 'fast-check';
import { parseSignature } from '../../src/frontends/dbus/bus/wire';

type Type = ReturnType<typeof parseSignature>[number];

const BASIC = ['y', 'b', 'n', 'q', 'i', 'u', 'x', 't', 'd', 's', 'o', 'g', 'h'] as const;

/** One complete type, nested at most `depth` containers deep. */
export function typeArb(depth = 3): fc.Arbitrary<string> {
  const basic = fc.constantFrom(...BASIC);
  if (depth === 0) return fc.oneof(basic, fc.constant('v'));
  const inner = typeArb(depth - 1);
  return fc.oneof(
    { weight: 4, arbitrary: basic },
    { weight: 1, arbitrary: fc.constant('v') },
    { weight: 2, arbitrary: inner.map((t) => `a${t}`) },
    { weight: 1, arbitrary: fc.array(inner, { minLength: 1, maxLength: 4 }).map((ts) => `(${ts.join('')})`) },
    { weight: 1, arbitrary: fc.tuple(basic, inner).map(([k, v]) => `a{${k}${v}}`) },
  );
}

/** A signature of up to `max` complete types (at most 255 bytes, the limit of a 'g'). */
export const signatureArb = (max = 4, depth = 3): fc.Arbitrary<string> =>
  fc.array(typeArb(depth), { maxLength: max }).map((ts) => ts.join('')).filter((s) => s.length <= 255);

/** Text a careless or hostile caller would send: control characters, escapes, a journald priority prefix. */
const NASTY = ['\n<0>', '\r', '\x1b[2J', '\x1b]0;title\x07', '\u0085', '\u202e', '\t', '\x7f', '%s%n', '${x}', '"', '\\', "'", ' ', '=', 'é', '💥'];

export const stringArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 8 })), { maxLength: 6 }).map((p) => p.join('')) },
  { weight: 1, arbitrary: fc.integer({ min: 256, max: 70_000 }).map((n) => 'x'.repeat(n)) },
  // No NUL: the bus refuses a string holding one.
).map((s) => s.replaceAll('\0', ''));

const segment = fc.stringMatching(/^[A-Za-z0-9_]{1,12}$/);
export const objectPathArb: fc.Arbitrary<string> = fc.array(segment, { maxLength: 6 }).map((s) => `/${s.join('/')}`);

/** A name of the form a.b.c (interface, error) or a member. */
export const memberArb = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,30}$/);
export const interfaceArb = fc.array(memberArb, { minLength: 2, maxLength: 4 }).map((s) => s.join('.'));

const int = (min: number, max: number) =>
  fc.oneof({ weight: 1, arbitrary: fc.constantFrom(min, max, 0, 1) }, { weight: 3, arbitrary: fc.integer({ min, max }) }).filter((n) => n >= min && n <= max);

/** A value of the complete type `t`; arrays may be long (`huge`: up to 100,000 elements). */
function valueOf(t: Type, depth: number): fc.Arbitrary<unknown> {
  switch (t.code) {
    case 'y':
      return int(0, 255);
    case 'b':
      return fc.boolean();
    case 'n':
      return int(-0x8000, 0x7fff);
    case 'q':
      return int(0, 0xffff);
    case 'i':
      return int(-0x80000000, 0x7fffffff);
    case 'u':
      return int(0, 0xffffffff);
    case 'h':
      // Its descriptor's index: RawBusClient numbers them itself.
      return fc.constant(0);
    case 'x':
      // dbus-next's marshaller refuses -2^63 (its minimum is off by one).
      return fc.bigInt({ min: -(2n ** 63n) + 1n, max: 2n ** 63n - 1n });
    case 't':
      return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    case 'd':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 's':
      return stringArb;
    case 'o':
      return objectPathArb;
    case 'g':
      return signatureArb(3, 2);
    case 'v':
      return (depth > 0 ? typeArb(2) : fc.constantFrom(...BASIC)).chain((sig) => valueOf(parseSignature(sig)[0], depth - 1).map((v) => [sig, v]));
    case '(':
      return fc.tuple(...t.children.map((c) => valueOf(c, depth)));
    case 'a': {
      const child = t.children[0];
      const element = child.code === '{' ? fc.tuple(valueOf(child.children[0], depth), valueOf(child.children[1], depth)) : valueOf(child, depth);
      const fixedSize = 'ybnqiuxtd'.includes(child.code);
      return fc.oneof(
        { weight: 8, arbitrary: fc.array(element, { maxLength: 5 }) },
        // Long arrays of fixed-size values: cheap to make, many bytes for the service to read.
        { weight: fixedSize ? 1 : 0, arbitrary: fc.tuple(element, fc.integer({ min: 1000, max: 100_000 })).map(([e, n]) => new Array(n).fill(e)) },
      );
    }
    default:
      throw new Error(`no values for ${t.code}`);
  }
}

/** How many 'h' values (descriptors, when attached) a body holds. */
export function handleCount(signature: string, body: unknown[]): number {
  const count = (t: Type, v: unknown): number => {
    switch (t.code) {
      case 'h':
        return 1;
      case 'v': {
        const [sig, x] = v as [string, unknown];
        return count(parseSignature(sig)[0], x);
      }
      case '(':
        return t.children.reduce((n, c, i) => n + count(c, (v as unknown[])[i]), 0);
      case 'a': {
        const child = t.children[0];
        if (!/[hva({]/.test(child.code)) return 0;
        const entry = (x: unknown) => (child.code === '{' ? count(child.children[0], (x as unknown[])[0]) + count(child.children[1], (x as unknown[])[1]) : count(child, x));
        return (v as unknown[]).reduce<number>((n, x) => n + entry(x), 0);
      }
      default:
        return 0;
    }
  };
  return parseSignature(signature).reduce((n, t, i) => n + count(t, body[i]), 0);
}

/** A body for `signature`: one value per complete type. */
export function bodyArb(signature: string, depth = 2): fc.Arbitrary<unknown[]> {
  const types = parseSignature(signature);
  return types.length === 0 ? fc.constant([]) : fc.tuple(...types.map((t) => valueOf(t, depth)));
}

/** A random signature with a body that fits it. */
export const signedBodyArb: fc.Arbitrary<{ signature: string; body: unknown[] }> = signatureArb().chain((signature) =>
  bodyArb(signature).map((body) => ({ signature, body })),
);
