import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readNvme } from '../../../src/sources/nvme/reader';
import { NvmeSysfsSim } from '../../../src/sim/nvme-sysfs';

const sims: NvmeSysfsSim[] = [];
function sim(options: ConstructorParameters<typeof NvmeSysfsSim>[0] = {}): NvmeSysfsSim {
  const s = new NvmeSysfsSim(options);
  sims.push(s);
  return s;
}
afterEach(() => {
  for (const s of sims.splice(0)) s.destroy();
});

/** Writes an attribute file under the controller's or subsystem's class link, raw bytes allowed. */
function put(root: string, rel: string, value: string | Buffer): void {
  fs.writeFileSync(path.join(root, rel), value);
}

describe('readNvme on a simulated sysfs tree', () => {
  it('reads subsystems, their namespaces and each namespace\'s paths with the controller behind each', () => {
    const s = sim({ subsystems: 2, namespaces: 3, ports: 2, anaGroups: 2 });
    const r = readNvme(s.root);
    expect(r.problems).toEqual([]);
    expect(r.nativeMultipath).toBe(true);
    expect(r.subsystems.map((x) => x.name)).toEqual(['nvme-subsys0', 'nvme-subsys1']);
    const [sub] = r.subsystems;
    expect({ ...sub, namespaces: undefined }).toEqual({
      name: 'nvme-subsys0',
      nqn: 'nqn.2014-08.org.nvmexpress:sim-subsystem-0',
      model: 'Linux',
      serial: 'sim0000000000000',
      firmwareRev: '6.1.0',
      ioPolicy: 'numa',
      namespaces: undefined,
      controllers: [
        { name: 'nvme0', state: 'live', transport: 'tcp', address: 'traddr=127.0.0.1,trsvcid=4420,src_addr=127.0.0.1', cntlid: 1, subsysnqn: 'nqn.2014-08.org.nvmexpress:sim-subsystem-0' },
        { name: 'nvme1', state: 'live', transport: 'tcp', address: 'traddr=127.0.0.1,trsvcid=4421,src_addr=127.0.0.1', cntlid: 2, subsysnqn: 'nqn.2014-08.org.nvmexpress:sim-subsystem-0' },
      ],
    });
    expect(sub.namespaces.map((n) => n.name)).toEqual(['nvme0n1', 'nvme0n2', 'nvme0n3']);
    expect(sub.namespaces[1]).toMatchObject({
      name: 'nvme0n2',
      headPresent: true,
      nsid: 2,
      wwid: 'uuid.00000000-0000-4000-8000-000000000002',
      uuid: '00000000-0000-4000-8000-000000000002',
      sizeSectors: 2097152,
    });
    expect(sub.namespaces[1].devT).toMatch(/^259:\d+$/);
    // Group 2 (namespace 2) is optimized through the second port, non-optimized through the first.
    expect(sub.namespaces[1].paths.map(({ name, controller, anaState, anaGroup }) => ({ name, controller, anaState, anaGroup }))).toEqual([
      { name: 'nvme0c0n2', controller: 'nvme0', anaState: 'non-optimized', anaGroup: 2 },
      { name: 'nvme0c1n2', controller: 'nvme1', anaState: 'optimized', anaGroup: 2 },
    ]);
    // The second subsystem's controllers are nvme2 and nvme3: paths nvme1c2n1, nvme1c3n1.
    expect(r.subsystems[1].namespaces[0].paths.map((p) => p.name)).toEqual(['nvme1c2n1', 'nvme1c3n1']);
  });

  it('orders by number (nvme10 after nvme2) and ignores what is not a controller, head or path', () => {
    const s = sim({ subsystems: 1, namespaces: 1, ports: 1, anaGroups: 1 });
    for (let i = 0; i < 10; i++) s.addController(0, 0);
    // The head's generic character device (ng0n1) sits beside the head; partitions and power/ too.
    fs.mkdirSync(path.join(s.root, 'class/nvme-subsystem/nvme-subsys0/ng0n1'));
    fs.mkdirSync(path.join(s.root, 'class/nvme-subsystem/nvme-subsys0/power'));
    fs.mkdirSync(path.join(s.root, 'class/nvme/nvme0/ng0n1'));
    const ns = readNvme(s.root).subsystems[0];
    expect(ns.controllers.map((c) => c.name)).toEqual(['nvme0', 'nvme1', 'nvme2', 'nvme3', 'nvme4', 'nvme5', 'nvme6', 'nvme7', 'nvme8', 'nvme9', 'nvme10']);
    expect(ns.namespaces.map((n) => n.name)).toEqual(['nvme0n1']);
    expect(ns.namespaces[0].paths.at(-1)!.name).toBe('nvme0c10n1');
  });

  it('shows a namespace whose head the kernel has not added yet (no usable path at connect), with the ids of a path', () => {
    const s = sim({ namespaces: 1 });
    fs.rmSync(path.join(s.root, 'class/nvme-subsystem/nvme-subsys0/nvme0n1'), { recursive: true });
    const [ns] = readNvme(s.root).subsystems[0].namespaces;
    expect(ns).toMatchObject({ name: 'nvme0n1', headPresent: false, nsid: 1, wwid: 'uuid.00000000-0000-4000-8000-000000000001', devT: '', sizeSectors: undefined });
    expect(ns.paths.map((p) => p.name)).toEqual(['nvme0c0n1', 'nvme0c1n1']);
  });

  it('a bad value costs that field only, and the problem is told without the control characters', () => {
    const s = sim({ namespaces: 1 });
    const sub = 'class/nvme-subsystem/nvme-subsys0';
    put(s.root, `${sub}/model`, `${'M'.repeat(41)}\n`);
    put(s.root, `${sub}/serial`, 'abc\x1b[31mred\n');
    put(s.root, `${sub}/firmware_rev`, Buffer.from([0x36, 0xff, 0xfe, 0x0a]));
    put(s.root, `${sub}/iopolicy`, 'fastest\n');
    put(s.root, 'class/nvme/nvme0/state', 'unknown state\n');
    put(s.root, 'class/nvme/nvme0/address', `traddr=${'1'.repeat(300)}\n`);
    put(s.root, 'class/nvme/nvme0/cntlid', '0x1\n');
    put(s.root, 'class/nvme/nvme1/transport', 'TCP/IP\n');
    put(s.root, 'class/nvme/nvme0/nvme0c0n1/ana_state', 'optimised\n');
    put(s.root, 'class/nvme/nvme1/nvme0c1n1/ana_grpid', '4294967296\n');
    put(s.root, `${sub}/nvme0n1/wwid`, 'uuid.has a space\n');
    put(s.root, `${sub}/nvme0n1/uuid`, '\u009b2J\n');
    const r = readNvme(s.root);
    const [x] = r.subsystems;
    expect([x.nqn, x.model, x.serial, x.firmwareRev, x.ioPolicy]).toEqual(['nqn.2014-08.org.nvmexpress:sim-subsystem-0', '', '', '', 'unknown']);
    expect(x.controllers[0]).toMatchObject({ state: 'unknown', address: '', cntlid: undefined, transport: 'tcp' });
    expect(x.controllers[1]).toMatchObject({ state: 'live', transport: '', cntlid: 2 });
    const [ns] = x.namespaces;
    expect([ns.wwid, ns.uuid, ns.nguid, ns.nsid]).toEqual(['', '', '00000000-0000-4000-8000-000000000001', 1]);
    expect(ns.paths.map((p) => [p.anaState, p.anaGroup])).toEqual([
      ['unknown', 1],
      ['non-optimized', undefined],
    ]);
    expect(r.problems).toHaveLength(12);
    expect(r.problems).toContain('nvme-subsys0/model: longer than 40 bytes');
    expect(r.problems).toContain('nvme0/state: unknown value: "unknown state"');
    expect(r.problems.find((p) => p.startsWith('nvme-subsys0/serial'))).toBe('nvme-subsys0/serial: control character in "abc\\\\x1b[31mred"');
    for (const p of r.problems) expect(p).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
  });

  it('reads no subsystem and costs nothing more on a host without NVMe, and says when native multipath is off', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'nvme-empty-'));
    try {
      expect(readNvme(empty)).toEqual({ nativeMultipath: undefined, subsystems: [], problems: [] });
      fs.mkdirSync(path.join(empty, 'module/nvme_core/parameters'), { recursive: true });
      fs.writeFileSync(path.join(empty, 'module/nvme_core/parameters/multipath'), 'N\n');
      expect(readNvme(empty).nativeMultipath).toBe(false);
    } finally {
      fs.rmSync(empty, { recursive: true });
    }
  });

  it('follows controllers deleted and added: paths go and come, and the subsystem goes with its last controller', () => {
    const s = sim({ namespaces: 2 });
    s.removeController('nvme1');
    let [sub] = readNvme(s.root).subsystems;
    expect(sub.controllers.map((c) => c.name)).toEqual(['nvme0']);
    expect(sub.namespaces.map((n) => n.paths.map((p) => p.name))).toEqual([['nvme0c0n1'], ['nvme0c0n2']]);
    const again = s.addController(0, 1);
    [sub] = readNvme(s.root).subsystems;
    expect(again).toBe('nvme2');
    expect(sub.namespaces[0].paths.map((p) => [p.name, p.anaState])).toEqual([
      ['nvme0c0n1', 'optimized'],
      ['nvme0c2n1', 'non-optimized'],
    ]);
    s.removeController('nvme0');
    s.removeController('nvme2');
    expect(readNvme(s.root).subsystems).toEqual([]);
  });
});
