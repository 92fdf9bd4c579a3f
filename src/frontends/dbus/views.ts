// The model as D-Bus objects: pure functions from snapshots to property values, so the
// export layer only reads what the model holds.
import { groupObjectPath, MAP_IFACE, MAP_SUMMARY_FIELDS, mapObjectPath, PATH_GROUP_IFACE, PATH_IFACE } from './api';
import type { Props, PropsView } from './bus/object-server';
import { pathObjectFor, udisksBlockPath, type Named } from './naming';
import { mapHealth, validPaths, type MapState, type PathState } from '../../model/topology';

/**
 * Every object one map contributes (the map, its groups, its paths), each interface a view
 * of the snapshot: the export layer reads values from the model when it needs them and keeps
 * no copy (see PropsView).
 */
export function mapObjects(map: MapState): Map<string, MapObject> {
  const out = new Map<string, MapObject>();
  const { wwid } = map;
  out.set(mapObjectPath(wwid), { named: { kind: 'map', wwid }, ifaces: new Map([[MAP_IFACE, () => mapProps(map)]]) });
  for (const g of map.groups) {
    out.set(groupObjectPath(wwid, g.number), { named: { kind: 'group', wwid, number: g.number }, ifaces: new Map([[PATH_GROUP_IFACE, () => groupProps(map, g)]]) });
  }
  for (const p of map.paths.values()) {
    out.set(pathObjectFor(p), { named: { kind: 'path', wwid, devT: p.devT, device: p.device }, ifaces: new Map([[PATH_IFACE, () => pathProps(map, p)]]) });
  }
  return out;
}

/** One exported object: what it is, and each of its interfaces as a view of the snapshot. */
export interface MapObject {
  named: Named;
  ifaces: Map<string, PropsView>;
}

/** The same objects with their values read now, for a one-off print. */
export function mapObjectValues(map: MapState): Map<string, Map<string, Props>> {
  const out = new Map<string, Map<string, Props>>();
  for (const [path, { ifaces }] of mapObjects(map)) out.set(path, new Map([...ifaces].map(([i, view]) => [i, view()])));
  return out;
}

function mapProps(map: MapState): Props {
  return {
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
    GroupSwitches: map.switchGroup,
    MapLoads: map.mapLoads,
    QueueTimeouts: map.queueTimeouts,
    PathGroups: map.groups.map((g) => groupObjectPath(map.wwid, g.number)),
    Paths: [...map.paths.values()].map(pathObjectFor),
    // The block device desktop disk tools (udisks) know the map by: dm-N, or the NVMe head.
    UDisksBlock: udisksBlockPath(map.sysfsName),
    Kind: map.kind,
    SubsystemNqn: map.subsystemNqn,
    IoPolicy: map.ioPolicy,
  };
}

/**
 * What Manager.GetMapSummaries says of a map (MAP_SUMMARY in api.ts): what a client lists of
 * every map, a few hundred bytes where the map's object and its groups take kilobytes. The
 * values are those of the Map properties of the same names.
 */
export function mapSummary(map: MapState): unknown[] {
  const p = mapProps(map);
  return [
    mapObjectPath(map.wwid),
    ...MAP_SUMMARY_FIELDS.map((f) => p[f]),
    // Each path's last object-path element unescaped: its kernel name, or its dev_t until it has one.
    [...map.paths.values()].map((x) => x.device || x.devT),
  ];
}

function groupProps(map: MapState, g: MapState['groups'][number]): Props {
  return {
    Number: g.number,
    Selector: g.selector,
    Priority: g.priority,
    DmState: g.dmState,
    Marginal: g.marginal,
    Map: mapObjectPath(map.wwid),
    Paths: g.paths.flatMap((key) => {
      const p = map.paths.get(key);
      return p ? [pathObjectFor(p)] : [];
    }),
  };
}

function pathProps(map: MapState, p: PathState): Props {
  return {
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
    Map: mapObjectPath(map.wwid),
    PathGroup: groupObjectPath(map.wwid, p.group),
    // An NVMe path (no dev_t) is a hidden device: udisks has no object for it.
    UDisksBlock: udisksBlockPath(p.devT ? p.device : ''),
    AnaState: p.anaState,
    Controller: p.controller,
    ControllerState: p.controllerState,
    Transport: p.transport,
    Address: p.address,
  };
}
