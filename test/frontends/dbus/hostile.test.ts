// Careless or hostile callers get proper D-Bus errors, and the service keeps answering.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_IFACE, MAP_IFACE, mapObjectPath } from '../../../src/frontends/dbus/api';
import { callMethod } from '../../../src/frontends/dbus/bus/connection';
import { MAX_EVENTS_PER_CALL } from '../../../src/core/history';
import { BUS_NAME, busctl, ROOT_PATH, startHarness, type Harness } from '../../helpers/service-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('small');
});
afterAll(async () => h?.stop());

describe('hostile callers', () => {
  it('wrong argument types: InvalidArgs', async () => {
    const r = await busctl(h, 'call', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetEvents', 's', 'lots');
    expect(r.stderr).toMatch(/takes arguments of type "tu"/);
    await expect(callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh', 'u', [1])).rejects.toThrow(/InvalidArgs/);
  });

  it('unknown objects, interfaces, methods and properties: the matching errors', async () => {
    await expect(callMethod(h.client, BUS_NAME, `${ROOT_PATH}/maps/nothing`, MAP_IFACE, 'Foo', '', [])).rejects.toThrow(/UnknownObject/);
    await expect(callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Explode', '', [])).rejects.toThrow(/UnknownMethod/);
    await expect(callMethod(h.client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.Properties', 'Get', 'ss', ['no.such.Iface', 'X'])).rejects.toThrow(
      /UnknownInterface/,
    );
    await expect(callMethod(h.client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MANAGER_IFACE, 'Nope'])).rejects.toThrow(
      /UnknownProperty/,
    );
    const mapPath = mapObjectPath(h.sim.maps()[0].wwid);
    await expect(callMethod(h.client, BUS_NAME, mapPath, MANAGER_IFACE, 'Refresh', '', [])).rejects.toThrow(/UnknownMethod/);
  });

  it('GetEvents with a huge max is capped', async () => {
    for (let i = 0; i < 700; i++) {
      const dev = h.sim.maps()[0].paths[0].dev;
      h.kernel(h.sim.failPath(dev));
      h.kernel(h.sim.reinstatePath(dev));
    }
    const [, events] = (await callMethod(h.client, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetEvents', 'tu', [0n, 0xffffffff])) as [boolean, unknown[]];
    expect(events).toHaveLength(MAX_EVENTS_PER_CALL);
  });

  it('still answers after all of that', async () => {
    const [v] = await callMethod(h.client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MANAGER_IFACE, 'Health']);
    expect(v).toBe('optimal');
  });
});
