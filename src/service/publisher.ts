// The D-Bus sink: mirrors the event stream on the bus. Each event becomes its signal at
// once (with the serial the stream gave it); at the end of a burst the objects of every map
// that changed are recomputed, and the export layer turns real value changes into one
// PropertiesChanged each.
import { MANAGER_IFACE, MAP_IFACE, mapObjectPath, ROOT_PATH } from '../dbus/api';
import type { ObjectServer, Props } from '../dbus/object-server';
import { overallHealth, type MapState } from '../model/topology';
import { mapObjects, pathObjectFor } from './objects';
import type { Burst, ServiceEvent, Sink } from './sink';

export class Publisher implements Sink {
  private readonly published = new Map<string, Set<string>>();

  constructor(private readonly server: ObjectServer) {}

  event(e: ServiceEvent): void {
    const d = e.data;
    switch (e.name) {
      case 'PathFailed':
      case 'PathReinstated':
        this.server.emitSignal(e.object, MAP_IFACE, e.name, [d.Path.value, d.DevT.value, d.ValidPaths.value, d.DmSeqnum.value, e.serial]);
        return;
      case 'Failed':
      case 'Restored':
        this.server.emitSignal(e.object, MAP_IFACE, e.name, [e.serial]);
        return;
      case 'PolicyChanged':
        this.server.emitSignal(e.object, MAP_IFACE, e.name, [d.Properties.value, e.serial]);
        return;
      case 'Resynchronized':
        this.server.emitSignal(ROOT_PATH, MANAGER_IFACE, e.name, [d.Reason.value, e.serial]);
        return;
      default:
        // Objects coming and going are announced by InterfacesAdded/Removed at the burst's end.
        return;
    }
  }

  burst(b: Burst): void {
    for (const [wwid, map] of b.changed) this.syncMap(wwid, map);
    this.server.setObject(ROOT_PATH, new Map([[MANAGER_IFACE, this.managerProps(b)]]));
    this.server.flush();
  }

  private syncMap(wwid: string, map: MapState | undefined): void {
    const before = this.published.get(wwid) ?? new Set<string>();
    const objects = map ? mapObjects(map) : new Map<string, Map<string, Props>>();
    for (const path of before) if (!objects.has(path)) this.server.removeObject(path);
    for (const [path, ifaces] of objects) this.server.setObject(path, ifaces);
    if (map) this.published.set(wwid, new Set(objects.keys()));
    else this.published.delete(wwid);
  }

  private managerProps({ topology, manager: m, eventSerial }: Burst): Props {
    const maps: string[] = [];
    const paths: string[] = [];
    for (const map of topology.values()) {
      maps.push(mapObjectPath(map.wwid));
      for (const p of map.paths.values()) paths.push(pathObjectFor(p));
    }
    const s = m.settings;
    return {
      Version: m.version,
      InstanceId: m.instanceId,
      EventSerial: eventSerial,
      Health: overallHealth(topology),
      MultipathdAvailable: m.multipathdAvailable,
      KernelEventsAvailable: m.kernelEventsAvailable,
      Maps: maps,
      Paths: paths,
      UserFriendlyNames: s?.userFriendlyNames ?? false,
      FindMultipaths: s?.findMultipaths ?? '',
      PollingInterval: s?.pollingInterval ?? 0,
      Blacklist: (s?.blacklist ?? []).map((b) => [b.kind, b.pattern]),
      BlacklistExceptions: (s?.blacklistExceptions ?? []).map((b) => [b.kind, b.pattern]),
    };
  }
}
