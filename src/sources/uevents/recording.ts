// Recorded uevent captures (test fixtures, the simulator, benchmarks): records of a 4-byte
// little-endian length followed by that many bytes, each one datagram exactly as recv() gave it.

/**
 * Splits a recording into its datagrams. A recording is trusted local data, so a damaged one
 * is a broken fixture, not input to tolerate: it throws, naming the offset.
 */
export function readUeventRecording(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf.length - pos < 4) throw new Error(`uevent recording: ${buf.length - pos} stray bytes at offset ${pos}`);
    const len = buf.readUInt32LE(pos);
    pos += 4;
    if (len > buf.length - pos) {
      throw new Error(`uevent recording: record at offset ${pos - 4} says ${len} bytes, only ${buf.length - pos} left`);
    }
    out.push(buf.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}
