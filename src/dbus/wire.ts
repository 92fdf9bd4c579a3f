// A direct marshaller for the signals the event path sends (PathFailed & co.): their
// arguments are only strings, object paths, integers, booleans and string arrays, and
// dbus-next's general marshaller costs more per signal than all the rest of the event path.
// Anything else returns undefined and goes through dbus-next.

const SIMPLE = /^(?:[osgubt]|as)*$/;

class Writer {
  buf = Buffer.allocUnsafe(512);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  align(n: number): void {
    const pad = (n - (this.len % n)) % n;
    this.room(pad);
    this.buf.fill(0, this.len, this.len + pad);
    this.len += pad;
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

  u64(v: bigint): void {
    this.align(8);
    this.room(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.len);
    this.len += 8;
  }

  str(s: string): void {
    const n = Buffer.byteLength(s);
    this.u32(n);
    this.room(n + 1);
    this.buf.write(s, this.len);
    this.len += n;
    this.buf[this.len++] = 0;
  }

  sig(s: string): void {
    this.u8(s.length);
    this.room(s.length + 1);
    this.buf.write(s, this.len, 'latin1');
    this.len += s.length;
    this.buf[this.len++] = 0;
  }
}

function splitSignature(signature: string): string[] {
  return signature.match(/as|[osgubt]/g) ?? [];
}

function value(w: Writer, type: string, v: unknown): void {
  switch (type) {
    case 's':
    case 'o':
      return w.str(String(v));
    case 'g':
      return w.sig(String(v));
    case 'u':
      return w.u32(Number(v));
    case 'b':
      return w.u32(v ? 1 : 0);
    case 't':
      return w.u64(typeof v === 'bigint' ? v : BigInt(v as number));
    case 'as': {
      w.u32(0);
      const at = w.len - 4;
      const start = w.len;
      for (const s of v as string[]) w.str(s);
      w.buf.writeUInt32LE(w.len - start, at);
      return;
    }
  }
}

/** A complete little-endian signal message, or undefined when the signature needs dbus-next. */
export function marshalSignal(serial: number, path: string, iface: string, member: string, signature: string, body: unknown[]): Buffer | undefined {
  if (!SIMPLE.test(signature)) return undefined;
  const types = splitSignature(signature);
  if (types.length !== body.length) return undefined;

  const b = new Writer();
  types.forEach((t, i) => value(b, t, body[i]));

  const h = new Writer();
  h.u8(0x6c); // 'l'
  h.u8(4); // SIGNAL
  h.u8(0);
  h.u8(1);
  h.u32(b.len);
  h.u32(serial);
  h.u32(0);
  const fieldsStart = h.len;
  const field = (code: number, type: string, v: string) => {
    h.align(8);
    h.u8(code);
    h.sig(type);
    value(h, type, v);
  };
  field(1, 'o', path);
  field(2, 's', iface);
  field(3, 's', member);
  if (signature) field(8, 'g', signature);
  h.buf.writeUInt32LE(h.len - fieldsStart, 12);
  h.align(8);
  return Buffer.concat([h.buf.subarray(0, h.len), b.buf.subarray(0, b.len)]);
}
