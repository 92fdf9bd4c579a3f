// `multipath-dbus monitor` (and the demo, which runs it) believes only the service, and
// misses nothing. Any uid may send a signal addressed to the monitor's connection, with the
// service's paths, interfaces and a serial of its choosing: 2^64-1 once made the monitor
// print it and then drop every real event as already seen. Run as a user runs it, in its own
// process group, the monitor must print none of it, keep printing real events, and print
// every event once and in order even when the service had to drop signals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { BUS_NAME, MAP_IFACE } from '../../src/frontends/dbus/api';
import { callMethod, connectBus, disconnect } from '../../src/frontends/dbus/bus/connection';
import { CLI, startHarness, type Harness } from '../helpers/service-harness';
import { groupMembers, killGroup, startGroup, type GroupRun } from '../helpers/process-group';
import { connectionsOf, forge, FORGED_MAP, MAX_SERIAL } from '../helpers/forged-signals';
import { NOBODY } from '../helpers/dbus-daemon';
import { worldReadable } from '../helpers/world-readable-copy';

const REPO = path.resolve(__dirname, '..', '..');

/** The monitor as root, or as `uid` (from a copy it can read) the way that user would start it. */
async function startMonitor(h: Harness, uid?: number): Promise<{ g: GroupRun; name: string }> {
  const args = ['monitor', '--bus', h.bus.address];
  const g =
    uid === undefined
      ? startGroup(CLI, args)
      : startGroup('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', worldReadable('bin/multipath-dbus'), ...args], { cwd: '/' });
  await g.waitFor(/listening for the service's signals/);
  const [name] = await connectionsOf(h.client, groupMembers(g.pgid));
  return { g, name };
}

/** Serials the monitor printed, in the order it printed them. */
const printedSerials = (out: string) => [...out.matchAll(/^#(\d+) /gm)].map((m) => BigInt(m[1]));

/** Poll a condition of the service (not of the monitor under test) until it holds. */
async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('monitor', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.stop());

  /** A real path failure and its return, from the simulator; resolves once the monitor printed the return. */
  async function flap(g: GroupRun) {
    const map = h.sim.maps()[0];
    const dev = map.paths[0].dev;
    const line = `#\\d+ PathReinstated ${map.name} Path=${dev} `;
    const seen = g.output().match(new RegExp(line, 'g'))?.length ?? 0;
    h.kernel(h.sim.failPath(dev));
    h.kernel(h.sim.reinstatePath(dev));
    await g.waitFor(new RegExp(`(?:[^]*${line}){${seen + 1}}`), 10_000);
    return { map, dev };
  }

  it('Map.Failed from uid 65534 with the next serial and with 2^64-1: neither printed, the real failure that follows is', async () => {
    const { g, name } = await startMonitor(h);
    try {
      const next = h.service.eventSerial + 1n;
      await forge(h.bus.address, [name], [{ mapFailed: next }, { mapFailed: MAX_SERIAL }]);
      const { map, dev } = await flap(g);
      expect(g.output()).not.toMatch(/forged|18446744073709551615/);
      expect(g.output()).toMatch(new RegExp(`#${next} PathFailed ${map.name} Path=${dev} `));
    } finally {
      killGroup(g);
    }
  });

  it("a forged NameOwnerChanged handing uid 65534 the service's name changes nothing", async () => {
    const { g, name } = await startMonitor(h);
    try {
      const [owner] = (await callMethod(h.client, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetNameOwner', 's', [BUS_NAME])) as [string];
      await forge(h.bus.address, [name], [{ nameTakenFromUs: owner }, { mapFailed: h.service.eventSerial + 1n }]);
      await flap(g);
      expect(g.output()).not.toMatch(/forged|left the bus|restarted/);
    } finally {
      killGroup(g);
    }
  });

  it('a serial far ahead from the service itself is checked against GetEvents (by uid 65534, as the policy allows), not believed', async () => {
    const { g } = await startMonitor(h, NOBODY);
    try {
      const next = h.service.eventSerial + 1n;
      h.serviceBus.sendSignal(FORGED_MAP, MAP_IFACE, 'Failed', 't', [MAX_SERIAL]);
      const { map, dev } = await flap(g);
      expect(g.output()).not.toMatch(/forged|18446744073709551615|cannot read/);
      expect(g.output()).toMatch(new RegExp(`#${next} PathFailed ${map.name} Path=${dev} `));
    } finally {
      killGroup(g);
    }
  });

  it("the service restarts (its serials start again): the monitor says so and prints the new instance's events", async () => {
    const { g } = await startMonitor(h);
    try {
      await flap(g);
      await h.stopService();
      await h.startService();
      const { map, dev } = await flap(g);
      const [before, after] = g.output().split('# the service restarted');
      expect(before).toMatch(/# the service left the bus/);
      // The new instance's history from its first event (its coldplug), then the failure.
      expect(after).toMatch(new RegExp(`^[^]*\\n#1 [^]*\\n#\\d+ PathFailed ${map.name} Path=${dev} `));
    } finally {
      killGroup(g);
    }
  });
});

describe('monitor, when the service drops signals (a bus that stopped reading)', () => {
  it('prints every event once and in order: the gaps are filled from GetEvents', async () => {
    const tight = await startHarness({ maps: 16, pathsPerMap: 4 }, { historySize: 8192 }, 256 * 1024);
    const { g } = await startMonitor(tight);
    try {
      const first = tight.service.eventSerial + 1n;
      const devs = tight.sim.maps().flatMap((m) => m.paths.map((p) => p.dev));
      const datagrams: Buffer[] = [];
      for (let round = 0; round < 96; round++) for (const d of devs) datagrams.push(...(round % 2 ? tight.sim.reinstatePath(d) : tight.sim.failPath(d)));
      process.kill(tight.bus.pid, 'SIGSTOP');
      try {
        tight.kernel(datagrams);
        await until(() => tight.service.stats.signalsDropped > 0, 'the service to drop signals');
      } finally {
        process.kill(tight.bus.pid, 'SIGCONT');
      }
      await g.waitFor(/Resynchronized \S+ Reason=backpressure/, 30_000);
      const last = tight.service.eventSerial;
      await g.waitFor(new RegExp(`^#${last} `, 'm'), 30_000);
      const serials = printedSerials(g.output());
      expect(serials.length).toBe(Number(last - first + 1n));
      expect(serials.every((s, i) => s === first + BigInt(i))).toBe(true);
    } finally {
      killGroup(g);
      await tight.stop();
    }
  }, 90_000);
});

describe('npm run demo', () => {
  it("its monitor prints no forged event and keeps printing the simulation's", async () => {
    const g = startGroup('npm', ['run', 'demo', '--', '--interval', '1'], { cwd: REPO });
    try {
      const out = await g.waitFor(/monitor \| #\d+ Path(Failed|Reinstated) /);
      const address = /--address=(unix:path=\S+)/.exec(out)![1];
      const client = await connectBus(address);
      let names: string[];
      try {
        names = await connectionsOf(client, groupMembers(g.pgid));
      } finally {
        disconnect(client);
      }
      await forge(address, names, [{ mapFailed: MAX_SERIAL }]);
      const step = /monitor \| #\d+ Path(?:Failed|Reinstated) /;
      const printed = (g.output().match(new RegExp(step, 'g')) ?? []).length;
      // Two more simulated steps, a second apart, printed after the forgery reached the monitor.
      await g.waitFor(new RegExp(`(?:[^]*${step.source}){${printed + 2}}`), 15_000);
      expect(g.output()).not.toMatch(/forged|18446744073709551615/);
    } finally {
      killGroup(g);
    }
  }, 40_000);
});
