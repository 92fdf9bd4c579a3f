// preadAll: every fd read again from offset 0 into its own slot, in one call; a failed read is
// its -errno in the results, and the others are still read.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileLimit, preadAll } from '../../src/native/addon';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe('preadAll', () => {
  it('reads each kept file from offset 0 again, after it was rewritten; a bad fd is -errno, the rest read', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kept-files-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const files = ['a', 'b'].map((n) => path.join(dir, n));
    files.forEach((f, i) => fs.writeFileSync(f, `value ${i}\n`));
    const fds = Int32Array.from([...files.map((f) => fs.openSync(f, 'r')), -1, fs.openSync(dir, 'r')]);
    cleanups.push(() => [0, 1, 3].forEach((i) => fs.closeSync(fds[i])));
    const slot = 16;
    const buffer = Buffer.alloc(fds.length * slot);
    const results = new Int32Array(fds.length);
    const texts = () => [0, 1].map((i) => buffer.toString('utf8', i * slot, i * slot + results[i]));

    preadAll(fds, buffer, slot, results);
    expect(texts()).toEqual(['value 0\n', 'value 1\n']);
    expect([...results.slice(2)]).toEqual([-os.constants.errno.EBADF, -os.constants.errno.EISDIR]);
    fs.writeFileSync(files[1], 'live\n');
    preadAll(fds, buffer, slot, results);
    expect(texts()).toEqual(['value 0\n', 'live\n']);
  });

  it('refuses a buffer or results too small for the fds, before reading anything', () => {
    const fds = Int32Array.from([-1, -1]);
    expect(() => preadAll(fds, Buffer.alloc(15), 8, new Int32Array(2))).toThrow(RangeError);
    expect(() => preadAll(fds, Buffer.alloc(16), 8, new Int32Array(1))).toThrow(RangeError);
    expect(() => preadAll(fds, Buffer.alloc(16), 0, new Int32Array(2))).toThrow(RangeError);
  });

  it('fileLimit is the soft RLIMIT_NOFILE this process runs with', () => {
    const soft = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))?.[1];
    expect(fileLimit()).toBe(Number(soft));
  });
});
