import { describe, expect, it } from 'vitest';
import { parseShowMaps, type ShowMaps } from '../../../src/sources/multipathd/maps-json';
import { SimTopology } from '../../../src/sim/topology';
import { fixture } from '../../helpers/fixtures';

function read(text: string): ShowMaps {
  const r = parseShowMaps(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const recorded = (name: string) => read(fixture(`multipathd-0.9.4/${name}`));
const paths = (m: ShowMaps['maps'][number]) => m.groups.flatMap((g) => g.paths);

describe('show maps json from multipathd 0.9.4', () => {
  it('reads the healthy 2x2 system completely', () => {
    const doc = recorded('show-maps-2x2.json');
    expect(doc.repaired).toBe(false);
    expect(doc.warnings).toEqual([]);
    expect(doc.maps.map((m) => [m.name, m.wwid, m.sysfs, m.numPaths])).toEqual([
      ['mpatha', '1Linux_scsi_debug_2000', 'dm-0', 2],
      ['mpathb', '1Linux_scsi_debug_2001', 'dm-1', 2],
    ]);
    const a = doc.maps[0];
    expect(a).toMatchObject({
      failback: '-',
      queueing: '-',
      writeProt: 'rw',
      dmState: 'active',
      features: '0',
      hwhandler: '1 alua',
      pathFaults: 0,
      vendor: 'Linux',
      product: 'scsi_debug',
      revision: '0191',
      switchGroup: 0,
      mapLoads: 1,
      totalQTime: 0,
      qTimeouts: 0,
    });
    expect(a.groups.map((g) => [g.number, g.selector, g.priority, g.dmState, g.marginal])).toEqual([
      [1, 'service-time 0', 50, 'enabled', false],
      [2, 'service-time 0', 10, 'enabled', false],
    ]);
    expect(a.groups[1].paths[0]).toEqual({
      dev: 'sdc',
      devT: '8:32',
      dmState: 'active',
      devState: 'running',
      checkerState: 'ready',
      checker: 'tur',
      priority: 10,
      hostWwnn: '[undef]',
      hostWwpn: '[undef]',
      targetWwnn: '[undef]',
      targetWwpn: '[undef]',
      hostAdapter: '[undef]',
      lun: '0x0000000000000000',
      marginal: false,
    });
  });

  it('reads 16 maps of 4 paths, one path per group', () => {
    const doc = recorded('show-maps-16x4.json');
    expect(doc.maps).toHaveLength(16);
    expect(doc.maps.every((m) => m.numPaths === 4 && paths(m).length === 4 && m.groups.length === 4)).toBe(true);
    expect(new Set(doc.maps.flatMap((m) => paths(m).map((p) => p.devT))).size).toBe(64);
    expect(doc.maps[0].groups.map((g) => [g.priority, paths(doc.maps[0])[g.number - 1].dev])).toEqual([
      [50, 'sda'],
      [50, 'sdaw'],
      [10, 'sdq'],
      [1, 'sdag'],
    ]);
  });

  it('shows sda failed by the operator: failed in dm, faulty for the checker, one path left', () => {
    const a = recorded('show-maps-2x2-one-failed.json').maps[0];
    expect(a.numPaths).toBe(1);
    expect(a.pathFaults).toBe(1);
    expect(paths(a).find((p) => p.dev === 'sda')).toMatchObject({ dmState: 'failed', checkerState: 'faulty', devState: 'running' });
    expect(a.groups.map((g) => [g.dmState, g.priority])).toEqual([
      ['enabled', 0],
      ['active', 10],
    ]);
  });

  it("shows host1's devices offline", () => {
    const doc = recorded('show-maps-2x2-host1-offline.json');
    const offline = doc.maps.flatMap(paths).filter((p) => p.devState === 'offline');
    expect(offline.map((p) => [p.dev, p.dmState, p.checkerState])).toEqual([
      ['sdc', 'failed', 'faulty'],
      ['sdd', 'failed', 'faulty'],
    ]);
  });

  it('lists only mpatha after del map mpathb', () => {
    expect(recorded('show-maps-after-del-map.json').maps.map((m) => m.name)).toEqual(['mpatha']);
  });
});

describe('unescaped strings (multipathd 0.9.4 does not escape)', () => {
  const doc = read(fixture('adversarial/show-maps-unescaped-quote.json'));

  it('keeps both maps, with vendor, product and wwid exactly as multipathd holds them', () => {
    expect(doc.repaired).toBe(true);
    expect(doc.maps.map((m) => [m.name, m.vendor, m.product, m.wwid])).toEqual([
      ['mpatha', 'ACME', 'Disk "Q\\1', '1ACME_Disk_\\x22Q\\x5c1_2000'],
      ['mpathb', 'ACME', 'Disk "Q\\1', '1ACME_Disk_\\x22Q\\x5c1_2001'],
    ]);
    expect(doc.warnings).toHaveLength(1);
    expect(doc.warnings[0]).toMatch(/not valid JSON/);
  });

  it('reads the rest of such a document as a valid one would be read', () => {
    const b = doc.maps[1];
    expect(b).toMatchObject({ numPaths: 1, pathFaults: 1, hwhandler: '1 alua', revision: '0191' });
    expect(paths(b).map((p) => [p.dev, p.devT, p.dmState, p.checkerState, p.priority, p.lun])).toEqual([
      ['sdb', '8:16', 'active', 'ready', 50, '0x0001000000000000'],
      ['sdd', '8:48', 'failed', 'faulty', 10, '0x0001000000000000'],
    ]);
  });

  it.each(['show-maps-2x2.json', 'show-maps-2x2-one-failed.json', 'show-maps-2x2-host1-offline.json', 'show-maps-after-del-map.json', 'show-maps-16x4.json'])(
    'reads %s line by line exactly as JSON.parse reads it',
    (name) => {
      const text = fixture(`multipathd-0.9.4/${name}`);
      // One raw quote in every product makes the document invalid JSON.
      const broken = read(text.replaceAll('"prod" : "scsi_debug"', '"prod" : "scsi"debug"'));
      expect(broken.repaired).toBe(true);
      expect(broken.maps.every((m) => m.product === 'scsi"debug')).toBe(true);
      const restored = broken.maps.map((m) => ({ ...m, product: 'scsi_debug' }));
      expect(restored).toEqual(read(text).maps);
    },
  );

  it('takes any raw text up to the last quote of its line', () => {
    const text = fixture('multipathd-0.9.4/show-maps-2x2.json').replace('"prod" : "scsi_debug"', '"prod" : "a", "b": "c\\"');
    expect(read(text).maps[0].product).toBe('a", "b": "c\\');
  });
});

describe('raw control characters in strings (multipathd 0.9.4 does not escape them either)', () => {
  const text = fixture('multipathd-0.9.4/show-maps-2x2.json');
  const clean = read(text).maps;

  it.each([
    ['a newline', 'Li\nnux'],
    ['newlines at both ends and blanks beside them', '\n Li \n'],
    ['a newline and an unescaped quote', 'L"i\nnux'],
    ['an escape sequence, a tab, a carriage return', 'Li\x1b[2J\tn\rux'],
  ])('%s in one vendor costs nothing: both maps, that vendor exactly as multipathd holds it', (_what, vendor) => {
    const doc = read(text.replace('"vend" : "Linux"', `"vend" : "${vendor}"`));
    expect(doc.repaired).toBe(true);
    expect(doc.maps.map((m) => m.vendor)).toEqual([vendor, 'Linux']);
    expect(doc.maps.map((m) => ({ ...m, vendor: 'Linux' }))).toEqual(clean);
  });

  it('a value that never closes is still an unreadable reply, said where it starts', () => {
    const cut = text.slice(0, text.indexOf('"vend" : "Linux"') + '"vend" : "Li'.length) + '\nnux';
    expect(parseShowMaps(cut)).toEqual({ ok: false, error: expect.stringMatching(/line 17: unterminated string for key "vend"/) });
  });
});

describe('defensive reading', () => {
  const doc = (maps: string) => `{"major_version": 0, "minor_version": 1, "maps": [${maps}]}`;

  it('fills missing fields with neutral values and says which, once per field and level', () => {
    const r = read(doc('{"name": "m1", "path_groups": [{"paths": [{"dev": "sda"}, {"dev": "sdb"}]}]}'));
    const m = r.maps[0];
    expect(m).toMatchObject({ name: 'm1', wwid: '', numPaths: 0, vendor: '' });
    expect(m.groups[0]).toMatchObject({ number: 1, selector: '', priority: 0, marginal: false });
    expect(m.groups[0].paths.map((p) => [p.dev, p.devT, p.priority, p.marginal])).toEqual([
      ['sda', '', 0, false],
      ['sdb', '', 0, false],
    ]);
    expect(r.warnings).toContain('map: "uuid" missing');
    expect(r.warnings).toContain('path: "dev_t" missing (2 times)');
    expect(r.warnings).toContain('path group: "group" missing');
  });

  it('accepts numbers written as strings and reads marginal paths', () => {
    const r = read(doc('{"name": "m", "uuid": "u", "paths": "3", "path_groups": [{"group": "2", "pri": "-1", "marginal_st": "marginal", "paths": [{"dev": "sda", "pri": "50", "marginal_st": "marginal"}]}]}'));
    expect(r.maps[0].numPaths).toBe(3);
    expect(r.maps[0].groups[0]).toMatchObject({ number: 2, priority: -1, marginal: true });
    expect(r.maps[0].groups[0].paths[0]).toMatchObject({ priority: 50, marginal: true });
  });

  it('ignores fields it does not know', () => {
    const r = read(doc('{"name": "m", "uuid": "u", "new_field": {"x": [1, 2]}, "path_groups": []}'));
    expect(r.maps[0].name).toBe('m');
    expect(r.warnings.some((w) => w.includes('new_field'))).toBe(false);
  });

  it('drops a map with neither name nor uuid, and says so', () => {
    const r = read(doc('{"sysfs": "dm-9"}, {"name": "kept", "uuid": "u"}'));
    expect(r.maps.map((m) => m.name)).toEqual(['kept']);
    expect(r.warnings.some((w) => /neither "name" nor "uuid"/.test(w))).toBe(true);
  });

  it('warns about values of the wrong kind instead of using them', () => {
    const r = read(doc('{"name": "m", "uuid": "u", "paths": -2, "path_faults": "many", "vend": {"a": 1}, "path_groups": {}}'));
    expect(r.maps[0]).toMatchObject({ numPaths: 0, pathFaults: 0, vendor: '', groups: [] });
    expect(r.warnings).toEqual(
      expect.arrayContaining(['map: "paths" is not a non-negative integer', 'map: "path_faults" is not a non-negative integer', 'map: "vend" is not a string', 'map: "path_groups" is not a list']),
    );
  });

  it('reads an empty map list', () => {
    expect(read('{\n   "major_version": 0,\n   "minor_version": 1,\n   "maps": []\n}\n').maps).toEqual([]);
  });

  it.each([
    ['', /empty document/],
    ['[]', /not a JSON object/],
    ['{"maps": 3}', /no "maps" list/],
    [fixture('adversarial/show-maps-unescaped-quote.json').split('\n').slice(0, 60).join('\n'), /ends inside 7 open bracket\(s\): truncated/],
    ['{\n"maps": [{\n"name" : "a"\n}]\n}\ntrailing', /line 6: text after the end/],
    ['{\n"prod" : "unterminated\n}', /line 2: unterminated string/],
    ['{\n"x" \n}', /line 2: no ":"/],
    ['{\n}}', /line 2: unbalanced/],
  ])('refuses %#, saying why', (text, error) => {
    const r = parseShowMaps(text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(error);
  });

  it('refuses absurd nesting before JSON.parse spends a gigabyte on it', () => {
    const deep = '['.repeat(4_000_000) + ']'.repeat(4_000_000);
    expect(parseShowMaps(deep)).toEqual({ ok: false, error: 'brackets nest deeper than 32 levels: not a map list' });
  });

  // Printed as multipathd 0.9.4 prints it (the simulator's layout, strings unescaped).
  it.each([
    ['valid JSON', '[scsi', false],
    ['unescaped quotes', 'sc"[si', true],
  ])('brackets inside 30 products are content, not nesting (%s)', (_, product, repaired) => {
    const text = new SimTopology({ maps: 30, pathsPerMap: 2, vendor: 'AC[ME', product }).showMapsJson();
    const r = read(text);
    expect(r.repaired).toBe(repaired);
    expect(r.maps).toHaveLength(30);
    expect(r.maps.every((m) => m.product === product && m.vendor === 'AC[ME')).toBe(true);
  });

  it('refuses absurd nesting in the line layout too', () => {
    const deep = `{\n"maps": ${'[\n'.repeat(40)}${']\n'.repeat(40)}}\n`;
    expect(parseShowMaps(deep)).toEqual({ ok: false, error: 'brackets nest deeper than 32 levels: not a map list' });
    const quoted = `{\n"x" : "a"b",\n"maps": ${'[\n'.repeat(40)}${']\n'.repeat(40)}}\n`;
    expect(parseShowMaps(quoted)).toEqual({ ok: false, error: 'brackets nest deeper than 32 levels: not a map list' });
  });

  it('reads a large reply (1000 maps) in one pass', () => {
    const one = fixture('adversarial/show-maps-unescaped-quote.json');
    const body = one.slice(one.indexOf('[{') + 1, one.lastIndexOf(']'));
    const text = `{\n"major_version": 0,\n"maps": [${Array(500).fill(body).join(',')}]\n}\n`;
    const r = read(text);
    expect(r.repaired).toBe(true);
    expect(r.maps).toHaveLength(1000);
  });
});

describe('fuzz regressions', () => {
  it('a major_version that is a list (read line by line, no prototype) is a warning, not a throw (seed 935143756)', () => {
    const text = '{\n   "major_version": [{\n      "name" :\u0000"mpatha",\n   "maps": []\n}\n';
    expect(() => parseShowMaps(text)).not.toThrow();
    const doc = '{\n   "major_version": [{\n      "name" : "x"\n   }],\n   "maps": [{\n      "name" : "mpatha",\n      "uuid" : "3600\\x22",\n      "path_groups": []\n   }]\n}\n';
    const r = parseShowMaps(doc);
    expect(r.ok && r.value.warnings.join()).toMatch(/major_version \(not a number\)/);
  });
});
