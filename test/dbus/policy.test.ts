// The access policy, as an unprivileged uid sees it on a bus that includes our policy file:
// reading is open, writing properties and owning the name are denied.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGER_IFACE, MAP_IFACE, mapObjectPath } from '../../src/dbus/api';
import { NOBODY, runAs } from '../helpers/dbus-daemon';
import { BUS_NAME, ROOT_PATH, run, startHarness, type Harness } from '../helpers/service-harness';
import { worldReadable } from '../helpers/world-readable-copy';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('small');
});
afterAll(async () => h?.stop());

const asNobody = (...args: string[]) => runAs(NOBODY, 'busctl', [`--address=${h.bus.address}`, ...args]);

describe.skipIf(process.getuid?.() !== 0)('policy as uid 65534', () => {
  it('may introspect and read properties', async () => {
    const tree = await asNobody('tree', BUS_NAME);
    expect(tree.code, tree.stderr).toBe(0);
    expect(tree.stdout).toContain(mapObjectPath(h.sim.maps()[0].wwid));
    const health = await asNobody('get-property', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Health');
    expect(health.stdout.trim()).toBe('s "optimal"');
    const all = await asNobody('introspect', BUS_NAME, mapObjectPath(h.sim.maps()[0].wwid), MAP_IFACE);
    expect(all.code, all.stderr).toBe(0);
  });

  it('may call GetManagedObjects, GetEvents and Refresh', async () => {
    const objs = await asNobody('call', BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects');
    expect(objs.code, objs.stderr).toBe(0);
    const ev = await asNobody('call', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetEvents', 'tu', '0', '10');
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stdout).toMatch(/^ba\(tsoa\{sv\}\) true/);
    const r = await asNobody('call', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Refresh');
    expect(r.code, r.stderr).toBe(0);
  });

  it('the status command works unprivileged', async () => {
    const r = await runAs(NOBODY, worldReadable('bin/multipath-dbus'), ['status', '--bus', h.bus.address]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(h.sim.maps().length);
  });

  it('may not Set a property: AccessDenied from the bus', async () => {
    const r = await asNobody('set-property', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Health', 's', 'optimal');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Access denied|AccessDenied/i);
  });

  it('may not own the name', async () => {
    // gdbus rather than our own client: it needs no file of the checkout.
    const DO_NOT_QUEUE = '4';
    const bus = ['--address', h.bus.address, '--dest', 'org.freedesktop.DBus', '--object-path', '/org/freedesktop/DBus'];
    const r = await runAs(NOBODY, 'gdbus', ['call', ...bus, '--method', 'org.freedesktop.DBus.RequestName', BUS_NAME, DO_NOT_QUEUE]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/AccessDenied/);
  });
});

describe('root and the service itself', () => {
  it('Set is refused by the service as well (read-only properties)', async () => {
    const r = await run('busctl', [`--address=${h.bus.address}`, 'set-property', BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'Health', 's', 'optimal']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/read-only/i);
  });
});
