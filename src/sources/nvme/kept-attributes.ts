// Attribute files kept open and read again together, in one call into the addon (pread from
// offset 0: on sysfs, kernfs formats the value again on each such read). What a poll that reads
// thousands of attributes a second uses instead of open/read/close per file; the text of each
// read goes through the same checks as readAttribute's (attributeText).
//
// Cost of keeping one: an fd, and on sysfs 4–4.5 KiB of kernel memory (the page seq_file
// keeps from the first read to the close, and the open file's structures; slab grew by
// 16–17 MiB for 4,000 on Linux 6.18).
import * as fs from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { preadAll } from '../../native/addon';
import { fail, ok, type Result } from '../../util/result';
import { attributeText } from './attributes';

const GONE = new Set(['ENODEV', 'ENOENT']);

export class KeptAttributes {
  private readonly fds: Int32Array;
  private readonly results: Int32Array;
  private readonly buffer: Buffer;
  /** Room per file: the longest value, its newline and one byte that says "longer". */
  private readonly slot: number;
  private count = 0;

  /** Room for `capacity` files whose values are at most `max` bytes. */
  constructor(
    capacity: number,
    private readonly max: number,
  ) {
    this.fds = new Int32Array(capacity).fill(-1);
    this.results = new Int32Array(capacity);
    this.slot = max + 2;
    this.buffer = Buffer.alloc(capacity * this.slot);
  }

  /** Opens `file` and keeps it: its index, or -1 when there is no room or it cannot be opened (read it by path then). */
  keep(file: string): number {
    if (this.count === this.fds.length) return -1;
    try {
      this.fds[this.count] = fs.openSync(file, 'r');
    } catch {
      return -1;
    }
    return this.count++;
  }

  /** Reads every kept file; value() then gives what each read. */
  readAll(): void {
    preadAll(this.fds.subarray(0, this.count), this.buffer, this.slot, this.results);
  }

  /** What the last readAll read from file `index`: undefined when its device is gone (the kernel answers ENODEV). */
  value(index: number): Result<string | undefined> {
    const n = this.results[index];
    if (n < 0) {
      const code = getSystemErrorName(n);
      return GONE.has(code) ? ok(undefined) : fail(code);
    }
    return attributeText(this.buffer, index * this.slot, n, this.max);
  }

  /**
   * Whether the last readAll read exactly `text` (ASCII, already valid) and a newline from file
   * `index`: an unchanged value, known without decoding it.
   */
  readAgain(index: number, text: string): boolean {
    if (this.results[index] !== text.length + 1) return false;
    const at = index * this.slot;
    for (let i = 0; i < text.length; i++) if (this.buffer[at + i] !== text.charCodeAt(i)) return false;
    return this.buffer[at + text.length] === 0x0a;
  }

  /** Closes file `index` (its device is gone); readAll skips it from now on. */
  release(index: number): void {
    if (this.fds[index] < 0) return;
    fs.closeSync(this.fds[index]);
    this.fds[index] = -1;
  }

  /** Closes every kept file. */
  close(): void {
    for (let i = 0; i < this.count; i++) this.release(i);
  }
}
