import { describe, expect, it } from 'vitest';
import { parseMultipathStatus, parseMultipathTable } from '../../../src/sources/device-mapper/multipath-status';
import { fixture } from '../../helpers/fixtures';

/** `dmsetup status|table` lines "name: start len multipath <params>" -> name -> params. */
function paramsByMap(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fixture(`kernel-6.1/${file}`).split('\n')) {
    const m = /^(\S+): \d+ \d+ multipath (.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

function status(file: string, map: string) {
  const r = parseMultipathStatus(paramsByMap(file)[map]);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe('dm multipath status of the recorded maps', () => {
  it('reads mpatha after sda was failed and reinstated: group 2 stayed active (failback manual)', () => {
    expect(status('dmsetup-status.txt', 'mpatha')).toEqual({
      featureArgs: ['0', '1'],
      hwHandlerArgs: [],
      nextGroup: 2,
      groups: [
        { state: 'enabled', paths: [{ devT: '8:0', active: true, failCount: 1 }] },
        { state: 'active', paths: [{ devT: '8:32', active: true, failCount: 0 }] },
      ],
    });
  });

  it('reads mpathb healthy, first group active', () => {
    const b = status('dmsetup-status.txt', 'mpathb');
    expect(b.nextGroup).toBe(1);
    expect(b.groups.map((g) => g.state)).toEqual(['active', 'enabled']);
    expect(b.groups.flatMap((g) => g.paths)).toEqual([
      { devT: '8:16', active: true, failCount: 0 },
      { devT: '8:48', active: true, failCount: 0 },
    ]);
  });

  it("sees host1's paths failed by the kernel with their fail counts", () => {
    const a = status('dmsetup-status-host1-offline.txt', 'mpatha');
    expect(a.groups.map((g) => g.state)).toEqual(['active', 'enabled']);
    expect(a.groups.flatMap((g) => g.paths)).toEqual([
      { devT: '8:0', active: true, failCount: 1 },
      { devT: '8:32', active: false, failCount: 1 },
    ]);
    const b = status('dmsetup-status-host1-offline.txt', 'mpathb');
    expect(b.groups[1].paths[0]).toEqual({ devT: '8:48', active: false, failCount: 1 });
  });
});

describe('dm multipath table of the recorded maps', () => {
  it('reads features, hardware handler, initial group and selectors as multipathd prints them', () => {
    const t = parseMultipathTable(paramsByMap('dmsetup-table.txt').mpatha);
    expect(t).toEqual({
      ok: true,
      value: {
        features: '0',
        hardwareHandler: '1 alua',
        initialGroup: 2,
        groups: [
          { selector: 'service-time 0', paths: [{ devT: '8:0', args: ['1', '1'] }] },
          { selector: 'service-time 0', paths: [{ devT: '8:32', args: ['1', '1'] }] },
        ],
      },
    });
    const b = parseMultipathTable(paramsByMap('dmsetup-table.txt').mpathb);
    expect(b.ok && b.value.initialGroup).toBe(1);
  });

  it('keeps counted features and selector arguments together', () => {
    const t = parseMultipathTable('3 queue_if_no_path pg_init_retries 50 0 1 1 round-robin 1 x 2 1 8:0 1000 8:16 1000');
    expect(t).toEqual({
      ok: true,
      value: {
        features: '3 queue_if_no_path pg_init_retries 50',
        hardwareHandler: '0',
        initialGroup: 1,
        groups: [{ selector: 'round-robin 1 x', paths: [{ devT: '8:0', args: ['1000'] }, { devT: '8:16', args: ['1000'] }] }],
      },
    });
  });
});

describe('dm multipath status edge cases', () => {
  it('reads a disabled group and a map with no groups', () => {
    const r = parseMultipathStatus('2 0 0 0 1 1 D 0 1 0 8:0 F 7');
    expect(r).toEqual({ ok: true, value: { featureArgs: ['0', '0'], hwHandlerArgs: [], nextGroup: 1, groups: [{ state: 'disabled', paths: [{ devT: '8:0', active: false, failCount: 7 }] }] } });
    expect(parseMultipathStatus('2 0 0 0 0 0 ')).toEqual({ ok: true, value: { featureArgs: ['0', '0'], hwHandlerArgs: [], nextGroup: 0, groups: [] } });
  });

  it.each([
    ['', /expected feature count/],
    ['2 0 1 0 2 1 A 0 1 2 8:0 A 1 0 1', /group 2 state/],
    ['2 0 1 0 2 1 A 0 1 2 8:0 A 1 0', /ends after/],
    ['2 0 1 0 1 1 X 0 1 2 8:0 A 1 0 1', /group 1: state "X"/],
    ['2 0 1 0 1 1 A 0 1 2 8:0 Q 1 0 1', /group 1 path 1: state "Q"/],
    ['2 0 1 0 1 1 A 0 1 2 sda A 1 0 1', /token 11 \(group 1 path 1 dev_t\)/],
    ['2 0 1 0 1 1 A 0 1 2 8:0 A x 0 1', /token 13 \(group 1 path 1 fail count\)/],
    ['2 0 1 0 9999999999 1', /token 5 \(group count\): 9999999999 does not fit/],
    ['2 0 1 0 1 2 A 0 1 0 8:0 A 0', /next group 2 is beyond the 1 groups/],
    ['2 0 1 0 1 1 A 0 1 0 8:0 A 0 extra', /token 14: 1 unexpected trailing tokens/],
  ])('refuses %j, naming the place (%s)', (params, error) => {
    const r = parseMultipathStatus(params);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(error);
  });

  it('refuses a truncated table, naming the place', () => {
    const r = parseMultipathTable('0 1 alua 2 2 service-time 0 1 2 8:0 1 1 service-time 0 1 2 8:32 1');
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/group 2 path 1 selector argument/) });
  });
});
