// The model as D-Bus objects: pure functions from snapshots to property values, so the
// export layer only mirrors what the model holds.
import {
  escapePathElement,
  groupObjectPath,
  MAP_IFACE,
  mapObjectPath,
  PATH_GROUP_IFACE,
  PATH_IFACE,
  pathObjectPath,
} from '../dbus/api';
import type { Props } from '../dbus/object-server';
import { mapHealth, validPaths, type MapState, type PathState } from '../model/topology';

export function pathObjectFor(p: PathState): string {
  return pathObjectPath(p.device || p.devT);
}

export function udisksBlockPath(device: string): string {
  return device ? `/org/freedesktop/UDisks2/block_devices/${escapePathElement(device)}` : '/';
}

/** Every object one map contributes: the map, its groups, its paths. */
export function mapObjects(map: MapState): Map<string, Map<string, Props>> {
  const out = new Map<string, Map<string, Props>>();
  const mapPath = mapObjectPath(map.wwid);
  const groupPaths = map.groups.map((g) => groupObjectPath(map.wwid, g.number));
  const pathPaths = [...map.paths.values()].map(pathObjectFor);
  out.set(
    mapPath,
    new Map([
      [
        MAP_IFACE,
        {
          Name: map.name,
          Wwid: map.wwid,
          SysfsName: map.sysfsName,
          DevT: map.devT,
          Size: map.size,
          Vendor: map.vendor,
          Product: map.product,
          Revision: map.revision,
          Features: map.features,
          HardwareHandler: map.hardwareHandler,
          WriteProtect: map.writeProtect,
          DmState: map.dmState,
          Failback: map.failback,
          Queueing: map.queueing,
          Health: mapHealth(map),
          NumPaths: map.paths.size,
          ValidPaths: validPaths(map),
          PathFaults: map.pathFaults,
          SwitchGroup: map.switchGroup,
          MapLoads: map.mapLoads,
          QueueTimeouts: map.queueTimeouts,
          PathGroups: groupPaths,
          Paths: pathPaths,
        },
      ],
    ]),
  );
  for (const [i, g] of map.groups.entries()) {
    out.set(
      groupPaths[i],
      new Map([
        [
          PATH_GROUP_IFACE,
          {
            Number: g.number,
            Selector: g.selector,
            Priority: g.priority,
            DmState: g.dmState,
            Marginal: g.marginal,
            Map: mapPath,
            Paths: g.paths.flatMap((devT) => {
              const p = map.paths.get(devT);
              return p ? [pathObjectFor(p)] : [];
            }),
          },
        ],
      ]),
    );
  }
  for (const p of map.paths.values()) {
    out.set(
      pathObjectFor(p),
      new Map([
        [
          PATH_IFACE,
          {
            Device: p.device,
            DevT: p.devT,
            DmState: p.dmState,
            DeviceState: p.deviceState,
            CheckerState: p.checkerState,
            Checker: p.checker,
            Priority: p.priority,
            HostWwnn: p.hostWwnn,
            HostWwpn: p.hostWwpn,
            TargetWwnn: p.targetWwnn,
            TargetWwpn: p.targetWwpn,
            HostAdapter: p.hostAdapter,
            Lun: p.lun,
            Marginal: p.marginal,
            FailCount: p.failCount,
            Map: mapPath,
            PathGroup: groupObjectPath(map.wwid, p.group),
            UDisksBlock: udisksBlockPath(p.device),
          },
        ],
      ]),
    );
  }
  return out;
}
