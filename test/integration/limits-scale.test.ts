// The sizes where GetManagedObjects is past the system bus's 32 MiB limit (about 48 MiB at
// 8,192 maps of 4 paths, 36 MiB at 2,048 of 16), on a dbus-daemon with exactly that
// max_message_size: the service stays on the bus and `status` reads every map, in pages.
import { afterEach, describe, expect, it } from 'vitest';
import { MANAGER_IFACE } from '../../src/dbus/api';
import { callMethod } from '../../src/dbus/connection';
import { BUS_NAME, busctl, CLI, ROOT_PATH, run, startHarness, type Harness } from '../helpers/service-harness';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe.each([
  { maps: 8192, pathsPerMap: 4 },
  { maps: 2048, pathsPerMap: 16 },
])('$maps maps x $pathsPerMap paths on a 32 MiB bus', (topology) => {
  it('GetManagedObjects is refused with LimitsExceeded, the service stays up, and status reads every map', async () => {
    h = await startHarness(topology, {}, undefined, { maxMessageSize: 32 * 1024 * 1024 });
    const gmo = await busctl(h, 'call', BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects');
    expect(gmo.code).not.toBe(0);
    expect(gmo.stderr).toMatch(/GetManagedObjectsPage/);
    const status = await run(CLI, ['status', '--bus', h.bus.address]);
    expect(status.code, status.stderr).toBe(0);
    const lines = status.stdout.trim().split('\n');
    expect(lines).toHaveLength(topology.maps);
    expect(lines.every((l) => l.endsWith(`${topology.pathsPerMap}/${topology.pathsPerMap} paths`))).toBe(true);
    const [owned] = await callMethod(h.client, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', 's', [BUS_NAME]);
    expect(owned).toBe(true);
    const [health] = await callMethod(h.client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MANAGER_IFACE, 'Health']);
    expect(health).toBe('optimal');
  }, 300_000);
});
