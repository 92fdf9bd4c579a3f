// The reader and the poll on the tree a real kernel made: test/fixtures/kernel-6.1/nvme-sysfs.txt
// was written by test/vm/scenarios/nvme-kernel.sh (nvme_sysfs_dump) on Linux 6.1, NVMe/TCP on
// loopback, after `nvme connect` through two ports: "link REL TARGET" and "file REL VALUE"
// lines, REL under /sys. Built back here as a directory tree with the same links.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNvme } from '../../../src/sources/nvme/reader';
import { SilentStatePoll } from '../../../src/sources/nvme/silent-poll';
import { fixture } from '../../helpers/fixtures';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'nvme-kernel-tree-'));
  for (const line of fixture('kernel-6.1/nvme-sysfs.txt').split('\n')) {
    const m = /^(link|file) (\S+) (.*)$/.exec(line);
    if (!m) continue;
    const at = path.join(root, m[2]);
    fs.mkdirSync(path.dirname(at), { recursive: true });
    if (m[1] === 'link') fs.symlinkSync(m[3], at);
    else fs.writeFileSync(at, `${m[3]}\n`);
  }
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const NQN = 'nqn.2014-08.org.kernel:multipath-dbus-vmtest';
const UUID = '28b67994-635b-4c92-bbb2-3845b1ec8c27';

describe('the NVMe tree Linux 6.1 made for one namespace through two NVMe/TCP ports', () => {
  it('reads one subsystem, one namespace (head nvme0n1) and its two paths with their controllers', () => {
    expect(readNvme(root)).toEqual({
      nativeMultipath: true,
      problems: [],
      subsystems: [
        {
          name: 'nvme-subsys0',
          nqn: NQN,
          // The kernel prints the model blank-padded to its 40 bytes.
          model: 'Linux',
          serial: '9670b2ad66513e9c8b68',
          firmwareRev: '6.1.0-57',
          ioPolicy: 'numa',
          namespaces: [
            {
              name: 'nvme0n1',
              headPresent: true,
              nsid: 1,
              wwid: `uuid.${UUID}`,
              // nvmet gives a namespace a uuid and no nguid: the kernel hides a zero nguid.
              nguid: '',
              uuid: UUID,
              sizeSectors: 524288000,
              devT: '259:1',
              paths: [
                { name: 'nvme0c0n1', controller: 'nvme0', anaState: 'optimized', anaGroup: 2 },
                { name: 'nvme0c1n1', controller: 'nvme1', anaState: 'non-optimized', anaGroup: 2 },
              ],
            },
          ],
          controllers: [
            { name: 'nvme0', state: 'live', transport: 'tcp', address: 'traddr=127.0.0.1,trsvcid=4411,src_addr=127.0.0.1', cntlid: 1, subsysnqn: NQN },
            { name: 'nvme1', state: 'live', transport: 'tcp', address: 'traddr=127.0.0.1,trsvcid=4412,src_addr=127.0.0.1', cntlid: 2, subsysnqn: NQN },
          ],
        },
      ],
    });
  });

  it('the poll sees what the kernel wrote when port 2 turned the group inaccessible, and nvme0 reconnecting', () => {
    const poll = new SilentStatePoll(readNvme(root), root);
    expect(poll.poll()).toEqual([]);
    fs.writeFileSync(path.join(root, 'devices/virtual/nvme-fabrics/ctl/nvme1/nvme0c1n1/ana_state'), 'inaccessible\n');
    fs.writeFileSync(path.join(root, 'devices/virtual/nvme-fabrics/ctl/nvme0/state'), 'connecting\n');
    expect(poll.poll()).toEqual([
      { kind: 'controller-state', controller: 'nvme0', previous: 'live', current: 'connecting' },
      { kind: 'ana-state', path: 'nvme0c1n1', namespace: 'nvme0n1', controller: 'nvme1', previous: 'non-optimized', current: 'inaccessible' },
    ]);
    poll.close();
  });
});
