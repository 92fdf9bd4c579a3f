import { describe, expect, it } from 'vitest';
import { readUeventRecording } from '../../../src/sources/uevents/recording';
import { parseUevent, splitUevent } from '../../../src/sources/uevents/parse';
import { recordedDatagrams } from '../../helpers/fixtures';
import type { KernelEvent } from '../../../src/model/readings';

const WWID_A = '1Linux_scsi_debug_2000';
const WWID_B = '1Linux_scsi_debug_2001';

function datagram(header: string, vars: Record<string, string>): Buffer {
  return Buffer.from([header, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), ''].join('\0'), 'utf8');
}

const failedSda = {
  ACTION: 'change',
  DEVPATH: '/devices/virtual/block/dm-0',
  SUBSYSTEM: 'block',
  DM_TARGET: 'multipath',
  DM_ACTION: 'PATH_FAILED',
  DM_SEQNUM: '1',
  DM_PATH: '8:0',
  DM_NR_VALID_PATHS: '1',
  DM_NAME: 'mpatha',
  DM_UUID: `mpath-${WWID_A}`,
  MAJOR: '254',
  MINOR: '0',
  DEVNAME: 'dm-0',
  SEQNUM: '771',
};
const HEADER = 'change@/devices/virtual/block/dm-0';

describe('recorded kernel datagrams', () => {
  const parsed = recordedDatagrams().map((d) => parseUevent(d));

  it('reads all 21 datagrams of the recording', () => {
    expect(parsed).toHaveLength(21);
  });

  it('turns each datagram into exactly the event it holds', () => {
    const path = (action: 'failed' | 'reinstated', wwid: string, mapName: string, n: number, pathDevT: string, validPaths: number, dmSeqnum: number, seqnum: number): KernelEvent => ({
      kind: 'path',
      action,
      wwid,
      mapName,
      sysfs: `dm-${n}`,
      mapDevT: `254:${n}`,
      pathDevT,
      validPaths,
      dmSeqnum,
      seqnum,
    });
    const map = (action: 'add' | 'remove' | 'change', n: number, seqnum: number): KernelEvent => ({ kind: 'map', action, sysfs: `dm-${n}`, mapDevT: `254:${n}`, seqnum });
    const ignored = { kind: 'ignored' };
    expect(parsed).toEqual([
      ignored, // module dm_service_time
      ignored, // module scsi_dh_alua
      ignored, // bdi 254:0
      { kind: 'event', event: map('add', 0, 762) },
      { kind: 'event', event: map('change', 0, 763) },
      ignored, // sda
      ignored, // sdc
      ignored, // bdi 254:1
      { kind: 'event', event: map('add', 1, 767) },
      { kind: 'event', event: map('change', 1, 768) },
      ignored, // sdb
      ignored, // sdd
      { kind: 'event', event: path('failed', WWID_A, 'mpatha', 0, '8:0', 1, 1, 771) },
      { kind: 'event', event: path('reinstated', WWID_A, 'mpatha', 0, '8:0', 2, 2, 772) },
      { kind: 'event', event: path('failed', WWID_A, 'mpatha', 0, '8:32', 1, 3, 773) },
      { kind: 'event', event: path('failed', WWID_B, 'mpathb', 1, '8:48', 1, 1, 774) },
      { kind: 'event', event: path('reinstated', WWID_A, 'mpatha', 0, '8:32', 2, 4, 775) },
      { kind: 'event', event: path('reinstated', WWID_B, 'mpathb', 1, '8:48', 2, 2, 776) },
      // `del map` removes dm-1 twice: once from device-mapper (with the udev cookie), once from the block layer.
      { kind: 'event', event: map('remove', 1, 777) },
      ignored, // bdi 254:1
      { kind: 'event', event: map('remove', 1, 779) },
    ]);
  });

  it('splits a datagram into its header and variables', () => {
    const split = splitUevent(recordedDatagrams()[12]);
    expect(split.ok && split.value.header).toBe(HEADER);
    expect(split.ok && Object.fromEntries(split.value.vars)).toMatchObject({ DM_ACTION: 'PATH_FAILED', DM_PATH: '8:0', SEQNUM: '771' });
  });
});

describe('readUeventRecording', () => {
  it('says where a recording is cut short', () => {
    const whole = Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('a@b')]);
    expect(readUeventRecording(whole).map(String)).toEqual(['a@b']);
    expect(() => readUeventRecording(whole.subarray(0, 5))).toThrow(/offset 0 says 3 bytes, only 1 left/);
    expect(() => readUeventRecording(Buffer.concat([whole, Buffer.from([1, 0])]))).toThrow(/2 stray bytes at offset 7/);
  });
});

describe('parseUevent', () => {
  it('reads a path event built by hand the same way as the recorded one', () => {
    const p = parseUevent(datagram(HEADER, failedSda));
    expect(p).toEqual({
      kind: 'event',
      event: { kind: 'path', action: 'failed', wwid: WWID_A, mapName: 'mpatha', sysfs: 'dm-0', mapDevT: '254:0', pathDevT: '8:0', validPaths: 1, dmSeqnum: 1, seqnum: 771 },
    });
  });

  it.each(['DM_SEQNUM', 'DM_NR_VALID_PATHS', 'SEQNUM', 'DM_PATH', 'DM_UUID', 'DM_NAME', 'MAJOR'])('names the missing key %s', (key) => {
    const vars: Record<string, string> = { ...failedSda };
    delete vars[key];
    const p = parseUevent(datagram(HEADER, vars));
    expect(p.kind).toBe('malformed');
    expect(p.kind === 'malformed' && p.reason).toContain(key);
  });

  it.each([
    ['DM_SEQNUM', 'x1'],
    ['DM_SEQNUM', '-1'],
    ['DM_NR_VALID_PATHS', '1.5'],
    ['SEQNUM', '99999999999999999999'],
    ['DM_SEQNUM', ''],
    ['DM_PATH', 'sda'],
  ])('names %s when its value %j is not a usable number', (key, value) => {
    const p = parseUevent(datagram(HEADER, { ...failedSda, [key]: value }));
    expect(p.kind).toBe('malformed');
    expect(p.kind === 'malformed' && p.reason).toContain(key);
  });

  it('refuses a header whose action differs from ACTION', () => {
    const p = parseUevent(datagram('add@/devices/virtual/block/dm-0', failedSda));
    expect(p).toMatchObject({ kind: 'malformed', reason: expect.stringContaining('ACTION') });
  });

  it('refuses a header whose devpath differs from DEVPATH', () => {
    const p = parseUevent(datagram('change@/devices/virtual/block/dm-7', failedSda));
    expect(p).toMatchObject({ kind: 'malformed', reason: expect.stringContaining('DEVPATH') });
  });

  it('ignores path actions it does not know and other targets', () => {
    expect(parseUevent(datagram(HEADER, { ...failedSda, DM_ACTION: 'PATH_SOMETHING' }))).toEqual({ kind: 'ignored' });
    expect(parseUevent(datagram(HEADER, { ...failedSda, DM_TARGET: 'linear' }))).toEqual({ kind: 'ignored' });
  });

  it('ignores path events of multipath tables multipathd did not create (no mpath- uuid)', () => {
    expect(parseUevent(datagram(HEADER, { ...failedSda, DM_UUID: 'LVM-abc' }))).toEqual({ kind: 'ignored' });
    expect(parseUevent(datagram(HEADER, { ...failedSda, DM_UUID: '' }))).toEqual({ kind: 'ignored' });
  });

  it("ignores udev's re-broadcasts and non-dm devices", () => {
    expect(parseUevent(Buffer.concat([Buffer.from('libudev\0'), Buffer.alloc(32)]))).toEqual({ kind: 'ignored' });
    const sda = { ACTION: 'change', DEVPATH: '/devices/x/block/sda', SUBSYSTEM: 'block', MAJOR: '8', MINOR: '0', DEVNAME: 'sda', SEQNUM: '5' };
    expect(parseUevent(datagram('change@/devices/x/block/sda', sda))).toEqual({ kind: 'ignored' });
  });

  it('ignores dm actions other than add, remove and change', () => {
    const vars = { ACTION: 'offline', DEVPATH: '/devices/virtual/block/dm-0', SUBSYSTEM: 'block', MAJOR: '254', MINOR: '0', DEVNAME: 'dm-0', SEQNUM: '5' };
    expect(parseUevent(datagram('offline@/devices/virtual/block/dm-0', vars))).toEqual({ kind: 'ignored' });
  });

  it('carries the map name and wwid of a map event when the event has them', () => {
    const vars = { ACTION: 'change', DEVPATH: '/devices/virtual/block/dm-0', SUBSYSTEM: 'block', DM_NAME: 'mpatha', DM_UUID: `mpath-${WWID_A}`, MAJOR: '254', MINOR: '0', SEQNUM: '9' };
    expect(parseUevent(datagram(HEADER, vars))).toEqual({
      kind: 'event',
      event: { kind: 'map', action: 'change', sysfs: 'dm-0', mapDevT: '254:0', seqnum: 9, mapName: 'mpatha', wwid: WWID_A },
    });
  });

  it('turns NVMe controller, subsystem and head events into "read sysfs again", and nothing else of NVMe', () => {
    const ctl = { ACTION: 'change', DEVPATH: '/devices/virtual/nvme-fabrics/ctl/nvme1', SUBSYSTEM: 'nvme', NVME_EVENT: 'connected', MAJOR: '242', MINOR: '1', DEVNAME: 'nvme1', SEQNUM: '40' };
    expect(parseUevent(datagram('change@/devices/virtual/nvme-fabrics/ctl/nvme1', ctl))).toEqual({ kind: 'event', event: { kind: 'nvme', action: 'change', device: 'nvme1', seqnum: 40 } });
    const subsys = { ACTION: 'remove', DEVPATH: '/devices/virtual/nvme-subsystem/nvme-subsys0', SUBSYSTEM: 'nvme-subsystem', SEQNUM: '41' };
    expect(parseUevent(datagram('remove@/devices/virtual/nvme-subsystem/nvme-subsys0', subsys))).toMatchObject({ event: { kind: 'nvme', device: 'nvme-subsys0' } });
    const head = { ACTION: 'add', DEVPATH: '/devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1', SUBSYSTEM: 'block', MAJOR: '259', MINOR: '0', DEVNAME: 'nvme0n1', SEQNUM: '42' };
    expect(parseUevent(datagram('add@/devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1', head))).toMatchObject({ event: { kind: 'nvme', action: 'add', device: 'nvme0n1' } });
    // A partition of the head, another subsystem's name, an action that is not a change of state: not ours.
    const part = { ...head, DEVPATH: `${head.DEVPATH}/nvme0n1p1`, DEVNAME: 'nvme0n1p1' };
    expect(parseUevent(datagram(`add@${part.DEVPATH}`, part))).toEqual({ kind: 'ignored' });
    const odd = { ...ctl, DEVPATH: '/devices/virtual/nvme-fabrics/ctl/nvme-fabrics', DEVNAME: 'nvme-fabrics' };
    expect(parseUevent(datagram(`change@${odd.DEVPATH}`, odd))).toEqual({ kind: 'ignored' });
    expect(parseUevent(datagram('bind@/devices/virtual/nvme-fabrics/ctl/nvme1', { ...ctl, ACTION: 'bind' }))).toEqual({ kind: 'ignored' });
    expect(parseUevent(datagram('change@/devices/virtual/nvme-fabrics/ctl/nvme1', { ...ctl, SEQNUM: 'x' }))).toMatchObject({ kind: 'malformed' });
  });

  it('reports damaged framing instead of guessing', () => {
    expect(parseUevent(Buffer.alloc(0))).toMatchObject({ kind: 'malformed' });
    expect(parseUevent(Buffer.from('change@/devices/virtual/block/dm-0'))).toMatchObject({ kind: 'malformed', reason: expect.stringContaining('NUL') });
    expect(parseUevent(Buffer.from('no-at-sign\0ACTION=x\0'))).toMatchObject({ kind: 'malformed', reason: expect.stringContaining('header') });
    expect(parseUevent(Buffer.from(`${HEADER}\0ACTION=change\0garbage\0`))).toMatchObject({ kind: 'malformed', reason: expect.stringContaining('KEY=VALUE') });
    expect(parseUevent(Buffer.from(`${HEADER}\0ACTION=change\0ACTION=change\0`))).toMatchObject({ kind: 'malformed', reason: expect.stringContaining('twice') });
    expect(parseUevent(Buffer.alloc(70000, 0x41))).toMatchObject({ kind: 'malformed', reason: expect.stringContaining('larger') });
  });
});
