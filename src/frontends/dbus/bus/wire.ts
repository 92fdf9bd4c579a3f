// Our own D-Bus marshaller for what the service sends most: signals and method replies.
// dbus-next's general marshaller (through the `put` library) was most of the event path's
// CPU and made GetManagedObjects of a thousand maps take over half a second. Bytes are
// identical to dbus-next's (test/frontends/dbus/bus/wire.test.ts); its Variant class carries variants.
import { Variant } from 'dbus-next';

interface Type {
  code: string;
  children: Type[];
}

const cache = new Map<string, Type[]>();

/** Parse a signature into complete types; throws on a malformed one (our own tables only). */
export function parseSignature(sig: string): Type[] {
  const hit = cache.get(sig);
  if (hit) return hit;
  let i = 0;
  const one = (): Type => {
    const c = sig[i++];
    if (c === 'a') return { code: 'a', children: [one()] };
    if (c === '(' || c === '{') {
      const end = c === '(' ? ')' : '}';
      const children: Type[] = [];
      while (sig[i] !== end) {
        if (i >= sig.length) throw new Error(`unterminated ${c} in ${sig}`);
        children.push(one());
      }
      i++;
      return { code: c, children };
    }
    if (!c || !'ybnqiuxtdsogvh'.includes(c)) throw new Error(`bad type ${c} in ${sig}`);
    return { code: c, children: [] };
  };
  const out: Type[] = [];
  while (i < sig.length) out.push(one());
  cache.set(sig, out);
  return out;
}

const ALIGN: Record<string, number> = { y: 1, g: 1, v: 1, n: 2, q: 2, b: 4, i: 4, u: 4, s: 4, o: 4, a: 4, h: 4, x: 8, t: 8, d: 8, '(': 8, '{': 8 };

/** A message that the bus would refuse: never sent. `size` is a lower bound when marshalling stopped early. */
export class MessageTooLarge extends Error {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`at least ${size} bytes, above the message size limit of ${limit} bytes`);
  }
}

class Writer {
  buf = Buffer.allocUnsafe(1024);
  len = 0;

  /** Marshalling stops as soon as the message would outgrow the limit: bounded work for a reply that cannot be sent. */
  constructor(public limit = Infinity) {}

  /** Start again, for a message under this limit (a scratch writer is reused: no garbage per message). */
  reset(limit: number): void {
    this.len = 0;
    this.limit = limit;
  }

  /** After use: one huge message must not keep a huge buffer alive. */
  release(): void {
    if (this.buf.length > 1 << 20) this.buf = Buffer.allocUnsafe(1024);
  }

  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    if (this.len + n > this.limit) throw new MessageTooLarge(this.len + n, this.limit);
    const next = Buffer.allocUnsafe(Math.max(Math.min(this.buf.length * 2, this.limit), this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  align(n: number): void {
    const pad = (n - (this.len % n)) % n;
    if (pad === 0) return;
    this.room(pad);
    // At most 7 bytes: a loop is cheaper than a call into Buffer.fill.
    for (let i = 0; i < pad; i++) this.buf[this.len++] = 0;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.len++] = v;
  }

  u32(v: number): void {
    this.align(4);
    this.room(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
  }

  str(s: string): void {
    const n = Buffer.byteLength(s);
    this.u32(n);
    this.room(n + 1);
    this.buf.write(s, this.len);
    this.len += n;
    this.buf[this.len++] = 0;
  }

  /** An object path: ASCII by D-Bus's rules, so its length is its size and latin1 writes it (faster than UTF-8). */
  ascii(s: string): void {
    const n = s.length;
    this.u32(n);
    this.room(n + 1);
    this.buf.write(s, this.len, n, 'latin1');
    this.len += n;
    this.buf[this.len++] = 0;
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
  }

  sig(s: string): void {
    this.u8(s.length);
    this.room(s.length + 1);
    this.buf.write(s, this.len, 'latin1');
    this.len += s.length;
    this.buf[this.len++] = 0;
  }

  value(t: Type, v: unknown): void {
    if (v instanceof Premarshalled) {
      if (ALIGN[t.code] !== 8) throw new Error(`a premarshalled ${t.code} could land anywhere; only 8-aligned types are position-free`);
      this.align(8);
      return this.bytes(v.bytes);
    }
    switch (t.code) {
      case 's':
        return this.str(String(v));
      case 'o':
        return this.ascii(String(v));
      case 'g':
        return this.sig(String(v));
      case 'y':
        return this.u8(Number(v));
      case 'b':
        return this.u32(v ? 1 : 0);
      case 'u':
      case 'h':
        return this.u32(Number(v));
      case 'i':
        this.align(4);
        this.room(4);
        this.buf.writeInt32LE(Number(v), this.len);
        this.len += 4;
        return;
      case 'n':
      case 'q':
        this.align(2);
        this.room(2);
        if (t.code === 'n') this.buf.writeInt16LE(Number(v), this.len);
        else this.buf.writeUInt16LE(Number(v), this.len);
        this.len += 2;
        return;
      case 'x':
      case 't': {
        this.align(8);
        this.room(8);
        const big = typeof v === 'bigint' ? v : BigInt(v as number);
        if (t.code === 'x') this.buf.writeBigInt64LE(BigInt.asIntN(64, big), this.len);
        else this.buf.writeBigUInt64LE(BigInt.asUintN(64, big), this.len);
        this.len += 8;
        return;
      }
      case 'd':
        this.align(8);
        this.room(8);
        this.buf.writeDoubleLE(Number(v), this.len);
        this.len += 8;
        return;
      case 'v': {
        const variant = v as Variant;
        this.sig(variant.signature);
        return this.value(parseSignature(variant.signature)[0], variant.value);
      }
      case '(':
      case '{':
        this.align(8);
        t.children.forEach((c, i) => this.value(c, (v as unknown[])[i]));
        return;
      case 'a': {
        this.u32(0);
        const at = this.len - 4;
        const child = t.children[0];
        this.align(ALIGN[child.code]);
        const start = this.len;
        if (child.code === '{' && Array.isArray(v)) {
          // Entries marshalled before (Premarshalled), in the order given.
          for (const x of v) this.value(child, x);
        } else if (child.code === '{') {
          const entries = v instanceof Map ? v.entries() : Object.entries(v as Record<string, unknown>);
          for (const [k, x] of entries) {
            this.align(8);
            this.value(child.children[0], k);
            this.value(child.children[1], x);
          }
        } else {
          for (const x of v as unknown[]) this.value(child, x);
        }
        this.buf.writeUInt32LE(this.len - start, at);
        return;
      }
    }
    throw new Error(`cannot marshal type ${t.code}`);
  }
}

export interface Header {
  /** 2 method return, 3 error, 4 signal. */
  type: 2 | 3 | 4;
  serial: number;
  path?: string;
  iface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
}

/** The body of a message into bodyScratch (the caller releases it), or MessageTooLarge past `limit`. */
function marshalBody(signature: string, body: unknown[], limit: number): Writer {
  const types = parseSignature(signature);
  if (types.length !== body.length) throw new Error(`signature ${signature} has ${types.length} arguments, got ${body.length}`);
  const b = bodyScratch;
  b.reset(limit);
  try {
    for (let i = 0; i < types.length; i++) b.value(types[i], body[i]);
  } catch (e) {
    b.release();
    throw e;
  }
  return b;
}

/** The header, padded to 8, with the body's length `bodyLength`, into headerScratch. */
function marshalHeader(h: Header, signature: string, bodyLength: number): Writer {
  const w = headerScratch;
  w.reset(Infinity);
  w.u8(0x6c); // little-endian
  w.u8(h.type);
  w.u8(0);
  w.u8(1);
  w.u32(bodyLength);
  w.u32(h.serial);
  w.u32(0);
  const fieldsStart = w.len;
  const field = (code: number, type: string, v: string | number) => {
    w.align(8);
    w.u8(code);
    w.sig(type);
    w.value({ code: type, children: [] }, v);
  };
  if (h.path) field(1, 'o', h.path);
  if (h.iface) field(2, 's', h.iface);
  if (h.member) field(3, 's', h.member);
  if (h.errorName) field(4, 's', h.errorName);
  if (h.replySerial) field(5, 'u', h.replySerial);
  if (h.destination) field(6, 's', h.destination);
  if (signature) field(8, 'g', signature);
  w.buf.writeUInt32LE(w.len - fieldsStart, 12);
  w.align(8);
  return w;
}

/** The one allocation per message, of its exact size: `header` then the body `b` holds. */
function join(header: Buffer, headerLength: number, b: Writer, limit: number): Buffer {
  const total = headerLength + b.len;
  if (total > limit) {
    b.release();
    throw new MessageTooLarge(total, limit);
  }
  const out = Buffer.allocUnsafe(total);
  header.copy(out, 0, 0, headerLength);
  b.buf.copy(out, headerLength, 0, b.len);
  b.release();
  return out;
}

/** A complete little-endian message, or MessageTooLarge when it would exceed `limit` bytes. */
export function marshalMessage(h: Header, signature: string, body: unknown[], limit = Infinity): Buffer {
  const b = marshalBody(signature, body, limit);
  const w = marshalHeader(h, signature, b.len);
  return join(w.buf, w.len, b, limit);
}

// marshalMessage runs to completion without calling out, so one pair serves every message.
const bodyScratch = new Writer();
const headerScratch = new Writer();

/**
 * Signal headers by path, then interface, member and signature, made once with serial and
 * body length 0: a storm sends a few kinds of signal from each map's object over and over,
 * and writing the header's four strings was a third of each signal's cost.
 */
const signalHeaders = new Map<string, { iface: string; member: string; signature: string; header: Buffer }[]>();
/** Objects on one host: bounded in practice; the cap keeps it so. */
const SIGNAL_HEADER_PATHS_MAX = 65_536;

function signalHeader(path: string, iface: string, member: string, signature: string): Buffer {
  let kinds = signalHeaders.get(path);
  if (kinds === undefined) {
    if (signalHeaders.size >= SIGNAL_HEADER_PATHS_MAX) signalHeaders.clear();
    signalHeaders.set(path, (kinds = []));
  }
  for (const k of kinds) if (k.member === member && k.iface === iface && k.signature === signature) return k.header;
  const w = marshalHeader({ type: 4, serial: 0, path, iface, member }, signature, 0);
  const header = Buffer.from(w.buf.subarray(0, w.len));
  kinds.push({ iface, member, signature, header });
  return header;
}

export function marshalSignal(serial: number, path: string, iface: string, member: string, signature: string, body: unknown[], limit = Infinity): Buffer {
  const header = signalHeader(path, iface, member, signature);
  const out = join(header, header.length, marshalBody(signature, body, limit), limit);
  out.writeUInt32LE(out.length - header.length, 4);
  out.writeUInt32LE(serial >>> 0, 8);
  return out;
}

/**
 * A struct or dict entry marshalled once, from an 8-aligned offset: every alignment inside it
 * is at most 8, so its bytes are the same wherever it lands 8-aligned in a later message.
 * A large reply is then a copy of such pieces, not a walk of every value again.
 */
export class Premarshalled {
  constructor(readonly bytes: Buffer) {}
}

/** One object's interfaces for premarshalObject: name, the table's property types, the values. */
export type ObjectInterfaces = Iterable<[iface: string, types: Map<string, string>, values: Record<string, unknown>]>;

/**
 * An object's GetManagedObjects entry ({oa{sa{sv}}}) written straight from the tables' types:
 * the same bytes as marshalling it with a Variant per value, without making one. The first full
 * read of a large topology is mostly this.
 */
export function premarshalObject(path: string, interfaces: ObjectInterfaces): Premarshalled {
  const w = entryScratch;
  w.reset(Infinity);
  w.str(path);
  w.u32(0);
  const ifacesAt = w.len - 4;
  w.align(8);
  const ifacesStart = w.len;
  for (const [iface, types, values] of interfaces) {
    w.align(8);
    w.str(iface);
    w.u32(0);
    const propsAt = w.len - 4;
    w.align(8);
    const propsStart = w.len;
    for (const k in values) {
      const type = types.get(k);
      if (type === undefined) throw new Error(`no property ${k} on ${iface} in the tables`);
      w.align(8);
      w.bytes(keyAndSignature(k, type));
      w.value(parseSignature(type)[0], values[k]);
    }
    w.buf.writeUInt32LE(w.len - propsStart, propsAt);
  }
  w.buf.writeUInt32LE(w.len - ifacesStart, ifacesAt);
  const out = new Premarshalled(Buffer.from(w.buf.subarray(0, w.len)));
  w.release();
  return out;
}

/** One value of an 8-aligned type (a struct, a dict entry), marshalled once to be copied into later replies. */
export function premarshal(type: string, value: unknown): Premarshalled {
  const t = parseSignature(type)[0];
  if (ALIGN[t.code] !== 8) throw new Error(`a premarshalled ${t.code} could land anywhere; only 8-aligned types are position-free`);
  const w = entryScratch;
  w.reset(Infinity);
  w.value(t, value);
  const out = new Premarshalled(Buffer.from(w.buf.subarray(0, w.len)));
  w.release();
  return out;
}

/** Where a value of type `t` that starts at `at` ends: the marshaller's arithmetic, without writing a byte. */
function measure(t: Type, v: unknown, at: number): number {
  const aligned = (n: number) => at + ((n - (at % n)) % n);
  switch (t.code) {
    case 's':
      return aligned(4) + 4 + Buffer.byteLength(String(v)) + 1;
    case 'o':
      return aligned(4) + 4 + String(v).length + 1;
    case 'g':
      return at + 1 + String(v).length + 1;
    case 'y':
      return at + 1;
    case 'n':
    case 'q':
      return aligned(2) + 2;
    case 'b':
    case 'u':
    case 'h':
    case 'i':
      return aligned(4) + 4;
    case 'x':
    case 't':
    case 'd':
      return aligned(8) + 8;
    case 'v': {
      const variant = v as Variant;
      return measure(parseSignature(variant.signature)[0], variant.value, at + 1 + variant.signature.length + 1);
    }
    case '(':
    case '{': {
      let end = aligned(8);
      t.children.forEach((c, i) => (end = measure(c, (v as unknown[])[i], end)));
      return end;
    }
    case 'a': {
      const child = t.children[0];
      const start = aligned(4) + 4;
      let end = start + ((ALIGN[child.code] - (start % ALIGN[child.code])) % ALIGN[child.code]);
      if (child.code === '{') {
        const entries = v instanceof Map ? v.entries() : Object.entries(v as Record<string, unknown>);
        for (const [k, x] of entries) end = measure(child, [k, x], end);
      } else {
        for (const x of v as unknown[]) end = measure(child, x, end);
      }
      return end;
    }
  }
  throw new Error(`cannot marshal type ${t.code}`);
}

/**
 * The size of premarshalObject's entry, without making it: a GetManagedObjects that will be
 * refused needs only the sizes, and marshalling most of a large topology's entries to learn
 * them was most of a refusal's cost (the pages that follow make each entry as they need it).
 */
export function objectEntrySize(path: string, interfaces: ObjectInterfaces): number {
  let at = 4 + path.length + 1;
  at += (4 - (at % 4)) % 4;
  at = align8(at + 4);
  for (const [iface, types, values] of interfaces) {
    at = align8(at) + 4 + Buffer.byteLength(iface) + 1;
    at = align8(((at + 3) & ~3) + 4);
    for (const k in values) {
      const type = types.get(k);
      if (type === undefined) throw new Error(`no property ${k} on ${iface} in the tables`);
      at = measure(parseSignature(type)[0], values[k], align8(at) + keyAndSignature(k, type).length);
    }
  }
  return at;
}

/**
 * A dict entry's key and its value's signature, as written from an 8-aligned start (which
 * every a{sv} entry has): the same bytes wherever they land, made once per property.
 */
const keys = new Map<string, Map<string, Buffer>>();
function keyAndSignature(key: string, type: string): Buffer {
  // By type, then key: a key made by joining the two was hashed anew for every property written.
  let byKey = keys.get(type);
  if (byKey === undefined) keys.set(type, (byKey = new Map()));
  let b = byKey.get(key);
  if (b === undefined) {
    const w = new Writer();
    w.str(key);
    w.sig(type);
    byKey.set(key, (b = Buffer.from(w.buf.subarray(0, w.len))));
  }
  return b;
}

const entryScratch = new Writer();
const scratch = new Writer();

/**
 * Bytes one complete value of `type` takes when it starts 8-aligned (an array element or a
 * dict entry does, if its type aligns to 8), so a page can be cut to fit before it is marshalled.
 */
export function sizeOf(type: string, value: unknown): number {
  scratch.reset(Infinity);
  scratch.value(parseSignature(type)[0], value);
  const n = scratch.len;
  scratch.release();
  return n;
}

export const align8 = (n: number): number => (n + 7) & ~7;
