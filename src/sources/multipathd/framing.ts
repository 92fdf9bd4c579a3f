// multipathd's uxsock framing: a native size_t length (strlen + 1), then the text and a
// NUL, in both directions. x86_64 and every 64-bit Linux we target use 8 little-endian bytes.
const LENGTH_BYTES = 8;

export function encodeFrame(text: string): Buffer {
  const body = Buffer.from(`${text}\0`, 'utf8');
  const head = Buffer.alloc(LENGTH_BYTES);
  head.writeBigUInt64LE(BigInt(body.length));
  return Buffer.concat([head, body]);
}

// No reply multipathd builds in memory comes near 4 GiB: a length beyond that is not a length.
const IMPLAUSIBLE = 2n ** 32n;

export type FrameEvent = { kind: 'frame'; text: string } | { kind: 'too-large'; length: number } | { kind: 'malformed'; reason: string };

/**
 * Cuts a byte stream into frames. Chunks are kept as they arrive and joined once per
 * frame, so a reply of many megabytes costs one copy, not one per chunk. A bad length
 * (0, absurd, or over the cap) ends the stream: nothing after it is trustworthy.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private held = 0;
  private expected: number | undefined;
  private broken = false;

  constructor(private readonly maxBytes: number) {}

  /** Bytes held towards a frame not yet complete. */
  get pending(): number {
    return this.held;
  }

  push(chunk: Buffer): FrameEvent[] {
    if (this.broken) return [];
    this.chunks.push(chunk);
    this.held += chunk.length;
    const out: FrameEvent[] = [];
    for (;;) {
      if (this.expected === undefined) {
        if (this.held < LENGTH_BYTES) return out;
        const len = this.join().readBigUInt64LE(0);
        const bad = badLength(len, this.maxBytes);
        if (bad) {
          this.broken = true;
          this.chunks = [];
          this.held = 0;
          out.push(bad);
          return out;
        }
        this.expected = Number(len);
      }
      if (this.held < LENGTH_BYTES + this.expected) return out;
      const all = this.join();
      const end = LENGTH_BYTES + this.expected;
      // The sender counts the NUL; be lenient if it is missing, as libmpathcmd is.
      const textEnd = all[end - 1] === 0 ? end - 1 : end;
      out.push({ kind: 'frame', text: all.toString('utf8', LENGTH_BYTES, textEnd) });
      const rest = all.subarray(end);
      this.chunks = rest.length ? [rest] : [];
      this.held = rest.length;
      this.expected = undefined;
    }
  }

  private join(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.held)];
    return this.chunks[0];
  }
}

function badLength(len: bigint, maxBytes: number): FrameEvent | undefined {
  if (len === 0n) return { kind: 'malformed', reason: 'a zero-length frame' };
  if (len >= IMPLAUSIBLE) return { kind: 'malformed', reason: `a length of ${len} bytes: not a frame header` };
  if (len > BigInt(maxBytes)) return { kind: 'too-large', length: Number(len) };
  return undefined;
}
