// Every parser faces untrusted input (the kernel, multipathd, an administrator's file): whatever
// it gets, it must return a Result (never throw, never hang) whose value keeps its invariants.
// CI runs a modest number of cases; a deep run is one command:
//   FUZZ_RUNS=100000 npx vitest run test/parsers
// A failure prints fast-check's seed and path; FUZZ_SEED=<seed> replays it.
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigFile } from '../../src/config/config-file';
import { parseMultipathStatus, parseMultipathTable } from '../../src/sources/device-mapper/multipath-status';
import { parseUevent } from '../../src/sources/uevents/parse';
import { parseShowConfig } from '../../src/sources/multipathd/show-config';
import { parseShowMaps } from '../../src/sources/multipathd/maps-json';
import type { Result } from '../../src/util/result';
import { fixture, recordedDatagrams } from '../helpers/fixtures';

const RUNS = Number(process.env.FUZZ_RUNS) || 1500;
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) };
// A deep run needs more time than vitest's default per test.
const TIMEOUT = Math.max(20_000, RUNS * 5);

/** Bytes and snippets that matter to one of the parsers: framing, quoting, nesting, counts. */
const SNIPPETS = ['"', '\\', '{', '}', '[', ']', ',', ':', '\n', '\0', '=', '@', ' ', '#', '""', '\\"', '"x" : "y",', '},{', '}]', '[{', '4294967295', '99999999999999999999', '-1', '8:0', 'A', 'F', 'D', 'E', 'DM_ACTION=PATH_FAILED\0', 'SUBSYSTEM=block\0', ' {', '}\n', 'device {\n'];

type Mutation = { kind: 'truncate' | 'flip' | 'insert' | 'delete' | 'repeat'; at: number; len: number; byte: number; snippet: string };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('truncate', 'flip', 'insert', 'delete', 'repeat'),
  at: fc.nat(),
  len: fc.integer({ min: 1, max: 64 }),
  byte: fc.integer({ min: 0, max: 255 }),
  snippet: fc.constantFrom(...SNIPPETS),
});

function mutate(base: Buffer, mutations: Mutation[]): Buffer {
  let b = base;
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.kind) {
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'flip':
        if (at < b.length) {
          b = Buffer.from(b);
          b[at] = m.byte;
        }
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.snippet, 'utf8'), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
        break;
      case 'repeat':
        b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at)]);
        break;
    }
  }
  return b;
}

/** Mutations of recorded inputs: close enough to real data to reach deep into a parser. */
function mutated(bases: Buffer[]): fc.Arbitrary<Buffer> {
  return fc.tuple(fc.constantFrom(...bases), fc.array(mutation, { minLength: 1, maxLength: 6 })).map(([b, ms]) => mutate(b, ms));
}

const mutatedText = (bases: string[]) => mutated(bases.map((t) => Buffer.from(t, 'utf8'))).map((b) => b.toString('utf8'));
/** Strings made of the parsers' own vocabulary, plus arbitrary text. */
const tokenSoup = (words: string[]) => fc.array(fc.constantFrom(...words, ...SNIPPETS), { maxLength: 80 }).map((w) => w.join(''));
const anyText = fc.string({ unit: 'binary', maxLength: 600 });

/** A Result, with an error short enough for one log line (input is quoted, never dumped). */
function checkResult<T>(r: Result<T>): T | undefined {
  expect(typeof r.ok).toBe('boolean');
  if (r.ok) return r.value;
  expect(typeof r.error).toBe('string');
  expect(r.error.length).toBeGreaterThan(0);
  expect(r.error.length).toBeLessThan(400);
  return undefined;
}

const DEV_T = /^\d+:\d+$/;
const isCount = (n: number) => Number.isSafeInteger(n) && n >= 0;

describe('fuzz: parseUevent', () => {
  const recorded = recordedDatagrams().map((d) => Buffer.from(d));

  function check(d: Buffer) {
    const p = parseUevent(d);
    expect(['event', 'ignored', 'malformed']).toContain(p.kind);
    if (p.kind === 'malformed') expect(p.reason.length).toBeGreaterThan(0);
    if (p.kind !== 'event') return;
    const e = p.event;
    expect(e.sysfs).toMatch(/^dm-\d+$/);
    expect(e.mapDevT).toMatch(DEV_T);
    expect(isCount(e.seqnum)).toBe(true);
    if (e.kind === 'path') {
      expect(e.pathDevT).toMatch(DEV_T);
      expect([e.validPaths, e.dmSeqnum].every(isCount)).toBe(true);
      expect(e.wwid.length).toBeGreaterThan(0);
    }
  }

  it('classifies arbitrary bytes', () => fc.assert(fc.property(fc.uint8Array({ maxLength: 1024 }), (a) => check(Buffer.from(a))), params), TIMEOUT);
  it('classifies mutated recordings', () => fc.assert(fc.property(mutated(recorded), check), params), TIMEOUT);
});

describe('fuzz: dm multipath status and table', () => {
  const lines = (file: string) =>
    fixture(`kernel-6.1/${file}`)
      .split('\n')
      .filter((l) => l.includes(' multipath '))
      .map((l) => l.slice(l.indexOf(' multipath ') + ' multipath '.length));
  const statuses = [...lines('dmsetup-status.txt'), ...lines('dmsetup-status-host1-offline.txt')];
  const tables = lines('dmsetup-table.txt');
  const words = ['0 ', '1 ', '2 ', '3 ', 'A ', 'E ', 'D ', 'F ', '8:0 ', '8:16 ', 'service-time ', 'alua ', ' '];

  function checkStatus(params: string) {
    const s = checkResult(parseMultipathStatus(params));
    if (!s) return;
    expect(s.nextGroup).toBeLessThanOrEqual(s.groups.length);
    for (const g of s.groups) {
      expect(['active', 'enabled', 'disabled']).toContain(g.state);
      for (const p of g.paths) {
        expect(p.devT).toMatch(DEV_T);
        expect(isCount(p.failCount)).toBe(true);
      }
    }
  }

  function checkTable(params: string) {
    const t = checkResult(parseMultipathTable(params));
    if (!t) return;
    expect(t.initialGroup).toBeLessThanOrEqual(t.groups.length);
    expect(t.features).toMatch(/^\d+( \S+)*$/);
    expect(t.hardwareHandler).toMatch(/^\d+( \S+)*$/);
    for (const g of t.groups) for (const p of g.paths) expect(p.devT).toMatch(DEV_T);
  }

  it('status: arbitrary text', () => fc.assert(fc.property(fc.oneof(anyText, tokenSoup(words)), checkStatus), params), TIMEOUT);
  it('status: mutated recordings', () => fc.assert(fc.property(mutatedText(statuses), checkStatus), params), TIMEOUT);
  it('table: arbitrary text', () => fc.assert(fc.property(fc.oneof(anyText, tokenSoup(words)), checkTable), params), TIMEOUT);
  it('table: mutated recordings', () => fc.assert(fc.property(mutatedText(tables), checkTable), params), TIMEOUT);
});

describe('fuzz: show maps json', () => {
  const files = ['show-maps-2x2.json', 'show-maps-2x2-one-failed.json', 'show-maps-2x2-host1-offline.json', 'show-maps-after-del-map.json'];
  const docs = [...files.map((f) => fixture(`multipathd-0.9.4/${f}`)), fixture('adversarial/show-maps-unescaped-quote.json')];
  const words = ['{\n', '}\n', '[\n', ']\n', '"maps": [', '"paths": [', '"path_groups": [', '"name" : "m",\n', '"uuid" : "u",\n', '"pri" : 5,\n', '"dev_t" : "8:0",\n', '},{\n', '}]\n'];

  function check(text: string) {
    const doc = checkResult(parseShowMaps(text));
    if (!doc) return;
    expect(typeof doc.repaired).toBe('boolean');
    expect(doc.warnings.every((w) => typeof w === 'string')).toBe(true);
    for (const m of doc.maps) {
      expect(m.name !== '' || m.wwid !== '').toBe(true);
      expect([m.numPaths, m.pathFaults, m.switchGroup, m.mapLoads, m.totalQTime, m.qTimeouts].every(isCount)).toBe(true);
      for (const g of m.groups) {
        expect(Number.isSafeInteger(g.priority) && isCount(g.number)).toBe(true);
        for (const p of g.paths) expect(typeof p.dev === 'string' && typeof p.marginal === 'boolean' && Number.isSafeInteger(p.priority)).toBe(true);
      }
    }
  }

  it('arbitrary text', () => fc.assert(fc.property(fc.oneof(anyText, tokenSoup(words)), check), params), TIMEOUT);
  it('mutated recordings', () => fc.assert(fc.property(mutatedText(docs), check), params), TIMEOUT);

  it('takes any one-line vendor and product verbatim, however it breaks JSON', () => {
    const base = fixture('multipathd-0.9.4/show-maps-2x2.json');
    const raw = fc.string({ unit: fc.constantFrom('"', '\\', ',', ':', '{', '}', '[', ']', 'x', ' ', 'é', '\t'), maxLength: 24 });
    fc.assert(
      fc.property(raw, raw, (vendor, product) => {
        const text = base.replaceAll('"vend" : "Linux"', () => `"vend" : "${vendor}"`).replaceAll('"prod" : "scsi_debug"', () => `"prod" : "${product}"`);
        const doc = checkResult(parseShowMaps(text));
        expect(doc).toBeDefined();
        // A string that happens to keep the document valid JSON is read as JSON.
        if (!doc!.repaired) return;
        expect(doc!.maps.map((m) => [m.name, m.vendor, m.product])).toEqual([
          ['mpatha', vendor, product],
          ['mpathb', vendor, product],
        ]);
      }),
      params,
    );
  }, TIMEOUT);
});

describe('fuzz: show config', () => {
  const config = fixture('multipathd-0.9.4/show-config.txt');
  // The whole reply is 1100 lines; mutating a slice keeps each case cheap and the edits dense.
  const head = config.split('\n').slice(0, 130).join('\n');
  const words = ['defaults {\n', 'blacklist {\n', 'blacklist_exceptions {\n', 'device {\n', '}\n', 'vendor "X"\n', 'devnode "a""b"\n', 'polling_interval 5\n', 'user_friendly_names "yes"\n', '"\n'];

  function check(text: string) {
    const s = checkResult(parseShowConfig(text));
    if (!s) return;
    expect(Number.isSafeInteger(s.pollingInterval) && s.pollingInterval > 0).toBe(true);
    for (const e of [...s.blacklist, ...s.blacklistExceptions]) expect(['devnode', 'wwid', 'property', 'protocol', 'device']).toContain(e.kind);
  }

  it('arbitrary text', () => fc.assert(fc.property(fc.oneof(anyText, tokenSoup(words)), check), params), TIMEOUT);
  it('mutated recordings', () => fc.assert(fc.property(mutatedText([head]), check), params), TIMEOUT);
});

describe('fuzz: /etc/multipath-dbus.conf', () => {
  const sample = ['# settings', 'enable = yes', 'socket = @/org/kernel/linux/storage/multipathd', 'refresh_interval = 60', 'history_size = 4096', 'netlink_buffer = 16M', 'log_level = info', ''].join('\n');
  const words = ['enable', 'socket', 'refresh_interval', 'history_size', 'netlink_buffer', 'log_level', ' = ', '=', 'yes', '64K', '1G', '86400', '# c', '\n'];

  function check(text: string) {
    const c = checkResult(parseConfigFile(text, 'f.conf'));
    if (!c) return;
    expect(c.historySize >= 16 && c.historySize <= 1_000_000).toBe(true);
    expect(c.refreshInterval >= 0 && c.refreshInterval <= 86400).toBe(true);
    expect(c.netlinkBuffer >= 64 * 1024 && c.netlinkBuffer <= 1024 ** 3).toBe(true);
    expect(['error', 'warning', 'notice', 'info', 'debug']).toContain(c.logLevel);
  }

  it('arbitrary text', () => fc.assert(fc.property(fc.oneof(anyText, tokenSoup(words)), check), params), TIMEOUT);
  it('mutated samples', () => fc.assert(fc.property(mutatedText([sample]), check), params), TIMEOUT);
});
