// The journal as an administrator queries it: `serve` writing to a real systemd-journald,
// the entry found by `journalctl MESSAGE_ID=... -o json` with its fields.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateBus, type PrivateBus } from '../../../src/cli/private-bus';
import { JOURNAL_KINDS } from '../../../src/outputs/journal/entries';
import { MultipathdSimulator } from '../../../src/sim/simulator';
import { startJournald, type Journald } from '../../helpers/journald';
import { CLI } from '../../helpers/service-harness';

describe('serve and a real journald', () => {
  let bus: PrivateBus;
  let sim: MultipathdSimulator;
  let journald: Journald;
  const socket = `@multipath-dbus-journald-${process.pid}`;
  beforeAll(async () => {
    bus = await startPrivateBus();
    sim = new MultipathdSimulator({ socket });
    await sim.listen();
    journald = await startJournald();
  });
  afterAll(async () => {
    await journald?.stop();
    await sim?.close();
    await bus?.stop();
  });

  it('a path failure is one entry with its MESSAGE_ID and fields; the service logs no plain line for it', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-journald-'));
    const conf = path.join(tmp, 'absent.conf');
    const child = journald.spawn(CLI, ['serve', '--enable', '--config', conf, '--bus', bus.address, '--no-kernel', '--socket', socket, '--refresh-interval', '1']);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const map = sim.maps()[0];
    const p = map.paths[0];
    const id = JOURNAL_KINDS.PathFailed!.id;
    try {
      const end = Date.now() + 20_000;
      while (!/serving 2 maps/.test(stderr)) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(stderr);
        await new Promise((r) => setTimeout(r, 50));
      }
      sim.failPath(p.dev);
      let entries: Record<string, string>[] = [];
      while (entries.length === 0) {
        if (Date.now() > end) throw new Error(`no entry in the journal; service said: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
        const r = await journald.journalctl(`MESSAGE_ID=${id}`, '-o', 'json');
        entries = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      }
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        MESSAGE: `path ${p.dev} (${p.devT}) of ${map.name} (${map.wwid}) failed; 1 of 2 paths valid`,
        PRIORITY: '4',
        SYSLOG_IDENTIFIER: 'multipath-dbus',
        MULTIPATH_MAP: map.name,
        MULTIPATH_WWID: map.wwid,
        MULTIPATH_DEVICE: p.dev,
        MULTIPATH_DEVT: p.devT,
        MULTIPATH_VALID_PATHS: '1',
        MULTIPATH_SERIAL: expect.stringMatching(/^\d+$/),
        MULTIPATH_SYNTHESIZED: '1',
        _TRANSPORT: 'journal',
        _PID: String(child.pid),
      });
      expect(stderr).not.toContain('failed; 1 of 2 paths valid');

      // journalctl -x explains it from our catalog (installed in the namespace only).
      const catalog = path.resolve(__dirname, '..', '..', '..', 'catalog', 'multipath-dbus.catalog');
      const x = await journald.sh(
        `set -e; cp /usr/lib/systemd/catalog/*.catalog ${catalog} ${tmp}; mount --bind ${tmp} /usr/lib/systemd/catalog; ` +
          `journalctl --update-catalog; journalctl --no-pager -x MESSAGE_ID=${id}`,
      );
      expect(x.code, x.stderr).toBe(0);
      expect(x.stdout).toContain(`Subject: Multipath path ${p.dev} of ${map.name} failed`);
      expect(x.stdout).toContain(`The kernel failed path ${p.dev} of multipath map ${map.name}`);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);
});
