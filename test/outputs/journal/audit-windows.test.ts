// The audit's bound on what one caller can make it write: refusals once per uid and minute,
// then a count; calls that reached multipathd always, one entry each.
import { describe, expect, it } from 'vitest';
import { Audit, AUDIT_MESSAGE_IDS } from '../../../src/outputs/journal/audit';
import type { JournalEntry } from '../../../src/outputs/journal/entries';
import { fakeTimers } from '../../helpers/fake-timers';
import type { AuditRecord } from '../../../src/core/ports';

const caller = (uid: number) => ({ sender: `:1.${uid}`, uid, pid: 100 + uid, unit: '' });
const refused = (uid: number): AuditRecord => ({ method: 'Map.Resize', object: '/o', sender: `:1.${uid}`, caller: caller(uid), outcome: 'denied', detail: 'polkit denied it' });
const done = (uid: number): AuditRecord => ({ method: 'Path.Fail', object: '/o', sender: `:1.${uid}`, caller: caller(uid), outcome: 'done', command: 'fail path sda' });

function setup() {
  const written: JournalEntry[] = [];
  const { timers, advance } = fakeTimers();
  const audit = new Audit((e) => written.push(e), timers);
  const field = (e: JournalEntry, name: string) => e.fields.find(([k]) => k === name)?.[1];
  const ids = () => written.map((e) => [field(e, 'MESSAGE_ID'), field(e, 'MULTIPATH_CALLER_UID')]);
  return { written, audit, advance, field, ids };
}

describe('the audit under a flood of refused calls', () => {
  it('writes the first refusal of each uid, counts the rest of its minute in one entry, and then starts again', async () => {
    const s = setup();
    for (let i = 0; i < 5000; i++) s.audit.record(refused(65534));
    s.audit.record(refused(1000));
    s.audit.record(done(0));
    s.audit.record({ ...done(65534), outcome: 'failed', detail: 'multipathd refused it' });
    expect(s.ids()).toEqual([
      [AUDIT_MESSAGE_IDS.denied, '65534'],
      [AUDIT_MESSAGE_IDS.denied, '1000'],
      [AUDIT_MESSAGE_IDS.done, '0'],
      [AUDIT_MESSAGE_IDS.failed, '65534'],
    ]);
    await s.advance(59_999);
    expect(s.written).toHaveLength(4);
    await s.advance(1);
    // uid 1000 had nothing more: no summary for it.
    expect(s.ids().slice(4)).toEqual([[AUDIT_MESSAGE_IDS.refusedRepeatedly, '65534']]);
    expect(s.field(s.written[4], 'MULTIPATH_REFUSED_CALLS')).toBe('4999');
    s.audit.record(refused(65534));
    expect(s.ids().at(-1)).toEqual([AUDIT_MESSAGE_IDS.denied, '65534']);
  });

  it('stopping writes what it held back', () => {
    const s = setup();
    for (let i = 0; i < 3; i++) s.audit.record(refused(65534));
    s.audit.stop();
    expect(s.ids()).toEqual([[AUDIT_MESSAGE_IDS.denied, '65534'], [AUDIT_MESSAGE_IDS.refusedRepeatedly, '65534']]);
    expect(s.field(s.written[1], 'MULTIPATH_REFUSED_CALLS')).toBe('2');
  });
});
