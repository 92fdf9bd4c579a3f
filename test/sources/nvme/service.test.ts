// Native NVMe multipath through the whole service: a simulated sysfs tree (src/sim/nvme-sysfs.ts,
// laid out as Linux 6.1 lays it out, changed the way the kernel changes it: silently for ANA and
// controller states, with a uevent for controllers coming and going), read by the NVMe source,
// published on a private dbus-daemon beside the simulated dm-multipath maps, seen by a client.
// The same scenario on a real kernel is test/vm/scenarios/nvme-service.sh.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { groupObjectPath, MAP_IFACE, mapObjectPath, PATH_GROUP_IFACE, PATH_IFACE, pathObjectPath } from '../../../src/frontends/dbus/api';
import { callMethod, DBusCallError, getManagedObjects } from '../../../src/frontends/dbus/bus/connection';
import { NvmeSysfsSim } from '../../../src/sim/nvme-sysfs';
import { BUS_NAME, CLI, run, startHarness, type Harness, type Signal } from '../../helpers/service-harness';

// Namespace 1 is in ANA group 1: optimized through port 0 (controller nvme0), non-optimized
// through port 1 (nvme1). Namespace 2 is in group 2, the other way round.
const WWID1 = 'uuid.00000000-0000-4000-8000-000000000001';
const MAP1 = mapObjectPath(WWID1);
const VIA0 = pathObjectPath('nvme0c0n1');
const VIA1 = pathObjectPath('nvme0c1n1');

let h: Harness;
let nvme: NvmeSysfsSim;
beforeAll(async () => {
  nvme = new NvmeSysfsSim({ namespaces: 2, ports: 2, anaGroups: 2 });
  h = await startHarness('small', {}, undefined, { nvme: { root: nvme.root, pollIntervalMs: 100 } });
});
afterAll(async () => {
  await h?.stop();
  nvme?.destroy();
});
beforeEach(async () => {
  await h.settle(250);
  h.signals.length = 0;
});

const on = (path: string, member: string) => (s: Signal) => s.path === path && s.member === member;
const seen = (path: string, member: string, n = 1) => h.waitFor((all) => all.filter(on(path, member)).length >= n, `${member} on ${path}`);
/** Until a read of the bus shows what `pred` wants (every read is a GetManagedObjects: the truth a client sees). */
async function until(what: string, pred: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await h.settle(20);
  }
}
const props = async (path: string, iface: string) => (await getManagedObjects(h.client, BUS_NAME, '/org/kernel/linux/storage/multipath1')).get(path)?.get(iface);

describe('NVMe namespaces as maps', () => {
  it('coldplug publishes each namespace as one map of two paths beside the dm maps, with the NVMe fields filled', async () => {
    const all = await getManagedObjects(h.client, BUS_NAME, '/org/kernel/linux/storage/multipath1');
    const map = all.get(MAP1)!.get(MAP_IFACE)!;
    expect(map).toMatchObject({
      Kind: 'nvme',
      Name: 'nvme0n1',
      SysfsName: 'nvme0n1',
      Wwid: WWID1,
      SubsystemNqn: nvme.nqn(0),
      IoPolicy: 'numa',
      Product: 'Linux',
      NumPaths: 2,
      ValidPaths: 2,
      Health: 'optimal',
      PathGroups: [groupObjectPath(WWID1, 1)],
      Paths: [VIA0, VIA1],
      UDisksBlock: '/org/freedesktop/UDisks2/block_devices/nvme0n1',
      Features: '',
      DmState: '',
    });
    expect(map.Size).toBe(1n << 30n);
    expect(all.get(VIA0)!.get(PATH_IFACE)).toMatchObject({
      Device: 'nvme0c0n1',
      DevT: '',
      DmState: 'active',
      AnaState: 'optimized',
      Controller: 'nvme0',
      ControllerState: 'live',
      Transport: 'tcp',
      Address: 'traddr=127.0.0.1,trsvcid=4420,src_addr=127.0.0.1',
      Map: MAP1,
      PathGroup: groupObjectPath(WWID1, 1),
      UDisksBlock: '/',
    });
    expect(all.get(VIA1)!.get(PATH_IFACE)).toMatchObject({ AnaState: 'non-optimized', Controller: 'nvme1' });
    expect(all.get(groupObjectPath(WWID1, 1))!.get(PATH_GROUP_IFACE)).toMatchObject({ Number: 1, DmState: 'active', Paths: [VIA0, VIA1] });
    // The dm maps are all still there, and every dm map still says what it is.
    for (const m of h.sim.maps()) expect(all.get(mapObjectPath(m.wwid))!.get(MAP_IFACE)).toMatchObject({ Kind: 'dm-multipath', SubsystemNqn: '' });
  });

  it('status and show print the NVMe namespaces as they print dm maps, with the NVMe fields', async () => {
    const status = await run(CLI, ['status', '--bus', h.bus.address]);
    expect(status.stdout).toMatch(new RegExp(`^nvme0n1 +${WWID1.replace(/\./g, '\\.')} +optimal +2/2 paths$`, 'm'));
    const show = await run(CLI, ['show', '--bus', h.bus.address, 'nvme0n1']);
    expect(show.stdout).toBe(
      [
        `nvme0n1 (${WWID1}) nvme0n1 NVMe,Linux [optimal, 2/2 paths valid]`,
        `size=1.0G subsystem=${nvme.nqn(0)} iopolicy=numa`,
        '`-+- ana-group=1 status=active',
        '  |- nvme0c0n1 nvme0 tcp traddr=127.0.0.1,trsvcid=4420,src_addr=127.0.0.1 active live optimized',
        '  `- nvme0c1n1 nvme1 tcp traddr=127.0.0.1,trsvcid=4421,src_addr=127.0.0.1 active live non-optimized',
        '',
      ].join('\n'),
    );
  });

  it('an ANA state set with no uevent: PathFailed and a degraded map; both paths: Failed; back: PathReinstated and Restored', async () => {
    nvme.setPortAnaState(1, 1, 'inaccessible');
    await seen(MAP1, 'PathFailed');
    expect(h.signals.find(on(MAP1, 'PathFailed'))!.args.slice(0, 4)).toEqual([VIA1, '', 1, 0]);
    expect(await props(MAP1, MAP_IFACE)).toMatchObject({ Health: 'degraded', ValidPaths: 1 });
    expect(await props(VIA1, PATH_IFACE)).toMatchObject({ DmState: 'failed', AnaState: 'inaccessible' });

    nvme.setPortAnaState(0, 1, 'persistent-loss');
    await seen(MAP1, 'Failed');
    expect(h.signals.filter(on(MAP1, 'PathFailed')).map((s) => s.args[0])).toEqual([VIA1, VIA0]);
    expect(await props(MAP1, MAP_IFACE)).toMatchObject({ Health: 'failed', ValidPaths: 0 });
    expect(await props(groupObjectPath(WWID1, 1), PATH_GROUP_IFACE)).toMatchObject({ DmState: 'disabled' });

    nvme.setPortAnaState(0, 1, 'optimized');
    nvme.setPortAnaState(1, 1, 'non-optimized');
    await seen(MAP1, 'Restored');
    await seen(MAP1, 'PathReinstated', 2);
    expect(await props(MAP1, MAP_IFACE)).toMatchObject({ Health: 'optimal', ValidPaths: 2 });
    // A path failing or coming back is not a policy change.
    // (ActiveGroup does change: with no usable path there is none.)
    expect(h.signals.filter(on(MAP1, 'PolicyChanged')).map((s) => s.args[0])).toEqual([['ActiveGroup'], ['ActiveGroup']]);
    // Namespace 2 (group 2) was never touched.
    expect(h.signals.filter((s) => s.path === mapObjectPath('uuid.00000000-0000-4000-8000-000000000002') && s.member !== 'PropertiesChanged')).toEqual([]);
  });

  it('optimized and non-optimized trading places is PolicyChanged(AnaState), no path failing', async () => {
    nvme.setPortAnaState(0, 1, 'non-optimized');
    nvme.setPortAnaState(1, 1, 'optimized');
    await h.waitFor((all) => all.some((s) => on(MAP1, 'PolicyChanged')(s) && (s.args[0] as string[]).includes('AnaState')), 'PolicyChanged(AnaState)');
    expect(h.signals.filter(on(MAP1, 'PathFailed'))).toEqual([]);
    expect(await props(VIA1, PATH_IFACE)).toMatchObject({ AnaState: 'optimized', DmState: 'active' });
    nvme.setPortAnaState(0, 1, 'optimized');
    nvme.setPortAnaState(1, 1, 'non-optimized');
    await until('back to non-optimized', async () => (await props(VIA1, PATH_IFACE))?.AnaState === 'non-optimized');
  });

  it('a controller leaving live fails its paths in every namespace; live again reinstates them', async () => {
    nvme.setControllerState('nvme1', 'connecting');
    await seen(MAP1, 'PathFailed');
    await seen(mapObjectPath('uuid.00000000-0000-4000-8000-000000000002'), 'PathFailed');
    expect(await props(VIA1, PATH_IFACE)).toMatchObject({ DmState: 'failed', ControllerState: 'connecting', AnaState: 'non-optimized' });
    nvme.setControllerState('nvme1', 'live');
    h.kernel([nvme.controllerUevent('change', 'nvme1')]);
    await seen(MAP1, 'PathReinstated');
    expect(await props(VIA1, PATH_IFACE)).toMatchObject({ DmState: 'active', ControllerState: 'live' });
  });

  it('management methods answer NotSupported on NVMe maps and paths, and nothing is asked of multipathd', async () => {
    const calls: [string, string, string, string, unknown[]][] = [
      [VIA0, PATH_IFACE, 'Fail', 'a{sv}', [{}]],
      [VIA0, PATH_IFACE, 'Reinstate', 'a{sv}', [{}]],
      [MAP1, MAP_IFACE, 'SwitchGroup', 'ua{sv}', [1, {}]],
      [MAP1, MAP_IFACE, 'SetQueueing', 'ba{sv}', [false, {}]],
      [MAP1, MAP_IFACE, 'Resize', 'a{sv}', [{}]],
    ];
    const sent = () => h.sim.requests.filter((r) => !r.startsWith('show ')).length;
    const before = sent();
    for (const [path, iface, member, signature, args] of calls) {
      const e = await callMethod(h.client, BUS_NAME, path, iface, member, signature, args).catch((x: unknown) => x);
      expect(e, member).toBeInstanceOf(DBusCallError);
      expect((e as DBusCallError).type, member).toBe('org.freedesktop.DBus.Error.NotSupported');
      expect((e as DBusCallError).detail).toMatch(/no meaning for an NVMe namespace/);
    }
    expect(sent()).toBe(before);
  });

  it('a controller deleted (its uevent) removes its paths; connected again, they come back', async () => {
    nvme.removeController('nvme1');
    h.kernel([nvme.controllerUevent('remove', 'nvme1')]);
    await h.waitFor((all) => all.filter((s) => s.member === 'InterfacesRemoved').length >= 2, 'two paths removed');
    expect(await props(VIA1, PATH_IFACE)).toBeUndefined();
    expect(await props(MAP1, MAP_IFACE)).toMatchObject({ NumPaths: 1, Paths: [VIA0], Health: 'optimal' });
    const again = nvme.addController(0, 1);
    h.kernel([nvme.controllerUevent('add', again)]);
    const via = pathObjectPath(`nvme0c${again.slice(4)}n1`);
    await until('the new path', async () => (await props(via, PATH_IFACE)) !== undefined);
    expect(await props(MAP1, MAP_IFACE)).toMatchObject({ NumPaths: 2, ValidPaths: 2 });
  });
});
