// The simulator tells one story three ways — kernel datagrams, device-mapper status and
// multipathd's JSON — and each must look like the real thing recorded in test/fixtures.
import { afterAll, describe, expect, it } from 'vitest';
import { parseMultipathStatus, parseMultipathTable } from '../../src/sources/device-mapper/multipath-status';
import { parseUevent, splitUevent } from '../../src/sources/uevents/parse';
import { MultipathdClient, type MultipathdError } from '../../src/sources/multipathd/client';
import { parseShowMaps } from '../../src/sources/multipathd/maps-json';
import { NativeError } from '../../src/native/addon';
import { parseCommand } from '../../src/sim/commands';
import { mpathName, sdDevT, sdName, simWwid } from '../../src/sim/naming';
import { MultipathdSimulator } from '../../src/sim/simulator';
import { fixture, recordedDatagrams } from '../helpers/fixtures';
import type { KernelEvent, MpdMap } from '../../src/model/readings';

const sim = (topology: ConstructorParameters<typeof MultipathdSimulator>[0]['topology'] = 'small') =>
  new MultipathdSimulator({ socket: '@unused', topology });

function json(s: MultipathdSimulator): MpdMap[] {
  const r = parseShowMaps(s.showMapsJson());
  if (!r.ok) throw new Error(r.error);
  return r.value.maps;
}

function event(d: Buffer): KernelEvent {
  const p = parseUevent(d);
  if (p.kind !== 'event') throw new Error(`not an event: ${JSON.stringify(p)}`);
  return p.event;
}

function status(s: MultipathdSimulator, name: string) {
  const [line] = s.dmTableStatus(name, false);
  const r = parseMultipathStatus(line.params);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** Every map: the dm status and the JSON say the same about each path and group. */
function expectAgreement(s: MultipathdSimulator) {
  const maps = json(s);
  expect(maps.map((m) => m.name)).toEqual(s.dmListDevices().map((d) => d.name));
  for (const m of maps) {
    const st = status(s, m.name);
    expect(m.groups.map((g) => g.dmState)).toEqual(st.groups.map((g) => g.state));
    for (const [i, g] of m.groups.entries()) {
      expect(g.paths.map((p) => [p.devT, p.dmState === 'active'])).toEqual(st.groups[i].paths.map((p) => [p.devT, p.active]));
      expect(g.paths.map((p) => (p.dmState === 'failed' ? 'faulty' : 'ready'))).toEqual(g.paths.map((p) => p.checkerState));
    }
    const all = st.groups.flatMap((g) => g.paths);
    expect(m.numPaths).toBe(all.filter((p) => p.active).length);
    expect(m.pathFaults).toBe(all.reduce((n, p) => n + p.failCount, 0));
  }
}

const keys = (d: Buffer) => {
  const r = splitUevent(d);
  if (!r.ok) throw new Error(r.error);
  return [...r.value.vars.keys()];
};

describe('simulated kernel datagrams', () => {
  it('carry the same keys in the same order as the recorded ones', () => {
    const recorded = recordedDatagrams().filter((d) => d.includes('DM_ACTION=PATH_FAILED'));
    const s = sim();
    expect(keys(s.failPath('sda')[0])).toEqual(keys(recorded[0]));
    const recordedRemoves = recordedDatagrams().filter((d) => d.toString('latin1').startsWith('remove@/devices/virtual/block/dm-'));
    expect(s.removeMap('mpathb').map(keys)).toEqual(recordedRemoves.map(keys));
  });

  it('fail and reinstate: per-map DM_SEQNUM, global SEQNUM, valid paths after the change', () => {
    const s = sim({ maps: 2, pathsPerMap: 3 });
    const [a, b] = s.maps();
    const events = [
      ...s.failPath(a.paths[0].dev),
      ...s.failPath(b.paths[2].dev),
      ...s.failPath(a.paths[1].dev),
      ...s.reinstatePath(a.paths[0].dev),
    ].map(event);
    expect(events.map((e) => e.kind === 'path' && [e.mapName, e.action, e.pathDevT, e.validPaths, e.dmSeqnum])).toEqual([
      ['mpatha', 'failed', a.paths[0].devT, 2, 1],
      ['mpathb', 'failed', b.paths[2].devT, 2, 1],
      ['mpatha', 'failed', a.paths[1].devT, 1, 2],
      ['mpatha', 'reinstated', a.paths[0].devT, 2, 3],
    ]);
    const seqnums = events.map((e) => e.seqnum);
    expect(seqnums).toEqual(seqnums.map((_, i) => seqnums[0] + i));
    expect(events[0]).toMatchObject({ wwid: a.wwid, sysfs: a.sysfs, mapDevT: a.devT });
  });

  it('say nothing when nothing changes, as the kernel does', () => {
    const s = sim();
    s.failPath('sda');
    expect(s.failPath('sda')).toEqual([]);
    expect(s.reinstatePath('sdb')).toEqual([]);
    expect(s.failPath('sdzz')).toEqual([]);
  });

  it('del/add map: removes and add+change without DM_UUID; the new device counts DM_SEQNUM from 1', () => {
    const s = sim();
    s.failPath('sdc');
    const removedRaw = s.removeMap('mpathb');
    const removed = removedRaw.map(event);
    expect(removed.map((e) => [e.kind, e.kind === 'map' && e.action, e.kind === 'map' && e.wwid])).toEqual([
      ['map', 'remove', undefined],
      ['map', 'remove', undefined],
    ]);
    expect(s.maps().map((m) => m.name)).toEqual(['mpatha']);
    expect(s.dmListDevices().map((d) => d.name)).toEqual(['mpatha']);
    expect(() => s.dmTableStatus('mpathb', false)).toThrow(NativeError);
    expect(s.failPath('sdc')).toEqual([]);

    const addedRaw = s.addMap('mpathb');
    const added = addedRaw.map(event);
    // A new disk, so a new DISKSEQ.
    const diskseq = (d: Buffer) => Number(/\0DISKSEQ=(\d+)\0/.exec(d.toString('latin1'))![1]);
    expect(diskseq(addedRaw[0])).toBeGreaterThan(diskseq(removedRaw[0]));
    expect(added.map((e) => e.kind === 'map' && [e.action, e.sysfs, e.wwid])).toEqual([
      ['add', 'dm-1', undefined],
      ['change', 'dm-1', undefined],
    ]);
    expect(event(s.failPath('sdd')[0])).toMatchObject({ mapName: 'mpathb', dmSeqnum: 1, validPaths: 1 });
  });
});

describe('simulated device-mapper view and JSON', () => {
  it('agree after every fail and reinstate, including losing every path', () => {
    const s = sim({ maps: 3, pathsPerMap: 4, groupsPerMap: 2 });
    expectAgreement(s);
    const devs = s.maps().flatMap((m) => m.paths.map((p) => p.dev));
    for (const dev of devs) {
      s.failPath(dev);
      expectAgreement(s);
    }
    for (const dev of devs.reverse()) {
      s.reinstatePath(dev);
      expectAgreement(s);
    }
  });

  it('keep the group dm-mpath switched to after a failure, as recorded (failback is multipathd\'s business)', () => {
    const s = sim();
    s.failPath('sda');
    s.reinstatePath('sda');
    // The recorded kernel, same sequence on mpatha (whose second path is 8:32 there).
    const recorded = fixture('kernel-6.1/dmsetup-status.txt').split('\n')[0].replace(/^mpatha: 0 16384 multipath /, '').trim();
    expect(s.dmTableStatus('mpatha', false)[0].params.replace('8:16', '8:32')).toBe(recorded);
  });

  it("have no active group once every path failed, and take the first group back with a usable path", () => {
    const s = sim({ maps: 1, pathsPerMap: 4 });
    for (const p of s.maps()[0].paths) s.failPath(p.dev);
    expect(status(s, 'mpatha').groups.map((g) => g.state)).toEqual(['enabled', 'enabled']);
    s.reinstatePath(s.maps()[0].paths[3].dev);
    expect(s.maps()[0].activeGroup).toBe(2);
    expect(json(s)[0].groups.map((g) => [g.dmState, g.priority])).toEqual([
      ['enabled', 0],
      ['active', 10],
    ]);
  });

  it('the table lists the same paths and groups as the status', () => {
    const s = sim({ maps: 1, pathsPerMap: 4, groupsPerMap: 2 });
    const t = parseMultipathTable(s.dmTableStatus('mpatha', true)[0].params);
    if (!t.ok) throw new Error(t.error);
    expect(t.value).toMatchObject({ features: '0', hardwareHandler: '1 alua', initialGroup: 1 });
    expect(t.value.groups.map((g) => g.paths.map((p) => p.devT))).toEqual(status(s, 'mpatha').groups.map((g) => g.paths.map((p) => p.devT)));
  });

  it("prints the JSON in multipathd 0.9.4's layout, line for line", () => {
    const shape = (text: string) => text.replace(/: "[^"\n]*"/g, ': "S"').replace(/: \d+/g, ': N');
    expect(shape(sim().showMapsJson())).toBe(shape(fixture('multipathd-0.9.4/show-maps-2x2.json')));
  });

  it('after fail path, the failed map reads as the recorded one does', () => {
    const s = sim();
    s.failPath('sda');
    const strip = (m: MpdMap) => ({
      ...m,
      name: '',
      wwid: '',
      groups: m.groups.map((g) => ({ ...g, paths: g.paths.map((p) => ({ ...p, dev: '', devT: '', lun: '' })) })),
    });
    const recorded = parseShowMaps(fixture('multipathd-0.9.4/show-maps-2x2-one-failed.json'));
    if (!recorded.ok) throw new Error(recorded.error);
    expect(strip(json(s)[0])).toEqual(strip(recorded.value.maps[0]));
  });

  it('prints an unescaped product as multipathd 0.9.4 does: invalid JSON the parser still reads', () => {
    const s = sim();
    s.setVendorProduct('ACME', 'Disk "Q\\1');
    expect(() => JSON.parse(s.showMapsJson())).toThrow();
    const r = parseShowMaps(s.showMapsJson());
    expect(r.ok && r.value.repaired).toBe(true);
    expect(r.ok && r.value.maps.map((m) => m.product)).toEqual(['Disk "Q\\1', 'Disk "Q\\1']);
  });

  it('builds 1000 maps x 4 paths with unique names, wwids and dev_ts', () => {
    const s = sim({ maps: 1000, pathsPerMap: 4 });
    const maps = s.maps();
    expect(new Set(maps.map((m) => m.wwid)).size).toBe(1000);
    expect(new Set(maps.map((m) => m.name)).size).toBe(1000);
    expect(new Set(maps.flatMap((m) => m.paths.map((p) => p.devT))).size).toBe(4000);
    expect(maps[999]).toMatchObject({ name: 'mpathall', sysfs: 'dm-999', devT: '254:999' });
  });
});

describe('kernel-like names', () => {
  it('numbers sd disks as the sd driver does', () => {
    expect([0, 25, 26, 701, 702].map(sdName)).toEqual(['sda', 'sdz', 'sdaa', 'sdzz', 'sdaaa']);
    // sdq is 65:0, sddy 128:0, sdiw 8:256: majors by bits 4-7 of the index, the rest in the minor.
    expect([0, 1, 16, 127, 128, 255, 256, 4000].map(sdDevT)).toEqual(['8:0', '8:16', '65:0', '71:240', '128:0', '135:240', '8:256', '130:3840']);
  });

  it('names maps as user_friendly_names does, with 33-character NAA-6 style wwids', () => {
    expect([0, 25, 26].map(mpathName)).toEqual(['mpatha', 'mpathz', 'mpathaa']);
    expect(simWwid(0)).toMatch(/^3[0-9a-f]{32}$/);
  });
});

describe("multipathd 0.9.4's command language, over the socket", () => {
  const clients: MultipathdClient[] = [];
  const sims: MultipathdSimulator[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of sims) await s.close();
  });
  async function served() {
    const s = new MultipathdSimulator({ socket: `@mpdbus-sim-test-${process.pid}-${sims.length}`, topology: 'small' });
    await s.listen();
    const c = new MultipathdClient({ socket: s.socket });
    sims.push(s);
    clients.push(c);
    return { s, ask: (command: string) => c.request(command) };
  }

  it('resolves aliases and unique prefixes', () => {
    expect(parseCommand('list multipaths json')).toMatchObject({ ok: true, shape: 'LIST MAPS JSON' });
    expect(parseCommand('show statu')).toMatchObject({ ok: true, shape: 'LIST STATUS' });
    expect(parseCommand('li multipaths js')).toMatchObject({ ok: true, shape: 'LIST MAPS JSON' });
    expect(parseCommand('remove multipath mpatha')).toEqual({ ok: true, shape: 'DEL MAP', param: 'mpatha', params: { MAP: 'mpatha' } });
    // Ambiguous: status or stats; show, switch, suspend...
    expect(parseCommand('show st')).toEqual({ ok: false, reply: expect.stringMatching(/^show st: not found\n/) });
    expect(parseCommand('s maps')).toEqual({ ok: false, reply: 'fail\n' });
  });

  it('answers an unknown command with the "not found" line, its version and the command reference', async () => {
    const { ask } = await served();
    const reply = await ask('show version');
    expect(reply.split('\n').slice(0, 3)).toEqual(['show version: not found', 'multipath-tools v0.9.4 (12/19, 2022)', 'CLI commands reference:']);
    expect(reply).toContain('\n list|show maps|multipaths json\n');
    expect(reply).toContain('\n fail path $path\n');
    expect(await ask('fail path')).toMatch(/^fail path: Missing argument\n/);
    expect(await ask('show bogus json')).toBe('fail\n');
  });

  it('fail/reinstate by name, /dev path or dev_t; del map only what exists; add map only what it knows', async () => {
    const { s, ask } = await served();
    expect(await ask('fail path /dev/sda')).toBe('ok\n');
    expect(await ask('reinstate path 8:0')).toBe('ok\n');
    expect(await ask('fail path sdx')).toBe('fail\n');
    expect(await ask('del map mpathb')).toBe('ok\n');
    expect(await ask('del map mpathb')).toBe('fail\n');
    expect(await ask('add map mpathb')).toBe('ok\n');
    expect(await ask('add map mpathq')).toBe('fail\n');
    expect(s.emitted.map((d) => d.toString('latin1').split('@')[0])).toEqual(['change', 'change', 'remove', 'remove', 'add', 'change']);
  });

  it('switchgroup takes a dm name only and a group that exists; dm-mpath then names it next, with no uevent', async () => {
    const { s, ask } = await served();
    expect(await ask('switchgroup map dm-0 group 2')).toBe('fail\n');
    expect(await ask('switchgroup map mpatha group 3')).toBe('fail\n');
    expect(await ask('switch map mpatha group 2')).toBe('ok\n');
    const st = status(s, 'mpatha');
    expect([st.nextGroup, st.groups.map((g) => g.state)]).toEqual([2, ['enabled', 'enabled']]);
    expect(json(s)[0].groups.map((g) => g.dmState)).toEqual(['enabled', 'enabled']);
    expect(s.emitted).toEqual([]);
    expectAgreement(s);
  });

  it('disablequeueing / restorequeueing change no_path_retry and the table features, with no uevent', async () => {
    const s = new MultipathdSimulator({ socket: `@mpdbus-sim-q-${process.pid}`, topology: { maps: 1, pathsPerMap: 2, noPathRetry: 'queue' } });
    sims.push(s);
    await s.listen();
    const c = new MultipathdClient({ socket: s.socket });
    clients.push(c);
    const table = () => parseMultipathTable(s.dmTableStatus('mpatha', true)[0].params);
    expect([json(s)[0].queueing, json(s)[0].features, table()]).toMatchObject(['on', '1 queue_if_no_path', { ok: true, value: { features: '1 queue_if_no_path' } }]);
    expect(await c.request('disablequeueing map dm-0')).toBe('ok\n');
    expect([json(s)[0].queueing, json(s)[0].features, table()]).toMatchObject(['off', '0', { ok: true, value: { features: '0' } }]);
    expect(await c.request('restorequeueing map mpatha')).toBe('ok\n');
    expect([json(s)[0].queueing, json(s)[0].features]).toEqual(['on', '1 queue_if_no_path']);
    expect(await c.request('disablequeueing map mpathq')).toBe('fail\n');
    expect(s.emitted).toEqual([]);
  });

  it('reconfigure loads the edited no_path_retry into every map, ends a disablequeueing, and reloads the maps whose features change', async () => {
    const s = new MultipathdSimulator({ socket: `@mpdbus-sim-r-${process.pid}`, topology: { maps: 2, pathsPerMap: 2, noPathRetry: 'queue' } });
    sims.push(s);
    await s.listen();
    const c = new MultipathdClient({ socket: s.socket });
    clients.push(c);
    const shown = () => json(s).map((m) => [m.queueing, m.features, m.mapLoads]);
    expect(await c.request('disablequeueing map mpatha')).toBe('ok\n');
    s.editConfig({ noPathRetry: 12 });
    expect(shown()).toEqual([['off', '0', 1], ['on', '1 queue_if_no_path', 1]]);
    expect(await c.request('reconfigure')).toBe('ok\n');
    // mpathb queued before and after: its table is the same, so it is not reloaded.
    expect(shown()).toEqual([['12 chk', '1 queue_if_no_path', 2], ['12 chk', '1 queue_if_no_path', 1]]);
    expect(s.emitted.map((d) => event(d))).toEqual([expect.objectContaining({ kind: 'map', action: 'change', sysfs: 'dm-0' })]);
    // restorequeueing brings back what was loaded, not what the file said before.
    expect(await c.request('disablequeueing map mpathb')).toBe('ok\n');
    expect(await c.request('restorequeueing map mpathb')).toBe('ok\n');
    expect(json(s)[1].queueing).toBe('12 chk');
    expect(s.reconfigures).toBe(1);
  });

  it('resize reloads only a map whose disks changed size, announced by a change event; reconfigure answers ok', async () => {
    const { s, ask } = await served();
    expect(await ask('resize map mpatha')).toBe('ok\n');
    expect(s.emitted).toEqual([]);
    s.setDiskSize('mpatha', 32768);
    expect(await ask('resize map dm-0')).toBe('ok\n');
    expect(s.dmTableStatus('mpatha', false)[0].length).toBe(32768);
    expect(json(s)[0].mapLoads).toBe(2);
    expect(s.emitted.map((d) => event(d))).toEqual([expect.objectContaining({ kind: 'map', action: 'change', sysfs: 'dm-0' })]);
    expect(await ask('reconfigure')).toBe('ok\n');
    expect(s.reconfigures).toBe(1);
  });

  it('lists maps in columns, and shows the config', async () => {
    const { ask } = await served();
    expect(await ask('show maps')).toBe(`name   sysfs uuid\nmpatha dm-0  ${simWwid(0)}\nmpathb dm-1  ${simWwid(1)}\n`);
    expect(await ask('show config')).toMatch(/^defaults \{\n/);
  });

  it('drops a client whose command is longer than 512 bytes, as multipathd does', async () => {
    const { ask } = await served();
    expect((await ask(`show ${'x'.repeat(600)}`).catch((e: MultipathdError) => e.kind))).toBe('closed');
  });
});
