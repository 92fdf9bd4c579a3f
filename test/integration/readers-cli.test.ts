// `snapshot` and `events`: the commands that read multipathd and the kernel directly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MultipathdSimulator } from '../../src/sim/simulator';
import { CLI, run } from '../helpers/service-harness';

describe('snapshot', () => {
  let sim: MultipathdSimulator;
  beforeAll(async () => {
    sim = new MultipathdSimulator({ socket: `@mpdbus-snapshot-${process.pid}`, topology: 'small' });
    await sim.listen();
    sim.failPath('sdb');
  });
  afterAll(async () => sim.close());

  it('prints the merged tree from multipathd (device-mapper absent here is a warning)', async () => {
    const r = await run(CLI, ['snapshot', '--socket', sim.socket]);
    expect(r.code, r.stderr).toBe(0);
    const m = sim.maps()[0];
    expect(r.stdout).toMatch(new RegExp(`^${m.name} \\(${m.wwid}\\) dm-0 Linux,scsi_debug \\[degraded, 1/2 paths valid\\]`, 'm'));
    expect(r.stdout).toMatch(/- sdb 8:16\s+failed faulty running/);
    if (!require('node:fs').existsSync('/dev/mapper/control')) expect(r.stderr).toMatch(/warning: device-mapper: .*\/dev\/mapper\/control/);
  });

  it('--json uses the D-Bus property names', async () => {
    const r = await run(CLI, ['snapshot', '--socket', sim.socket, '--json']);
    const maps = JSON.parse(r.stdout);
    expect(maps.map((m: { Name: string }) => m.Name)).toEqual(['mpatha', 'mpathb']);
    expect(maps[0]).toMatchObject({ Wwid: sim.maps()[0].wwid, Vendor: 'Linux', Product: 'scsi_debug', NumPaths: 2, ValidPaths: 1, Health: 'degraded' });
    expect(maps[0].PathGroups[0]).toMatchObject({ Number: 1, Selector: 'service-time 0' });
    expect(maps[0].PathGroups[1].Paths[0]).toMatchObject({ Device: 'sdb', DevT: '8:16', DmState: 'failed', CheckerState: 'faulty' });
  });

  it.skipIf(require('node:fs').existsSync('/dev/mapper/control'))('exits non-zero, naming both sources, when neither can be read', async () => {
    const r = await run(CLI, ['snapshot', '--socket', '@mpdbus-nobody-listens-here']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read multipath state/);
    expect(r.stderr).toMatch(/multipathd: multipathd is not running/);
    expect(r.stderr).toMatch(/device-mapper: open \/dev\/mapper\/control/);
  });
});
