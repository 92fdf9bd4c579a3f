// multipathd's `show maps json`. Read defensively: the format (major_version 0) has gained
// fields without a version bump, and multipathd 0.9.4 prints strings without escaping them,
// so a vendor or product holding `"` or `\` turns the reply into invalid JSON. Such a reply
// is read line by line, the way multipathd writes it, with every string taken verbatim.
import { fail, ok, quoteSnippet, type Result } from '../../util/result';
import type { MpdPath, MpdGroup, MpdMap } from '../../model/readings';

export interface ShowMaps {
  maps: MpdMap[];
  /** The document was not valid JSON and was read line by line. */
  repaired: boolean;
  warnings: string[];
}

type Json = string | number | boolean | null | Json[] | JsonObject;
interface JsonObject {
  [key: string]: Json;
}

// multipathd nests 7 deep (document, maps, map, groups, group, paths, path). JSON.parse
// builds whatever nesting it is given: 32 MiB of "[" costs it over a gigabyte.
const MAX_DEPTH = 32;
const TOO_DEEP = `brackets nest deeper than ${MAX_DEPTH} levels: not a map list`;

export function parseShowMaps(text: string): Result<ShowMaps> {
  const warnings = new Warnings();
  let doc: Json | undefined;
  let repaired = false;
  // Too deep as JSON is either really that deep or strings turned inside out by multipathd's
  // unescaped quotes: the line reader, which holds its own depth limit, decides which.
  let why = `brackets nest deeper than ${MAX_DEPTH} levels as JSON`;
  let parsed = false;
  if (!jsonNestingOver(text, MAX_DEPTH)) {
    try {
      doc = JSON.parse(text) as Json;
      parsed = true;
    } catch (e) {
      why = firstLine((e as Error).message);
    }
  }
  if (!parsed) {
    const loose = parseMultipathdLines(text);
    if (!loose.ok) return fail(loose.error === TOO_DEEP ? TOO_DEEP : `not valid JSON (${why}), nor readable line by line: ${loose.error}`);
    doc = loose.value;
    repaired = true;
    warnings.add(`not valid JSON (${why}); read line by line with strings taken verbatim`);
  }
  if (!isObject(doc)) return fail('the reply is not a JSON object');
  const version = field(doc, 'major_version');
  if (version !== undefined && version !== 0) warnings.add(`major_version ${typeof version === 'object' ? '(not a number)' : quoteSnippet(String(version))} is not 0; reading the fields known from 0`);
  const list = field(doc, 'maps');
  if (!Array.isArray(list)) return fail('the reply has no "maps" list');

  const maps: MpdMap[] = [];
  list.forEach((entry, i) => {
    if (!isObject(entry)) return warnings.add(`maps: entry ${i + 1} is not an object; skipped`);
    if (!isText(field(entry, 'name')) && !isText(field(entry, 'uuid'))) {
      return warnings.add(`maps: entry ${i + 1} has neither "name" nor "uuid"; skipped`);
    }
    maps.push(readMap(new Fields(entry, 'map', warnings), warnings));
  });
  return ok({ maps, repaired, warnings: warnings.list() });
}

function readMap(f: Fields, warnings: Warnings): MpdMap {
  const groupList = f.list('path_groups');
  return {
    name: f.str('name'),
    wwid: f.str('uuid'),
    sysfs: f.str('sysfs'),
    failback: f.str('failback'),
    queueing: f.str('queueing'),
    numPaths: f.num('paths', 'count'),
    writeProt: f.str('write_prot'),
    dmState: f.str('dm_st'),
    features: f.str('features'),
    hwhandler: f.str('hwhandler'),
    pathFaults: f.num('path_faults', 'count'),
    vendor: f.str('vend'),
    product: f.str('prod'),
    revision: f.str('rev'),
    switchGroup: f.num('switch_grp', 'count'),
    mapLoads: f.num('map_loads', 'count'),
    totalQTime: f.num('total_q_time', 'count'),
    qTimeouts: f.num('q_timeouts', 'count'),
    groups: objects(groupList, 'path group', warnings).map((g, i) => readGroup(new Fields(g, 'path group', warnings), i + 1, warnings)),
  };
}

function readGroup(f: Fields, position: number, warnings: Warnings): MpdGroup {
  return {
    // Without "group", the position is the number switchgroup would use.
    number: f.num('group', 'count', position),
    selector: f.str('selector'),
    priority: f.num('pri', 'int'),
    dmState: f.str('dm_st'),
    marginal: f.marginal('marginal_st'),
    paths: objects(f.list('paths'), 'path', warnings).map((p) => readPath(new Fields(p, 'path', warnings))),
  };
}

function readPath(f: Fields): MpdPath {
  return {
    dev: f.str('dev'),
    devT: f.str('dev_t'),
    dmState: f.str('dm_st'),
    devState: f.str('dev_st'),
    checkerState: f.str('chk_st'),
    checker: f.str('checker'),
    priority: f.num('pri', 'int'),
    hostWwnn: f.str('host_wwnn'),
    hostWwpn: f.str('host_wwpn'),
    targetWwnn: f.str('target_wwnn'),
    targetWwpn: f.str('target_wwpn'),
    hostAdapter: f.str('host_adapter'),
    lun: f.str('lun_hex'),
    marginal: f.marginal('marginal_st'),
  };
}

function objects(list: Json[], what: string, warnings: Warnings): JsonObject[] {
  return list.filter((e) => isObject(e) || (warnings.add(`${what} list: an entry is not an object; skipped`), false)) as JsonObject[];
}

/** Typed reads of one object's fields: absent or unusable values become '' / 0 / false with a warning. */
class Fields {
  constructor(
    private readonly o: JsonObject,
    private readonly level: string,
    private readonly warnings: Warnings,
  ) {}

  private missing(key: string): void {
    this.warnings.add(`${this.level}: "${key}" missing`);
  }

  private bad(key: string, expected: string): void {
    this.warnings.add(`${this.level}: "${key}" is not ${expected}`);
  }

  str(key: string): string {
    const v = field(this.o, key);
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (v === undefined || v === null) this.missing(key);
    else this.bad(key, 'a string');
    return '';
  }

  num(key: string, kind: 'count' | 'int', fallback = 0): number {
    const v = field(this.o, key);
    if (v === undefined || v === null) {
      this.missing(key);
      return fallback;
    }
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (Number.isSafeInteger(n) && (kind === 'int' || n >= 0)) return n;
    this.bad(key, kind === 'count' ? 'a non-negative integer' : 'an integer');
    return fallback;
  }

  marginal(key: string): boolean {
    const v = field(this.o, key);
    if (v === 'marginal' || v === true) return true;
    if (v === 'normal' || v === false) return false;
    if (v === undefined || v === null) this.missing(key);
    else this.bad(key, '"marginal" or "normal"');
    return false;
  }

  list(key: string): Json[] {
    const v = field(this.o, key);
    if (Array.isArray(v)) return v;
    if (v === undefined || v === null) this.missing(key);
    else this.bad(key, 'a list');
    return [];
  }
}

/** Collapses repeats (64 paths missing the same field) into one line with a count. */
class Warnings {
  private readonly counts = new Map<string, number>();

  add(message: string): void {
    this.counts.set(message, (this.counts.get(message) ?? 0) + 1);
  }

  list(): string[] {
    return [...this.counts].map(([m, n]) => (n > 1 ? `${m} (${n} times)` : m));
  }
}

function field(o: JsonObject, key: string): Json | undefined {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isText(v: Json | undefined): boolean {
  return (typeof v === 'string' && v !== '') || typeof v === 'number';
}

/**
 * Depth of the JSON structure: brackets inside strings (JSON's own string rules) do not
 * count, and a closing bracket closes. Linear, no allocation.
 */
function jsonNestingOver(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if ((c === 0x7d || c === 0x5d) && depth > 0) {
      depth--;
    }
  }
  return false;
}

/** JSON.parse's message quotes the input: keep it to one printable line. */
function firstLine(message: string): string {
  const line = message.split('\n', 1)[0].replace(/[\x00-\x1f\x7f]/g, '?');
  return line.length > 120 ? `${line.slice(0, 120)}...` : line;
}

/**
 * multipathd's own layout: one `"key" : value,` per line, brackets on lines of their own or
 * after a key (`"paths": [{`, `},{`, `}]`). A string value runs from the first `"` after the
 * colon to the last `"` on its line (or, holding raw newlines, on the first line after it that
 * ends in one), verbatim: no escapes, a `"` inside is literal. One pass over the lines, no
 * backtracking, so it is linear in the input.
 */
function parseMultipathdLines(text: string): Result<Json> {
  const stack: (JsonObject | Json[])[] = [];
  let root: Json | undefined;
  let pendingKey: string | undefined;

  const open = (value: JsonObject | Json[], n: number): Result<void> => {
    const top = stack[stack.length - 1];
    if (pendingKey !== undefined && isObject(top)) {
      top[pendingKey] = value;
      pendingKey = undefined;
    } else if (Array.isArray(top)) {
      top.push(value);
    } else if (top === undefined && root === undefined) {
      root = value;
    } else {
      return fail(`line ${n}: a bracket where a key was expected`);
    }
    if (stack.length >= MAX_DEPTH) return fail(TOO_DEEP);
    stack.push(value);
    return ok(undefined);
  };

  const structure = (chars: string, n: number): Result<void> => {
    for (const c of chars) {
      let r: Result<void> = ok(undefined);
      if (c === '{') r = open(Object.create(null) as JsonObject, n);
      else if (c === '[') r = open([], n);
      else if (c === '}' || c === ']') {
        const top = stack[stack.length - 1];
        if (pendingKey !== undefined || top === undefined || (c === '}') !== isObject(top)) return fail(`line ${n}: unbalanced "${c}"`);
        stack.pop();
      } else if (c === ',') {
        if (pendingKey !== undefined) return fail(`line ${n}: key ${quoteSnippet(pendingKey)} has no value`);
      } else if (c !== ' ' && c !== '\t') {
        return fail(`line ${n}: unexpected ${quoteSnippet(c)}`);
      }
      if (!r.ok) return r;
    }
    return ok(undefined);
  };

  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i].trim();
    if (line === '') continue;
    if (root !== undefined && stack.length === 0) return fail(`line ${n}: text after the end of the document`);
    if (line[0] !== '"') {
      const r = structure(line, n);
      if (!r.ok) return r;
      continue;
    }
    if (pendingKey !== undefined) return fail(`line ${n}: key ${quoteSnippet(pendingKey)} has no value`);
    const top = stack[stack.length - 1];
    if (!isObject(top)) return fail(`line ${n}: a key outside an object`);
    const keyEnd = line.indexOf('"', 1);
    if (keyEnd < 0) return fail(`line ${n}: unterminated key`);
    const key = line.slice(1, keyEnd);
    const afterKey = line.slice(keyEnd + 1).trimStart();
    if (afterKey[0] !== ':') return fail(`line ${n}: no ":" after key ${quoteSnippet(key)}`);
    const rest = afterKey.slice(1).trim();
    if (rest === '' || rest[0] === '{' || rest[0] === '[') {
      pendingKey = key;
      const r = structure(rest, n);
      if (!r.ok) return r;
    } else if (rest[0] === '"') {
      let body = closed(rest.slice(1));
      if (body === undefined) {
        // A raw newline inside the value (multipathd escapes nothing): it goes on, newline
        // included, to the first line that closes it. One odd value must not cost every map.
        const parts = [lines[i].trimStart().slice(line.length - rest.length + 1)];
        while (body === undefined && ++i < lines.length) {
          body = closed(lines[i].trimEnd());
          parts.push(body ?? lines[i]);
        }
        if (body === undefined) return fail(`line ${n}: unterminated string for key ${quoteSnippet(key)}`);
        body = parts.join('\n');
      }
      top[key] = body;
    } else {
      const token = (rest.endsWith(',') ? rest.slice(0, -1) : rest).trim();
      if (token === '') return fail(`line ${n}: key ${quoteSnippet(key)} has no value`);
      top[key] = scalar(token);
    }
  }
  if (root === undefined) return fail('empty document');
  if (stack.length > 0) return fail(`ends inside ${stack.length} open bracket(s): truncated?`);
  if (pendingKey !== undefined) return fail(`key ${quoteSnippet(pendingKey)} has no value`);
  return ok(root);
}

/** A string value's text before its closing quote at the end of `s` (`"` or `",`); undefined if `s` does not close it. */
function closed(s: string): string | undefined {
  return s.endsWith('",') ? s.slice(0, -2) : s.endsWith('"') ? s.slice(0, -1) : undefined;
}

function scalar(token: string): Json {
  if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(token)) return Number(token);
  if (token === 'true') return true;
  if (token === 'false') return false;
  if (token === 'null') return null;
  // An unquoted word where multipathd would print a number: keep it, the field reader warns.
  return token;
}
