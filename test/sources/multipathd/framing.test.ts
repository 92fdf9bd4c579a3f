// multipathd's wire format and where its socket is, without any socket.
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameReader } from '../../../src/sources/multipathd/framing';
import { defaultSocketCandidates } from '../../../src/sources/multipathd/socket-address';

const frame = (len: bigint, body: string) => {
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(len);
  return Buffer.concat([head, Buffer.from(body, 'utf8')]);
};

describe('framing', () => {
  it('is a little-endian size_t counting the NUL, then the text and the NUL', () => {
    const f = encodeFrame('show maps json');
    expect(f.readBigUInt64LE(0)).toBe(15n);
    expect(f.subarray(8).toString('latin1')).toBe('show maps json\0');
  });

  it('reassembles frames split anywhere, and several in one chunk', () => {
    const stream = Buffer.concat([encodeFrame('first'), encodeFrame('sécond'), encodeFrame('third')]);
    for (let cut = 1; cut < stream.length; cut++) {
      const r = new FrameReader(100);
      const got = [...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))];
      expect(got).toEqual(['first', 'sécond', 'third'].map((text) => ({ kind: 'frame', text })));
      expect(r.pending).toBe(0);
    }
  });

  it('holds a partial frame until the rest arrives', () => {
    const r = new FrameReader(100);
    expect(r.push(encodeFrame('hello').subarray(0, 10))).toEqual([]);
    expect(r.pending).toBe(10);
  });

  it('accepts a frame whose NUL is missing, as libmpathcmd does', () => {
    expect(new FrameReader(100).push(frame(2n, 'ok'))).toEqual([{ kind: 'frame', text: 'ok' }]);
  });

  it('refuses a length over the cap from the header alone; nothing after it counts', () => {
    const big = new FrameReader(1000);
    expect(big.push(frame(5000n, ''))).toEqual([{ kind: 'too-large', length: 5000 }]);
    expect(big.push(encodeFrame('later'))).toEqual([]);
  });

  it('calls a zero length or one no reply could have malformed', () => {
    expect(new FrameReader(1000).push(frame(0n, 'x'))).toEqual([{ kind: 'malformed', reason: 'a zero-length frame' }]);
    expect(new FrameReader(1000).push(Buffer.from('garbage!'))[0].kind).toBe('malformed');
    expect(new FrameReader(2 ** 40).push(frame(2n ** 32n, ''))[0].kind).toBe('malformed');
  });
});

describe('socket candidates', () => {
  it('are the socket file, then the abstract name', () => {
    expect(defaultSocketCandidates({})).toEqual(['/run/multipathd.socket', '@/org/kernel/linux/storage/multipathd']);
  });

  it('are replaced by MULTIPATH_SOCKET_NAME, read as libmpathcmd reads it: "@" abstract, else a path', () => {
    expect(defaultSocketCandidates({ MULTIPATH_SOCKET_NAME: '@/my/name' })).toEqual(['@/my/name']);
    expect(defaultSocketCandidates({ MULTIPATH_SOCKET_NAME: '/run/other.socket' })).toEqual(['/run/other.socket']);
  });
});
