// Journal entries as journald receives them: datagrams on a real unix datagram socket, one
// per transition, with the fields and MESSAGE_IDs the README lists; plain log lines when no
// journal listens; the catalog explains every MESSAGE_ID.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { JOURNAL_KINDS } from '../../../src/outputs/journal/entries';
import { JournalSink, JournalWriter, journaldTransport } from '../../../src/outputs/journal/journal-sink';
import { AUDIT_MESSAGE_IDS } from '../../../src/outputs/journal/audit';
import { encodeJournalEntry } from '../../../src/outputs/journal/native-protocol';
import { listenDatagrams, parseJournalEntry, type DatagramReceiver } from '../../helpers/journal';
import { run, startHarness, type Harness } from '../../helpers/service-harness';
import { NvmeSysfsSim } from '../../../src/sim/nvme-sysfs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-journal-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let h: Harness | undefined;
let receiver: DatagramReceiver | undefined;
afterEach(async () => {
  await h?.stop();
  await receiver?.stop();
  h = receiver = undefined;
});

const ID = Object.fromEntries(Object.entries(JOURNAL_KINDS).map(([name, k]) => [name, k!.id]));

describe('journal entries', () => {
  it('a path failure and its return, the map failing and restored: one entry each, with every field', async () => {
    const socket = path.join(tmp, 'journal.socket');
    receiver = await listenDatagrams(socket);
    const sink = new JournalSink(new JournalWriter(journaldTransport(socket), { error() {}, warning() {}, notice() {}, info() {}, debug() {} }));
    h = await startHarness('small', {}, undefined, { sinks: [sink] });
    const map = h.sim.maps()[0];
    const [a, b] = map.paths;
    const serial = h.service.eventSerial + 1n;
    h.kernel(h.sim.failPath(a.dev));
    const [down] = (await receiver.waitFor(1)).map(parseJournalEntry);
    expect(Object.fromEntries(down)).toEqual({
      MESSAGE: `path ${a.dev} (${a.devT}) of ${map.name} (${map.wwid}) failed; 1 of 2 paths valid`,
      MESSAGE_ID: ID.PathFailed,
      PRIORITY: '4',
      SYSLOG_IDENTIFIER: 'multipath-dbus',
      MULTIPATH_SERIAL: String(serial),
      MULTIPATH_MAP: map.name,
      MULTIPATH_WWID: map.wwid,
      MULTIPATH_DEVICE: a.dev,
      MULTIPATH_DEVT: a.devT,
      MULTIPATH_VALID_PATHS: '1',
      MULTIPATH_DM_SEQNUM: expect.stringMatching(/^[1-9]\d*$/),
      MULTIPATH_SYNTHESIZED: '0',
    });
    h.kernel(h.sim.failPath(b.dev));
    h.kernel(h.sim.reinstatePath(a.dev));
    // A group switch dm-multipath makes on the way would be a PolicyChanged entry between these.
    const notPolicy = () => receiver!.datagrams.map(parseJournalEntry).filter((e) => e.get('MESSAGE_ID') !== ID.PolicyChanged);
    const end = Date.now() + 10_000;
    while (notPolicy().length < 5 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    const entries = receiver.datagrams.map(parseJournalEntry);
    const all = notPolicy();
    expect(all.map((e) => [e.get('MESSAGE_ID'), e.get('MULTIPATH_VALID_PATHS')])).toEqual([
      [ID.PathFailed, '1'],
      [ID.PathFailed, '0'],
      [ID.Failed, '0'],
      [ID.PathReinstated, '1'],
      [ID.Restored, '1'],
    ]);
    const failed = all[2];
    expect([failed.get('MULTIPATH_DEVICE'), failed.get('MULTIPATH_DEVT'), failed.get('PRIORITY')]).toEqual([map.sysfs, map.devT, '3']);
    // Serials are the service's (the numbers GetEvents and the signals carry), in order.
    const serials = entries.map((e) => BigInt(e.get('MULTIPATH_SERIAL')!));
    expect(serials).toEqual(serials.map((_, i) => serial + BigInt(i)));
  });

  it('an NVMe path failing with no uevent (its ANA state): the entry names its ANA state and controller, with no dev_t', async () => {
    const socket = path.join(tmp, 'journal-nvme.socket');
    receiver = await listenDatagrams(socket);
    const sink = new JournalSink(new JournalWriter(journaldTransport(socket), { error() {}, warning() {}, notice() {}, info() {}, debug() {} }));
    const nvme = new NvmeSysfsSim({ namespaces: 1, ports: 2, anaGroups: 1 });
    try {
      h = await startHarness('small', {}, undefined, { sinks: [sink], nvme: { root: nvme.root, pollIntervalMs: 100 } });
      nvme.setPortAnaState(1, 1, 'inaccessible');
      const [down] = (await receiver.waitFor(1)).map(parseJournalEntry);
      expect(Object.fromEntries(down)).toEqual({
        MESSAGE: 'path nvme0c1n1 (ANA inaccessible, controller nvme1 live) of nvme0n1 (uuid.00000000-0000-4000-8000-000000000001) failed; 1 of 2 paths valid',
        MESSAGE_ID: ID.PathFailed,
        PRIORITY: '4',
        SYSLOG_IDENTIFIER: 'multipath-dbus',
        MULTIPATH_SERIAL: expect.stringMatching(/^\d+$/),
        MULTIPATH_MAP: 'nvme0n1',
        MULTIPATH_WWID: 'uuid.00000000-0000-4000-8000-000000000001',
        MULTIPATH_DEVICE: 'nvme0c1n1',
        MULTIPATH_VALID_PATHS: '1',
        MULTIPATH_KIND: 'nvme',
        MULTIPATH_SUBSYSTEM_NQN: nvme.nqn(0),
        MULTIPATH_ANA_STATE: 'inaccessible',
        MULTIPATH_CONTROLLER: 'nvme1',
        MULTIPATH_CONTROLLER_STATE: 'live',
        MULTIPATH_SYNTHESIZED: '1',
      });
    } finally {
      nvme.destroy();
    }
  });

  it('a resynchronization is an entry with its reason', async () => {
    const socket = path.join(tmp, 'journal2.socket');
    receiver = await listenDatagrams(socket);
    const sink = new JournalSink(new JournalWriter(journaldTransport(socket), { error() {}, warning() {}, notice() {}, info() {}, debug() {} }));
    h = await startHarness('small', {}, undefined, { sinks: [sink] });
    h.service.resync('overflow');
    const [e] = (await receiver.waitFor(1)).map(parseJournalEntry);
    expect([e.get('MESSAGE_ID'), e.get('MULTIPATH_REASON'), e.get('PRIORITY')]).toEqual([ID.Resynchronized, 'overflow', '5']);
  });

  it('values with newlines take the binary-safe form and arrive intact', async () => {
    const socket = path.join(tmp, 'journal3.socket');
    receiver = await listenDatagrams(socket);
    const transport = journaldTransport(socket);
    const hostile = 'line one\nMESSAGE_ID=forged\n\0end';
    transport.send(encodeJournalEntry([['MESSAGE', 'plain'], ['MULTIPATH_MAP', hostile], ['MULTIPATH_WWID', '']]));
    transport.close();
    const [d] = await receiver.waitFor(1);
    expect(d.subarray(0, 'MESSAGE=plain\nMULTIPATH_MAP\n'.length).toString()).toBe('MESSAGE=plain\nMULTIPATH_MAP\n');
    expect(Object.fromEntries(parseJournalEntry(d))).toEqual({ MESSAGE: 'plain', MULTIPATH_MAP: hostile, MULTIPATH_WWID: '' });
    expect(() => encodeJournalEntry([['lower', 'x']])).toThrow();
  });

  it('a map name with a newline and an escape sequence: MESSAGE is one line, escaped; MULTIPATH_MAP keeps the name exactly', async () => {
    const name = 'mpath\n<0>forged\x1b[2J';
    const socket = path.join(tmp, 'journal4.socket');
    receiver = await listenDatagrams(socket);
    const sink = new JournalSink(new JournalWriter(journaldTransport(socket), { error() {}, warning() {}, notice() {}, info() {}, debug() {} }));
    h = await startHarness({ maps: 1, pathsPerMap: 2, names: [name] }, {}, undefined, { sinks: [sink] });
    const p = h.sim.maps()[0].paths[0];
    h.kernel(h.sim.failPath(p.dev));
    const [e] = (await receiver.waitFor(1)).map(parseJournalEntry);
    expect(e.get('MESSAGE')).toBe(`path ${p.dev} (${p.devT}) of mpath\\n<0>forged\\x1b[2J (${h.sim.maps()[0].wwid}) failed; 1 of 2 paths valid`);
    expect(e.get('MULTIPATH_MAP')).toBe(name);
  });

  it('no journal listening: the entry becomes a log line at its priority, and the service goes on', async () => {
    const lines: string[] = [];
    const at = (level: string) => (m: string) => lines.push(`${level}: ${m}`);
    const log = { error: at('error'), warning: at('warning'), notice: at('notice'), info: at('info'), debug: at('debug') };
    const sink = new JournalSink(new JournalWriter(journaldTransport(path.join(tmp, 'nobody-listens.socket')), log));
    h = await startHarness('small', {}, undefined, { sinks: [sink] });
    const map = h.sim.maps()[0];
    const dev = map.paths[0].dev;
    h.kernel(h.sim.failPath(dev));
    h.kernel(h.sim.failPath(dev));
    expect(lines.filter((l) => !l.startsWith('debug'))).toEqual([`warning: path ${dev} (${map.paths[0].devT}) of ${map.name} (${map.wwid}) failed; 1 of 2 paths valid`]);
    expect(lines.filter((l) => l.startsWith('debug'))).toEqual([expect.stringMatching(/journal unavailable \(sendto .*: No such file or directory\)/)]);
  });
});

describe('the message catalog', () => {
  const catalog = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'catalog', 'multipath-dbus.catalog'), 'utf8');

  it('journalctl compiles it and lists one entry for each MESSAGE_ID, no more', async () => {
    const root = fs.mkdtempSync(path.join(tmp, 'root-'));
    fs.mkdirSync(path.join(root, 'usr/lib/systemd/catalog'), { recursive: true });
    fs.writeFileSync(path.join(root, 'usr/lib/systemd/catalog/multipath-dbus.catalog'), catalog);
    expect((await run('journalctl', [`--root=${root}`, '--update-catalog'])).code).toBe(0);
    const listed = await run('journalctl', [`--root=${root}`, '--list-catalog']);
    expect(listed.code).toBe(0);
    const ids = listed.stdout.trim().split('\n').map((l) => l.split(' ')[0]);
    const ours = [...Object.values(ID), ...Object.values(AUDIT_MESSAGE_IDS)];
    expect(ids.sort()).toEqual(ours.sort());
    expect(new Set(ours).size).toBe(10);
    for (const id of ours) expect(id).toMatch(/^[0-9a-f]{32}$/);
  });
});
