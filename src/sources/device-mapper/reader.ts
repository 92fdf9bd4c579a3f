// The kernel's own view of every multipath map, through device-mapper ioctls. It stays true
// while multipathd is down or hung, so it is the truth for path and group state.
import * as fs from 'node:fs';
import * as addon from '../../native/addon';
import type { DmDeviceInfo, DmEventWatch, DmTargetLine } from '../../native/addon';
import type { Result } from '../../util/result';
import { parseMultipathStatus, parseMultipathTable } from './multipath-status';
import type { DmMapView } from '../../model/readings';

/** The device-mapper seam: the addon by default, the simulator's fake in tests and the demo. */
export interface DmSource {
  dmListDevices(): DmDeviceInfo[];
  dmTableStatus(name: string, table: boolean): DmTargetLine[];
  /** device-mapper's global event counter, watched; absent (or throwing) where it cannot be: then it is polled. */
  watchEvents?(onEvent: () => void, onError: (e: Error) => void): DmEventWatch;
}

export const kernelDm: DmSource = {
  dmListDevices: () => addon.dmListDevices(),
  dmTableStatus: (name, table) => addon.dmTableStatus(name, table),
  watchEvents: (onEvent, onError) => addon.openDmEventWatch(onEvent, onError),
};

/** dev_t -> kernel name through /sys/dev/block, for paths multipathd has not named for us. */
function sysfsDeviceName(devT: string): string | undefined {
  try {
    const target = fs.readlinkSync(`/sys/dev/block/${devT}`);
    return target.slice(target.lastIndexOf('/') + 1);
  } catch {
    return undefined;
  }
}

export interface DmReadResult {
  /** Every device-mapper device, as listed. */
  devices: DmDeviceInfo[];
  maps: DmMapView[];
  /** Maps skipped because their lines did not parse (map name: reason). */
  skipped: string[];
}

/**
 * Every multipath map's table and status; `kept` may answer for a device instead (what an
 * earlier read found, when nothing says it changed since), so its two ioctls are spared.
 */
export function readDmMultipathMaps(
  dm: DmSource,
  resolveName: (devT: string) => string | undefined = sysfsDeviceName,
  kept: (dev: DmDeviceInfo) => DmMapView | undefined = () => undefined,
): Result<DmReadResult> {
  let devices: DmDeviceInfo[];
  try {
    devices = dm.dmListDevices();
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  const maps: DmMapView[] = [];
  const skipped: string[] = [];
  for (const dev of devices) {
    // Only multipathd's maps carry the mpath- uuid; skip LVM, crypt and kpartx partitions cheaply.
    if (!dev.uuid.startsWith('mpath-')) continue;
    const view = kept(dev);
    if (view) {
      maps.push(view);
      continue;
    }
    try {
      const table = dm.dmTableStatus(dev.name, true).filter((l) => l.targetType === 'multipath');
      const status = dm.dmTableStatus(dev.name, false).filter((l) => l.targetType === 'multipath');
      if (table.length !== 1 || status.length !== 1) {
        skipped.push(`${dev.name}: expected one multipath target, found ${table.length}`);
        continue;
      }
      const t = parseMultipathTable(table[0].params);
      const s = parseMultipathStatus(status[0].params);
      if (!t.ok || !s.ok) {
        skipped.push(`${dev.name}: ${!t.ok ? `table: ${t.error}` : ''}${!s.ok ? ` status: ${s.error}` : ''}`.trim());
        continue;
      }
      maps.push({
        name: dev.name,
        uuid: dev.uuid,
        devT: dev.devT,
        sizeSectors: table[0].start + table[0].length,
        status: s.value,
        table: t.value,
        resolveName,
      });
    } catch (e) {
      // The map went away between list and status: the next read will not see it either.
      skipped.push(`${dev.name}: ${(e as Error).message}`);
    }
  }
  return { ok: true, value: { devices, maps, skipped } };
}
