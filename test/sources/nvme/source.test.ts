// The NVMe source on its own: what it reads, when it polls, and that it costs nothing where
// there is nothing to watch (no nvme_core, native multipath off, no subsystem).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SourceEvents, Timers } from '../../../src/core/ports';
import { NvmeSysfsSim } from '../../../src/sim/nvme-sysfs';
import { NvmeSource } from '../../../src/sources/nvme/source';
import { createLogger } from '../../../src/util/log';
import { fakeTimers } from '../../helpers/fake-timers';

const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

function source(root: string, pollIntervalMs = 1000) {
  const { timers, advance } = fakeTimers();
  let armed = 0;
  const counting: Timers = { ...timers, setTimeout: (fn, ms) => (armed++, timers.setTimeout(fn, ms)) };
  const logs: string[] = [];
  const s = new NvmeSource({ root, pollIntervalMs, log: createLogger('debug', (l) => logs.push(l), false), timers: counting });
  let changed = 0;
  const events: SourceEvents = { event() {}, lost() {}, healthChanged() {}, changed: () => changed++ };
  s.start(events);
  cleanup.push(() => s.stop());
  return { s, advance, logs, armed: () => armed, changed: () => changed };
}

function sim(options = {}) {
  const n = new NvmeSysfsSim(options);
  cleanup.push(() => n.destroy());
  return n;
}

describe('NvmeSource', () => {
  it('no nvme_core, native multipath off, or no subsystem: an empty reading and no timer ever armed', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'no-nvme-'));
    cleanup.push(() => fs.rmSync(empty, { recursive: true }));
    const off = sim();
    fs.writeFileSync(path.join(off.root, 'module/nvme_core/parameters/multipath'), 'N\n');
    for (const root of [empty, off.root]) {
      const { s, advance, armed } = source(root);
      expect(s.read().readings!.nvme!.subsystems).toEqual([]);
      await advance(10_000);
      expect(armed()).toBe(0);
    }
  });

  it('polls once per interval once there is something to watch, and says changed() only when something did', async () => {
    const n = sim({ namespaces: 2 });
    const { s, advance, changed, armed } = source(n.root, 1000);
    expect(armed()).toBe(0); // nothing read yet
    expect(s.read().readings!.nvme!.subsystems[0].namespaces.map((ns) => ns.name)).toEqual(['nvme0n1', 'nvme0n2']);
    await advance(5000);
    expect([armed(), changed()]).toEqual([6, 0]);
    n.setControllerState('nvme1', 'resetting');
    await advance(1000);
    expect(changed()).toBe(1);
    // The finding is in the next reading, without a read of the whole tree.
    const ctrl = s.read().readings!.nvme!.subsystems[0].controllers.find((c) => c.name === 'nvme1')!;
    expect(ctrl.state).toBe('resetting');
  });

  it('an NVMe uevent asks for a read of the whole tree; a dm one does not concern it', () => {
    const n = sim({ namespaces: 1 });
    const { s } = source(n.root);
    s.read();
    expect(s.wants({ kind: 'map', action: 'change', sysfs: 'dm-0', mapDevT: '254:0', seqnum: 1 })).toBe(false);
    n.removeController('nvme1');
    expect(s.read().readings!.nvme!.subsystems[0].controllers.map((c) => c.name)).toEqual(['nvme0', 'nvme1']);
    expect(s.wants({ kind: 'nvme', action: 'remove', device: 'nvme1', seqnum: 2 })).toBe(true);
    expect(s.read().readings!.nvme!.subsystems[0].controllers.map((c) => c.name)).toEqual(['nvme0']);
  });

  it('paths a controller gains after its last uevent (the namespace scan adds them silently) are read on the polls after it', async () => {
    const n = sim({ namespaces: 2 });
    const { s, advance, changed } = source(n.root, 1000);
    s.read();
    // nvme1 reconnects: its uevent comes before the scan has added its path to namespace 2.
    const dir = fs.realpathSync(path.join(n.root, 'class/nvme/nvme1'));
    fs.renameSync(path.join(dir, 'nvme0c1n2'), path.join(n.root, 'aside'));
    expect(s.wants({ kind: 'nvme', action: 'change', device: 'nvme1', seqnum: 3 })).toBe(true);
    const paths = () => s.read().readings!.nvme!.subsystems[0].namespaces.map((ns) => ns.paths.map((p) => p.name));
    expect(paths()).toEqual([['nvme0c0n1', 'nvme0c1n1'], ['nvme0c0n2']]);
    await advance(1000);
    expect(changed()).toBe(0);
    fs.renameSync(path.join(n.root, 'aside'), path.join(dir, 'nvme0c1n2'));
    await advance(1000);
    expect(changed()).toBe(1);
    expect(paths()).toEqual([['nvme0c0n1', 'nvme0c1n1'], ['nvme0c0n2', 'nvme0c1n2']]);
  });

  it('a value the kernel would never print costs that field and one warning, logged once while it lasts', () => {
    const n = sim({ namespaces: 1 });
    fs.writeFileSync(path.join(n.root, 'class/nvme/nvme1/transport'), 'tcp\x1b[31m\n');
    const { s, logs } = source(n.root);
    s.read();
    s.readAllNext();
    const ctrl = s.read().readings!.nvme!.subsystems[0].controllers.find((c) => c.name === 'nvme1')!;
    expect(ctrl.transport).toBe('');
    const warned = logs.filter((l) => l.includes('nvme1/transport'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).not.toContain('\x1b');
  });
});
