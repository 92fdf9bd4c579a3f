import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readNvme } from '../../../src/sources/nvme/reader';
import { SilentStatePoll } from '../../../src/sources/nvme/silent-poll';
import { NvmeSysfsSim } from '../../../src/sim/nvme-sysfs';

const sims: NvmeSysfsSim[] = [];
afterEach(() => {
  for (const s of sims.splice(0)) s.destroy();
});

/** 1 subsystem, 4 namespaces in 2 ANA groups, 2 controllers: groups (nvme0,1) (nvme0,2) (nvme1,1) (nvme1,2). */
function setUp(sweepPolls = 60) {
  const sim = new NvmeSysfsSim({ namespaces: 4, ports: 2, anaGroups: 2 });
  sims.push(sim);
  const poll = new SilentStatePoll(readNvme(sim.root), sim.root, sweepPolls);
  return { sim, poll };
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
});
