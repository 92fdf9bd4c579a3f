// journald's native protocol: one datagram per entry, one field after another. A value
// without a newline is "NAME=value\n"; any other value (newlines, NULs: outside data) takes
// the binary-safe form "NAME\n" + its byte length as 64-bit little-endian + bytes + "\n".
// Names are ours (upper case, digits, underscore, not starting with one), never outside data.

export type JournalFields = ReadonlyArray<readonly [name: string, value: string]>;

const NAME = /^[A-Z0-9][A-Z0-9_]{0,63}$/;

export function encodeJournalEntry(fields: JournalFields): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    if (!NAME.test(name)) throw new Error(`not a journal field name: ${name}`);
    const bytes = Buffer.from(value, 'utf8');
    if (!bytes.includes(0x0a)) {
      parts.push(Buffer.from(`${name}=`), bytes, Buffer.from('\n'));
      continue;
    }
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(bytes.length));
    parts.push(Buffer.from(`${name}\n`), length, bytes, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}
