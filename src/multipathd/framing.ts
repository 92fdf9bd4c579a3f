// multipathd's uxsock framing: a native size_t length (strlen + 1), then the text and a
// NUL, in both directions. x86_64 and every 64-bit Linux we target use 8 little-endian bytes.
export const LENGTH_BYTES = 8;

export function encodeFrame(text: string): Buffer {
  const body = Buffer.from(`${text}\0`, 'utf8');
  const head = Buffer.alloc(LENGTH_BYTES);
  head.writeBigUInt64LE(BigInt(body.length));
  return Buffer.concat([head, body]);
}

export type FrameResult =
  | { kind: 'need-more' }
  | { kind: 'frame'; text: string; rest: Buffer }
  | { kind: 'too-large'; length: number }
  | { kind: 'malformed'; reason: string };

/** Take one frame off the front of `buf`, if it holds a whole one. */
export function decodeFrame(buf: Buffer, maxBytes: number): FrameResult {
  if (buf.length < LENGTH_BYTES) return { kind: 'need-more' };
  const len = buf.readBigUInt64LE(0);
  if (len === 0n) return { kind: 'malformed', reason: 'zero-length frame' };
  if (len > BigInt(maxBytes)) return { kind: 'too-large', length: Number(len) };
  const n = Number(len);
  if (buf.length < LENGTH_BYTES + n) return { kind: 'need-more' };
  const body = buf.subarray(LENGTH_BYTES, LENGTH_BYTES + n);
  // The sender counts the NUL; be lenient if it is missing, as multipathd's own client is.
  const end = body[n - 1] === 0 ? n - 1 : n;
  return { kind: 'frame', text: body.toString('utf8', 0, end), rest: buf.subarray(LENGTH_BYTES + n) };
}
