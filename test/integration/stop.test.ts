// One Ctrl-C ends every long-running command, the way a user meets it: the command runs
// in its own process group (as a terminal runs it), the whole group gets ONE signal, and
// the command must exit 0 within STOP_BUDGET_MS with no process of the group left — not
// the private dbus-daemon the demo started, not a connection, not a simulator.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateBus, type PrivateBus } from '../../src/cli/private-bus';
import { groupMembers, killGroup, running, startGroup, type GroupRun } from '../helpers/process-group';
import { BUS_NAME, CLI, run, startHarness, type Harness } from '../helpers/service-harness';

/** The promise (README: SIGINT/SIGTERM exit 0 within two seconds). Stopping takes ~0.1 s here, ~0.6 s with a frozen bus. */
const STOP_BUDGET_MS = 2000;
const REPO = path.resolve(__dirname, '..', '..');

interface Stopped {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  /** Processes of the group (or started by it) still running once the budget is spent. */
  left: number[];
}

/** Send one signal to the whole group; wait for the command to end (or give up) and list what is left. */
async function stopWith(g: GroupRun, sig: NodeJS.Signals): Promise<Stopped> {
  const before = groupMembers(g.pgid);
  expect(before).toContain(g.pgid);
  const sent = g.signal(sig);
  const hung = new Promise<null>((r) => setTimeout(() => r(null), 3 * STOP_BUDGET_MS));
  const exit = await Promise.race([g.exited, hung]);
  const leftover = () => [...new Set([...groupMembers(g.pgid), ...before])].filter(running);
  while (leftover().length > 0 && Date.now() < sent + STOP_BUDGET_MS) await new Promise((r) => setTimeout(r, 20));
  const left = leftover();
  killGroup(g);
  if (!exit) return { code: null, signal: null, ms: Infinity, left };
  return { code: exit.code, signal: exit.signal, ms: exit.at - sent, left };
}

function expectCleanExit(s: Stopped, output: string): void {
  expect({ code: s.code, signal: s.signal, left: s.left }, output).toEqual({ code: 0, signal: null, left: [] });
  expect(s.ms, output).toBeLessThan(STOP_BUDGET_MS);
}

describe('npm run demo', () => {
  it.each([
    ['SIGINT', 'as soon as it says Ctrl-C stops it', /Ctrl-C stops and cleans up/],
    ['SIGTERM', 'while it fails and reinstates paths', /monitor \| #\d+ PathReinstated/],
  ] as const)('one %s to its process group, %s: exit 0, its dbus-daemon and monitor gone', async (sig, _when, ready) => {
    const g = startGroup('npm', ['run', 'demo', '--', '--interval', '1'], { cwd: REPO });
    try {
      const out = await g.waitFor(ready);
      // Its first change is an NVMe path's ANA state, which the kernel changes without a uevent.
      if (sig === 'SIGTERM') expect(out).toMatch(/monitor \| #\d+ PathFailed nvme0n1 Path=nvme0c1n1 .*\n(.*\n)*.*monitor \| #\d+ PathReinstated nvme0n1 Path=nvme0c1n1/);
      const busDir = /--address=unix:path=(\S+)\/bus/.exec(out)![1];
      expect(groupMembers(g.pgid).length).toBeGreaterThanOrEqual(3); // npm, node, dbus-daemon
      const s = await stopWith(g, sig);
      expectCleanExit(s, g.output());
      expect(g.output()).toMatch(/stopping: service, simulator, private bus/);
      expect(fs.existsSync(busDir), g.output()).toBe(false);
    } finally {
      killGroup(g);
    }
  });
});

describe('serve', () => {
  let bus: PrivateBus;
  let config: string;
  beforeAll(async () => {
    bus = await startPrivateBus();
    config = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-stop-')), 'on.conf');
    fs.writeFileSync(config, 'enable = yes\nsocket = @multipath-dbus-nobody-listens\n');
  });
  afterAll(async () => bus.stop());

  const nameOwned = async () => (await run('busctl', [`--address=${bus.address}`, 'status', BUS_NAME])).code === 0;

  it.each([
    ['SIGINT', 'a bus that answers'],
    ['SIGTERM', 'a bus that has stopped answering (dbus-daemon stopped)'],
  ] as const)('one %s with %s: releases the name, exit 0', async (sig, busState) => {
    const frozen = busState.includes('stopped');
    const g = startGroup(CLI, ['serve', '--config', config, '--bus', bus.address, '--no-kernel']);
    try {
      await g.waitFor(/serving \d+ maps on/);
      expect(await nameOwned()).toBe(true);
      if (frozen) process.kill(bus.pid, 'SIGSTOP');
      const s = await stopWith(g, sig);
      if (frozen) process.kill(bus.pid, 'SIGCONT');
      expectCleanExit(s, g.output());
      expect(await nameOwned()).toBe(false);
    } finally {
      process.kill(bus.pid, 'SIGCONT');
      killGroup(g);
    }
  });
});

describe('monitor', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.stop());

  it('one SIGINT after it printed signals: exit 0', async () => {
    const g = startGroup(CLI, ['monitor', '--bus', h.bus.address]);
    try {
      await g.waitFor(/listening for the service's signals/);
      const dev = h.sim.maps()[0].paths[0].dev;
      h.kernel(h.sim.failPath(dev));
      h.kernel(h.sim.reinstatePath(dev));
      await g.waitFor(/#\d+ PathReinstated /);
      expectCleanExit(await stopWith(g, 'SIGINT'), g.output());
    } finally {
      killGroup(g);
    }
  });

  it('one SIGINT while the bus has stopped answering: exit 0 all the same', async () => {
    const g = startGroup(CLI, ['monitor', '--bus', h.bus.address]);
    try {
      await g.waitFor(/listening for the service's signals/);
      process.kill(h.bus.pid, 'SIGSTOP');
      const s = await stopWith(g, 'SIGINT');
      process.kill(h.bus.pid, 'SIGCONT');
      expectCleanExit(s, g.output());
    } finally {
      process.kill(h.bus.pid, 'SIGCONT');
      killGroup(g);
    }
  });

  it('a monitor that cannot start says why and exits, instead of staying connected', async () => {
    const other = await startPrivateBus();
    try {
      const g = startGroup(CLI, ['monitor', '--bus', other.address]);
      const exit = await Promise.race([g.exited, new Promise<null>((r) => setTimeout(() => r(null), 3 * STOP_BUDGET_MS))]);
      killGroup(g);
      expect(exit?.code, g.output()).toBe(2);
      expect(g.output()).toMatch(/is not running on this bus/);
    } finally {
      await other.stop();
    }
  });
});

describe.skipIf(process.getuid?.() !== 0)('events', () => {
  it('says when it listens; one SIGINT: exit 0', async () => {
    const g = startGroup(CLI, ['events']);
    try {
      await g.waitFor(/listening for multipath uevents/);
      expectCleanExit(await stopWith(g, 'SIGINT'), g.output());
    } finally {
      killGroup(g);
    }
  });
});

describe('a repeated signal, and a stop that hangs', () => {
  it('a repeat (npm forwards the one it got) is ignored; a stop still running after 5 s exits 1 by itself', async () => {
    // A command whose stopping never ends: it waits for the signal, then for nothing.
    const script = `require(${JSON.stringify(path.join(REPO, 'dist', 'cli', 'stop-signal.js'))}).stopRequested()
      .then((sig) => console.log('stopping on ' + sig));
      setInterval(() => undefined, 1000);
      console.log('ready');`;
    const g = startGroup(process.execPath, ['-e', script]);
    try {
      await g.waitFor(/ready/);
      const sent = g.signal('SIGINT');
      await g.waitFor(/stopping on SIGINT/);
      g.signal('SIGINT');
      g.signal('SIGTERM');
      const exit = await g.exited;
      expect({ code: exit.code, signal: exit.signal }, g.output()).toEqual({ code: 1, signal: null });
      expect(exit.at - sent).toBeGreaterThanOrEqual(4900);
      expect(g.output()).toMatch(/still running 5 s after SIGINT; exiting anyway/);
    } finally {
      killGroup(g);
    }
  });
});
