// The sizes where GetManagedObjects is past the system bus's 32 MiB limit (about 48 MiB at
// 8,192 maps of 4 paths, 36 MiB at 2,048 of 16), on a dbus-daemon with exactly that
// max_message_size: the service stays on the bus and busctl reads every object in pages.
// (show/status/monitor switching to pages: test/integration/limits.test.ts, on a smaller
// limit; dbus-next's decoder would make them take half a minute here, see README Performance.)
import { afterEach, describe, expect, it } from 'vitest';
import { MANAGER_IFACE } from '../../src/frontends/dbus/api';
import { callMethod } from '../../src/frontends/dbus/bus/connection';
import { busctlPages } from '../helpers/pages';
import { BUS_NAME, busctl, ROOT_PATH, startHarness, type Harness } from '../helpers/service-harness';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe.each([
  { maps: 8192, pathsPerMap: 4 },
  { maps: 2048, pathsPerMap: 16 },
])('$maps maps x $pathsPerMap paths on a 32 MiB bus', (topology) => {
  it('GetManagedObjects is refused with LimitsExceeded, the service stays up, and every object is read in pages', async () => {
    h = await startHarness(topology, {}, undefined, { maxMessageSize: 32 * 1024 * 1024 });
    const gmo = await busctl(h, 'call', BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects');
    expect(gmo.code).not.toBe(0);
    expect(gmo.stderr).toMatch(/GetManagedObjectsPage/);
    const { objects } = await busctlPages(h);
    const groups = Math.min(2, topology.pathsPerMap);
    expect(Object.keys(objects)).toHaveLength(1 + topology.maps * (1 + groups + topology.pathsPerMap));
    const maps = Object.values(objects as Record<string, Record<string, { Paths?: { data: string[] } }>>).flatMap((o) => o[`${BUS_NAME}.Map`] ?? []);
    expect(maps).toHaveLength(topology.maps);
    expect(maps.every((m) => m.Paths!.data.length === topology.pathsPerMap)).toBe(true);
    const [owned] = await callMethod(h.client, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', 's', [BUS_NAME]);
    expect(owned).toBe(true);
    const [health] = await callMethod(h.client, BUS_NAME, ROOT_PATH, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MANAGER_IFACE, 'Health']);
    expect(health).toBe('optimal');
  }, 300_000);
});
