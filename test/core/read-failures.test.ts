// A refresh whose sources answer badly: multipathd's map list unreadable, its settings
// unreadable, device-mapper unreadable. Each costs what it must and no more: the published
// objects stay, the failure is logged once (not once per refresh), and the next good answer
// repairs it. The real service on a private bus; multipathd's replies are the test's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_IFACE, ROOT_PATH } from '../../src/frontends/dbus/api';
import { callMethod } from '../../src/frontends/dbus/bus/connection';
import { NativeError } from '../../src/native/addon';
import { MultipathdSimulator } from '../../src/sim/simulator';
import { ScriptedMultipathd, scriptedService, startPrivateBus, type PrivateBus, type ScriptedService } from '../helpers/scripted-service';
import { BUS_NAME } from '../helpers/service-harness';

let bus: PrivateBus;
beforeAll(async () => {
  bus = await startPrivateBus();
});
afterAll(async () => bus?.stop());

const manager = async (s: ScriptedService, name: string) =>
  ((await callMethod(s.client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MANAGER_IFACE, name])) as [unknown])[0];
const logged = (s: ScriptedService, re: RegExp) => s.logs.filter((l) => re.test(l));

describe('a refresh whose sources answer badly', () => {
  it('an unreadable map list: the objects stay; two in a row make multipathd unavailable, logged once; a good one repairs it', async () => {
    const sim = new MultipathdSimulator({ socket: '@unused', topology: { maps: 2, pathsPerMap: 2 } });
    const good = sim.showMapsJson();
    const multipathd = new ScriptedMultipathd(good);
    const s = await scriptedService(bus, { multipathd, dm: sim });
    try {
      await s.service.start();
      const before = await s.objects();
      multipathd.maps = '{"major_version": 0, "maps": [ {"name": ';
      for (let i = 0; i < 4; i++) expect(await s.refresh()).toBe('');
      expect(await manager(s, 'MultipathdAvailable')).toBe(false);
      expect(logged(s, /warning: multipathd unavailable: multipathd sent an unreadable map list/)).toHaveLength(1);
      // Every map, group and path as it was; only the Manager says multipathd is gone.
      const after = await s.objects();
      after.delete(ROOT_PATH);
      before.delete(ROOT_PATH);
      expect(after).toEqual(before);

      multipathd.maps = good;
      expect(await s.refresh()).toBe('');
      expect(await manager(s, 'MultipathdAvailable')).toBe(true);
      expect(s.signals.filter((x) => x.member === 'Resynchronized').map((x) => x.args[0])).toEqual(['multipathd-restart']);
    } finally {
      await s.stop();
    }
  });

  it("unreadable settings cost the Manager's settings only, logged once a read; read again at the next refresh", async () => {
    const sim = new MultipathdSimulator({ socket: '@unused', topology: { maps: 2, pathsPerMap: 2 } });
    const multipathd = new ScriptedMultipathd(sim.showMapsJson());
    const config = multipathd.config;
    multipathd.config = 'this is not\n\tmultipathd {{ configuration';
    const s = await scriptedService(bus, { multipathd, dm: sim });
    try {
      await s.service.start();
      expect((await s.objects()).size).toBe(1 + 2 * (1 + 2 + 2));
      expect(await manager(s, 'MultipathdAvailable')).toBe(true);
      expect(await manager(s, 'PollingInterval')).toBe(0);
      expect(logged(s, /warning: multipathd config unreadable/)).toHaveLength(1);

      multipathd.config = config;
      expect(await s.refresh()).toBe('');
      expect(multipathd.requests.filter((r) => r === 'show config')).toHaveLength(2);
      expect(await manager(s, 'PollingInterval')).toBeGreaterThan(0);
      expect(logged(s, /warning: multipathd config unreadable/)).toHaveLength(1);
    } finally {
      await s.stop();
    }
  });

  it("device-mapper unreadable: multipathd's view is served, the failure logged once, and the kernel's view returns with it", async () => {
    const sim = new MultipathdSimulator({ socket: '@unused', topology: { maps: 2, pathsPerMap: 2 } });
    const multipathd = new ScriptedMultipathd(() => sim.showMapsJson());
    let broken = true;
    const dm = {
      dmListDevices: () => {
        if (broken) throw new NativeError('open /dev/mapper/control: No such device', 19, 'ENODEV', 'open');
        return sim.dmListDevices();
      },
      dmTableStatus: (name: string, table: boolean) => sim.dmTableStatus(name, table),
    };
    const s = await scriptedService(bus, { multipathd, dm });
    try {
      await s.service.start();
      expect((await s.objects()).size).toBe(1 + 2 * (1 + 2 + 2));
      for (let i = 0; i < 3; i++) expect(await s.refresh()).toBe('');
      expect(logged(s, /warning: device-mapper unreadable: open \/dev\/mapper\/control: No such device/)).toHaveLength(1);

      // Only device-mapper knows this failure (multipathd's checker has not seen it yet).
      broken = false;
      const dev = sim.maps()[0].paths[0].dev;
      const json = sim.showMapsJson();
      multipathd.maps = json;
      sim.failPath(dev);
      expect(await s.refresh()).toBe('');
      expect(s.signals.some((x) => x.member === 'PathFailed')).toBe(true);
      broken = true;
      expect(await s.refresh()).toBe('');
      expect(logged(s, /warning: device-mapper unreadable/)).toHaveLength(2);
    } finally {
      await s.stop();
    }
  });
});
