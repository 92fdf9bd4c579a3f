// sysfs attribute files read as outside input: each value is bounded, on one line, free of
// control characters and checked against what the kernel can print; a value that is not
// costs that field only (empty, 'unknown' or undefined) and one sentence in `problems`.
import * as fs from 'node:fs';
import { escapeControls } from '../../util/control-chars';
import { fail, ok, quoteSnippet, type Result } from '../../util/result';

// The longest value read (a caller asking for more is held to it), plus its newline and one
// byte that says "longer".
const MAX_VALUE = 512;
const buffer = Buffer.alloc(MAX_VALUE + 2);
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

/**
 * One attribute: undefined when the file is absent (the kernel hides attributes that do
 * not apply, and devices go away between a listing and a read), else its text without the
 * trailing newline, or why it was refused. open/read/close into one buffer: no fstat, no
 * allocation beyond the string, and a long value is never read whole.
 */
export function readAttribute(file: string, max: number): Result<string | undefined> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENODEV' ? ok(undefined) : fail(code ?? 'unreadable');
  }
  const limit = Math.min(max, MAX_VALUE);
  let n: number;
  try {
    n = fs.readSync(fd, buffer, 0, limit + 2, 0);
  } catch (e) {
    // A device being deleted answers ENODEV to a read of a file opened just before.
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENODEV' ? ok(undefined) : fail(code ?? 'unreadable');
  } finally {
    fs.closeSync(fd);
  }
  return attributeText(buffer, 0, n, limit);
}

/**
 * What a read of an attribute gave (`length` bytes at `start`, read with room for `limit` + 2):
 * its text without the trailing newline, or why it was refused. Every read of an attribute,
 * by path or through a kept fd (kept-attributes.ts), is checked here.
 */
export function attributeText(bytes: Buffer, start: number, length: number, limit: number): Result<string> {
  let n = length;
  if (n > 0 && bytes[start + n - 1] === 0x0a) n--;
  if (n > limit) return fail(`longer than ${limit} bytes`);
  const text = bytes.toString('utf8', start, start + n);
  if (text.includes('\ufffd')) return fail(`not UTF-8: ${quoteSnippet(escapeControls(text))}`);
  if (CONTROL.test(text)) return fail(`control character in ${quoteSnippet(escapeControls(text))}`);
  return ok(text);
}

/** Typed reads under one directory; every refusal is noted in `problems` as "<name>/<attr>: why". */
export class AttributeReader {
  constructor(
    private readonly problems: string[],
    /** The directory read, as the problems should name it (nvme-subsys0/nvme0n1). */
    private readonly label: string,
    private readonly dir: string,
  ) {}

  private raw(attr: string, max: number): string | undefined {
    const r = readAttribute(`${this.dir}/${attr}`, max);
    if (r.ok) return r.value;
    this.problems.push(`${this.label}/${attr}: ${r.error}`);
    return undefined;
  }

  private refuse(attr: string, value: string, why: string): undefined {
    this.problems.push(`${this.label}/${attr}: ${why}: ${quoteSnippet(value)}`);
    return undefined;
  }

  /** Free text (model, serial, NQN, address); trailing blanks dropped; '' when absent or refused. */
  text(attr: string, max: number): string {
    return (this.raw(attr, max) ?? '').trimEnd();
  }

  /** Text that must match `pattern` (identifiers); '' when absent or refused. */
  matching(attr: string, max: number, pattern: RegExp): string {
    const v = this.raw(attr, max);
    if (v === undefined || v === '') return '';
    return pattern.test(v) ? v : (this.refuse(attr, v, `not ${pattern.source}`) ?? '');
  }

  /** One of the kernel's names; 'unknown' when absent, refused, or a name this code does not know. */
  oneOf<T extends string>(attr: string, names: readonly T[]): T | 'unknown' {
    const v = this.raw(attr, 32);
    if (v === undefined) return 'unknown';
    return (names as readonly string[]).includes(v) ? (v as T) : (this.refuse(attr, v, 'unknown value') ?? 'unknown');
  }

  /** A decimal integer from 0 to `max`; undefined when absent or refused. */
  uint(attr: string, max: number): number | undefined {
    const v = this.raw(attr, 20);
    if (v === undefined) return undefined;
    if (!/^\d{1,20}$/.test(v)) return this.refuse(attr, v, 'not a decimal number');
    const n = Number(v);
    return n <= max ? n : this.refuse(attr, v, `over ${max}`);
  }
}

/** major:minor as sysfs' dev prints it. */
export const DEV_T = /^\d{1,4}:\d{1,7}$/;
/** nguid and uuid print as %pU. */
export const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A transport's name (nvme_ctrl_ops.name). */
export const TRANSPORT = /^[a-z0-9-]{1,16}$/;
