import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readNvme } from '../../../src/sources/nvme/reader';
import { SilentStatePoll } from '../../../src/sources/nvme/silent-poll';
import { NvmeSysfsSim } from '../../../src/sim/nvme-sysfs';

const ZRAM_ADD = '/sys/class/zram-control/hot_add';
const ZRAM_REMOVE = '/sys/class/zram-control/hot_remove';
/** Why this machine cannot add a zram device, or undefined when it can. */
function noZram(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to add a zram device';
  return fs.existsSync(ZRAM_ADD) ? undefined : `no ${ZRAM_ADD} (modprobe zram)`;
}
const zramAbsent = noZram();

const sims: NvmeSysfsSim[] = [];
const polls: SilentStatePoll[] = [];
afterEach(() => {
  for (const p of polls.splice(0)) p.close();
  for (const s of sims.splice(0)) s.destroy();
});

/** 1 subsystem, 4 namespaces in 2 ANA groups, 2 controllers: groups (nvme0,1) (nvme0,2) (nvme1,1) (nvme1,2). */
function setUp(sweepPolls = 60, keptFiles?: number) {
  const sim = new NvmeSysfsSim({ namespaces: 4, ports: 2, anaGroups: 2 });
  sims.push(sim);
  const poll = new SilentStatePoll(readNvme(sim.root), sim.root, sweepPolls, keptFiles);
  polls.push(poll);
  return { sim, poll };
}

/** The files this process has open. */
function openFiles(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

function writeAna(sim: NvmeSysfsSim, controller: string, pathName: string, state: string): void {
  fs.writeFileSync(path.join(sim.root, 'class/nvme', controller, pathName, 'ana_state'), `${state}\n`);
}

describe('SilentStatePoll: what changes in sysfs with no uevent', () => {
  it('reports nothing while nothing changes, reading one path per controller and ANA group', () => {
    const { poll } = setUp();
    expect(poll.poll()).toEqual([]);
    // 2 controllers + 4 representatives + ceil(8 paths / 60) of the sweep.
    expect(poll.reads).toBe(7);
  });

  it('a port turning a group inaccessible: every path of that group through that port, once', () => {
    const { sim, poll } = setUp();
    sim.setPortAnaState(1, 1, 'inaccessible');
    expect(poll.poll()).toEqual([
      { kind: 'ana-state', path: 'nvme0c1n1', namespace: 'nvme0n1', controller: 'nvme1', previous: 'non-optimized', current: 'inaccessible' },
      { kind: 'ana-state', path: 'nvme0c1n3', namespace: 'nvme0n3', controller: 'nvme1', previous: 'non-optimized', current: 'inaccessible' },
    ]);
    expect(poll.poll()).toEqual([]);
    sim.setPortAnaState(1, 1, 'non-optimized');
    expect(poll.poll().map((c) => c.kind === 'ana-state' && `${c.path} ${c.current}`)).toEqual(['nvme0c1n1 non-optimized', 'nvme0c1n3 non-optimized']);
  });

  it('a controller leaving live and coming back', () => {
    const { sim, poll } = setUp();
    sim.setControllerState('nvme0', 'connecting');
    expect(poll.poll()).toEqual([{ kind: 'controller-state', controller: 'nvme0', previous: 'live', current: 'connecting' }]);
    sim.setControllerState('nvme0', 'live');
    expect(poll.poll()).toEqual([{ kind: 'controller-state', controller: 'nvme0', previous: 'connecting', current: 'live' }]);
  });

  it('a path the kernel updates after its group\'s first one is seen on the next poll', () => {
    const { sim, poll } = setUp(1000);
    // The kernel walks the group's namespaces: the poll read between the first and the second.
    // (The sweep reads one other path a poll, nvme0c0n3 first and nvme0c1n3 next: not the
    // straggler on the second poll.)
    writeAna(sim, 'nvme0', 'nvme0c0n1', 'inaccessible');
    expect(poll.poll().map((c) => c.kind === 'ana-state' && c.path)).toEqual(['nvme0c0n1']);
    writeAna(sim, 'nvme0', 'nvme0c0n3', 'inaccessible');
    expect(poll.poll().map((c) => c.kind === 'ana-state' && c.path)).toEqual(['nvme0c0n3']);
  });

  it('a path that changes alone (its namespace moved to another group) is seen within sweepPolls polls', () => {
    const { sim, poll } = setUp(4);
    writeAna(sim, 'nvme0', 'nvme0c0n4', 'inaccessible');
    const seen = [1, 2, 3, 4].flatMap(() => poll.poll());
    expect(seen).toEqual([{ kind: 'ana-state', path: 'nvme0c0n4', namespace: 'nvme0n4', controller: 'nvme0', previous: 'non-optimized', current: 'inaccessible' }]);
  });

  it('a value the kernel does not print is unknown; a deleted controller and its paths are gone, said once', () => {
    const { sim, poll } = setUp(1);
    writeAna(sim, 'nvme0', 'nvme0c0n1', 'optimized\x1b[2J');
    expect(poll.poll()).toEqual([{ kind: 'ana-state', path: 'nvme0c0n1', namespace: 'nvme0n1', controller: 'nvme0', previous: 'optimized', current: 'unknown' }]);
    sim.removeController('nvme1');
    expect(poll.poll()).toEqual(['nvme1', 'nvme0c1n1', 'nvme0c1n2', 'nvme0c1n3', 'nvme0c1n4'].map((device) => ({ kind: 'gone', device })));
    expect(poll.poll()).toEqual([]);
  });

  it('keeps one file open per controller and ANA group, and none after close()', () => {
    const before = openFiles();
    const { sim, poll } = setUp();
    expect(openFiles()).toBe(before + 4);
    // Read through the kept files: a change is seen as by path.
    sim.setPortAnaState(0, 2, 'inaccessible');
    expect(poll.poll().map((c) => c.kind === 'ana-state' && `${c.path} ${c.current}`)).toEqual(['nvme0c0n2 inaccessible', 'nvme0c0n4 inaccessible']);
    poll.close();
    expect(openFiles()).toBe(before);
  });

  it('keeps no more files than it is allowed; the others are read by path', () => {
    const before = openFiles();
    const { sim, poll } = setUp(60, 2);
    expect(openFiles()).toBe(before + 2);
    // (nvme1, 2) is the fourth group: past the bound.
    sim.setPortAnaState(1, 2, 'inaccessible');
    expect(poll.poll().map((c) => c.kind === 'ana-state' && `${c.path} ${c.current}`)).toEqual(['nvme0c1n2 inaccessible', 'nvme0c1n4 inaccessible']);
    expect(poll.reads).toBe(2 + 4 + 1 + 1);
  });

  it('a deleted controller closes its paths\' kept files', () => {
    const { sim, poll } = setUp();
    const before = openFiles();
    sim.removeController('nvme1');
    expect(poll.poll().map((c) => c.kind === 'gone' && c.device)).toEqual(['nvme1', 'nvme0c1n1', 'nvme0c1n2', 'nvme0c1n3', 'nvme0c1n4']);
    expect(openFiles()).toBe(before - 2);
  });

  // A kept file of a deleted device answers ENODEV on a real kernel (kernfs), which a simulated
  // tree cannot: the path's ana_state here is a link to an attribute of a zram device this test
  // adds and removes (zram-control), so the read that finds it gone is the kernel's.
  it.skipIf(zramAbsent !== undefined)(`a kept path whose device the kernel deletes is gone, said once, its file closed (${zramAbsent ?? 'zram-control'})`, () => {
    const sim = new NvmeSysfsSim({ namespaces: 2, ports: 1, anaGroups: 2 });
    sims.push(sim);
    const id = fs.readFileSync(ZRAM_ADD, 'utf8').trim();
    const attribute = `/sys/devices/virtual/block/zram${id}/ro`;
    try {
      const file = path.join(sim.root, 'class/nvme/nvme0/nvme0c0n2/ana_state');
      fs.rmSync(file);
      fs.symlinkSync(attribute, file);
      const poll = new SilentStatePoll(readNvme(sim.root), sim.root);
      polls.push(poll);
      expect(poll.poll()).toEqual([]);
      const before = openFiles();
      fs.writeFileSync(ZRAM_REMOVE, id);
      expect(poll.poll()).toEqual([{ kind: 'gone', device: 'nvme0c0n2' }]);
      expect(openFiles()).toBe(before - 1);
      expect(poll.poll()).toEqual([]);
    } finally {
      if (fs.existsSync(attribute)) fs.writeFileSync(ZRAM_REMOVE, id);
    }
  });
});
