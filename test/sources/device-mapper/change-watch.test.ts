// Map changes the kernel sends no uevent for: a path group switched behind multipathd's back
// (`dmsetup message … switch_group`) and a map reloaded without a deleted path. The
// device-mapper source watches the kernel's event counters (the simulator's, here) and the
// engine reads device-mapper alone: clients hear within the poll, not at the 60 s safety net,
// and multipathd is not asked. While nothing changes, nothing is read.
import { afterEach, describe, expect, it } from 'vitest';
import type { SourceEvents } from '../../../src/core/ports';
import { MANAGER_IFACE, MAP_IFACE, mapObjectPath, pathObjectPath, ROOT_PATH } from '../../../src/frontends/dbus/api';
import { callMethod } from '../../../src/frontends/dbus/bus/connection';
import { NativeError, type DmDeviceInfo } from '../../../src/native/addon';
import { MultipathdSimulator } from '../../../src/sim/simulator';
import type { DmSource } from '../../../src/sources/device-mapper/reader';
import { DeviceMapperSource } from '../../../src/sources/device-mapper/source';
import { createLogger } from '../../../src/util/log';
import { fakeTimers, settle } from '../../helpers/fake-timers';
import { BUS_NAME, startHarness, type Harness, type Signal } from '../../helpers/service-harness';

const ONE_MAP = { maps: 1, pathsPerMap: 2, groupsPerMap: 2 };

describe.skipIf(process.getuid?.() !== 0)('a map change no uevent announces, on the bus', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  const activeGroupChanged = (wwid: string) => (s: Signal[]) =>
    s.some((x) => x.member === 'PolicyChanged' && x.path === mapObjectPath(wwid) && x.iface === MAP_IFACE && (x.args[0] as string[]).includes('ActiveGroup'));

  /** Runs `change` and resolves with how long until the signals satisfy `seen`; multipathd is not asked meanwhile. */
  async function timed(h: Harness, change: () => void, seen: (s: Signal[]) => boolean, what: string): Promise<number> {
    const requests = h.sim.requests.length;
    const t0 = performance.now();
    change();
    await h.waitFor(seen, what, 5000);
    const ms = performance.now() - t0;
    expect(h.sim.requests.slice(requests)).toEqual([]);
    return ms;
  }

  it('a group switched with no uevent: PolicyChanged(ActiveGroup) at the next list of the devices (kernel_poll_interval 1)', async () => {
    h = await startHarness(ONE_MAP, { kernelPollInterval: 1 });
    const map = h.sim.topology.maps[0];
    const ms = await timed(h, () => h!.sim.topology.switchGroup(map, 2), activeGroupChanged(map.wwid), 'PolicyChanged(ActiveGroup)');
    console.log(`switch_group without a uevent, device list polled each second: PolicyChanged after ${ms.toFixed(0)} ms`);
    // The poll's interval, and a read of one map.
    expect(ms).toBeLessThan(2000);
  });

  it('where the event counter is watched: a group switched and a map reloaded without a path, published at once', async () => {
    h = await startHarness(ONE_MAP, {}, undefined, { dmEvents: true });
    const map = h.sim.topology.maps[0];
    const switched = await timed(h, () => h!.sim.topology.switchGroup(map, 2), activeGroupChanged(map.wwid), 'PolicyChanged(ActiveGroup)');
    const gone = map.paths[1];
    const removed = (s: Signal[]) => s.some((x) => x.member === 'InterfacesRemoved' && x.args[0] === pathObjectPath(gone.dev));
    // The resume's change event is not delivered: only the watch can tell.
    const reloaded = await timed(h, () => h!.sim.deletePath(gone.dev), removed, `the removal of ${gone.dev}`);
    console.log(`watched event counter: PolicyChanged after ${switched.toFixed(0)} ms, ${gone.dev}'s object removed after ${reloaded.toFixed(0)} ms`);
    expect(switched).toBeLessThan(1000);
    expect(reloaded).toBeLessThan(1000);
    expect([...h.service.topology.values()].flatMap((m) => [...m.paths.values()].map((p) => p.device))).toEqual([map.paths[0].dev]);
  });

  it("the watch's read of one map costs no full collection; a read of every source (Refresh) still collects", async () => {
    let collections = 0;
    h = await startHarness(ONE_MAP, {}, undefined, { dmEvents: true, timing: { releaseMemory: () => collections++ } });
    expect(collections).toBe(1);
    const map = h.sim.topology.maps[0];
    for (const group of [2, 1]) {
      const before = h.signals.length;
      await timed(h, () => h!.sim.topology.switchGroup(map, group), (s) => activeGroupChanged(map.wwid)(s.slice(before)), `PolicyChanged(ActiveGroup) to group ${group}`);
    }
    expect(collections).toBe(1);
    await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', '', []);
    expect(collections).toBe(2);
  });
});

/** The simulator's device-mapper, counting what is asked of it. */
function counted(sim: MultipathdSimulator, watch: boolean) {
  const calls = { lists: 0, tables: 0 };
  const extra: DmDeviceInfo[] = [];
  const dm: DmSource = {
    dmListDevices: () => (calls.lists++, [...sim.dmListDevices(), ...extra]),
    dmTableStatus: (name, table) => (calls.tables++, sim.dmTableStatus(name, table)),
    ...(watch ? { watchEvents: (onEvent: () => void) => sim.watchEvents(onEvent) } : {}),
  };
  return { dm, calls, extra };
}

/** Started and read once, as the engine does at coldplug; what it asks is counted from then on. */
function started({ dm, calls }: ReturnType<typeof counted>, intervalMs = 1000) {
  const { timers, advance } = fakeTimers();
  const logs: string[] = [];
  const source = new DeviceMapperSource(dm, createLogger('debug', (l) => logs.push(l), false), { timers, intervalMs });
  let changes = 0;
  const events: SourceEvents = { event: () => {}, lost: () => {}, healthChanged: () => {}, changed: () => changes++ };
  source.start(events);
  source.read();
  Object.assign(calls, { lists: 0, tables: 0 });
  return { source, advance, logs, changes: () => changes };
}

describe('the device-mapper watch', () => {
  const sim = () => new MultipathdSimulator({ socket: '@unused', topology: { maps: 3, pathsPerMap: 4, groupsPerMap: 2 } });

  it('where the counter cannot be watched, lists the devices each interval and reads no map while none changed', async () => {
    const s = sim();
    const c = counted(s, false);
    const w = started(c);
    await w.advance(10_000);
    expect(c.calls).toEqual({ lists: 10, tables: 0 });
    expect(w.changes()).toBe(0);
    s.topology.switchGroup(s.topology.maps[1], 2);
    await w.advance(1000);
    expect(w.changes()).toBe(1);
    w.source.stop();
    await w.advance(10_000);
    expect(c.calls.lists).toBe(11);
  });

  it('with kernel_poll_interval 0 lists nothing after the start', async () => {
    const c = counted(sim(), false);
    const w = started(c, 0);
    await w.advance(60_000);
    expect(c.calls).toEqual({ lists: 0, tables: 0 });
  });

  it('while watched, asks the kernel nothing until its counter moves', async () => {
    const s = sim();
    const c = counted(s, true);
    const w = started(c);
    await w.advance(60_000);
    expect(c.calls).toEqual({ lists: 0, tables: 0 });
    s.topology.switchGroup(s.topology.maps[2], 2);
    await settle();
    expect(w.changes()).toBe(1);
    expect(c.calls).toEqual({ lists: 1, tables: 0 });
    // The read that follows asks for that map's table and status alone; the others are kept.
    const read = w.source.read();
    expect(c.calls).toEqual({ lists: 2, tables: 2 });
    expect(read.readings?.dm?.map((m) => [m.name, m.status.nextGroup])).toEqual([
      ['mpatha', 1],
      ['mpathb', 1],
      ['mpathc', 2],
    ]);
    // A read the engine wants for its own reasons (a uevent, the safety net) reads every map.
    w.source.read();
    expect(c.calls.tables).toBe(2 + 2 * 3);
  });

  it('ignores another target\'s event, and takes a wakeup nothing listed explains for a reload', async () => {
    const s = sim();
    const c = counted(s, true);
    const { extra } = c;
    extra.push({ name: 'vg-lv', uuid: 'LVM-abc', devT: '254:99', eventNr: 0 });
    const w = started(c);
    // An LVM volume's table event: its counter moved, no multipath map's did.
    extra[0] = { ...extra[0], eventNr: 1 };
    s.topology.onDmEvent();
    await settle();
    expect(w.changes()).toBe(0);
    // A multipath map reloaded (dm_swap_table): only the global counter moved.
    s.deletePath(s.topology.maps[0].paths[3].dev);
    await settle();
    expect(w.changes()).toBe(1);
    // Which map was reloaded is not known: every one is read.
    c.calls.tables = 0;
    expect(w.source.read().readings?.dm?.[0].table.groups[1].paths).toHaveLength(1);
    expect(c.calls.tables).toBe(2 * 3);
  });

  it('polls where the kernel refuses to arm the watch (before Linux 4.13), and says so', async () => {
    const s = sim();
    const c = counted(s, false);
    c.dm.watchEvents = () => {
      throw new NativeError('ioctl DM_DEV_ARM_POLL: Inappropriate ioctl for device', 25, 'ENOTTY', 'ioctl');
    };
    const w = started(c);
    expect(w.logs.join('')).toContain("device-mapper's event counter cannot be watched (ioctl DM_DEV_ARM_POLL: Inappropriate ioctl for device): listing its devices every 1 s instead");
    await w.advance(3000);
    expect(c.calls.lists).toBe(3);
  });
});
