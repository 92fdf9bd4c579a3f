// The D-Bus sink: mirrors the event stream on the bus. Each event becomes its signal at
// once (with the serial the stream gave it); at the end of a burst the objects of every map
// that changed are recomputed, and the export layer turns real value changes into one
// PropertiesChanged each.
import { MANAGER_IFACE, MAP_IFACE, mapObjectPath, ROOT_PATH } from './api';
import type { ObjectServer, Props, PropsView } from './bus/object-server';
import { overallHealth, type MapState } from '../../model/topology';
import { mapObjects, pathObjectFor } from './views';
import type { Burst, ServiceEvent, Sink } from '../../core/events';

export class Publisher implements Sink {
  /** Objects by owner: WWID -> the paths its map contributes. */
  private readonly published = new Map<string, Set<string>>();
  /** Owner by object: each exported path has exactly one map. */
  private readonly owners = new Map<string, string>();

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

  /**
   * Removals first, across the whole burst, then additions: a device that moves from one map
   * to another in one read (a LUN swap reusing sdb) is removed from the first and added to
   * the second, never removed after the second took it.
   */
  burst(b: Burst): void {
    const next = new Map<string, Map<string, Map<string, PropsView>>>();
    if (b.full) {
      for (const wwid of this.published.keys()) if (!b.topology.has(wwid)) next.set(wwid, new Map());
      for (const [wwid, map] of b.topology) next.set(wwid, mapObjects(map));
      this.forgetUnowned(next);
    } else {
      for (const [wwid, map] of b.changed) next.set(wwid, map ? mapObjects(map) : new Map());
    }
    for (const [wwid, objects] of next) {
      for (const path of this.published.get(wwid) ?? []) if (!objects.has(path)) this.release(path, wwid);
    }
    for (const [wwid, objects] of next) {
      for (const [path, ifaces] of objects) this.claim(path, wwid, ifaces);
      if (objects.size > 0) this.published.set(wwid, new Set(objects.keys()));
      else this.published.delete(wwid);
    }
    this.server.setObject(ROOT_PATH, new Map([[MANAGER_IFACE, this.managerProps(b)]]));
    this.server.flush();
  }

  private release(path: string, wwid: string): void {
    if (this.owners.get(path) !== wwid) return;
    this.owners.delete(path);
    this.server.removeObject(path);
  }

  /** The model gives each object one map (build.ts); two claims are a bug, refused before any change. */
  private claim(path: string, wwid: string, ifaces: Map<string, PropsView>): void {
    const owner = this.owners.get(path);
    if (owner !== undefined && owner !== wwid) throw new Error(`${path} belongs to map ${owner}; map ${wwid} claims it too`);
    this.server.setObject(path, ifaces);
    this.owners.set(path, wwid);
  }

  /** A full burst after a failure: whatever the server holds beyond the wanted objects goes. */
  private forgetUnowned(next: Map<string, Map<string, Map<string, PropsView>>>): void {
    const wanted = new Map<string, string>();
    for (const [wwid, objects] of next) for (const path of objects.keys()) wanted.set(path, wwid);
    for (const path of [...this.server.paths()]) if (path !== ROOT_PATH && !wanted.has(path)) this.server.removeObject(path);
    this.owners.clear();
    this.published.clear();
    for (const [path, wwid] of wanted) this.owners.set(path, wwid);
    for (const [wwid, objects] of next) this.published.set(wwid, new Set(objects.keys()));
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
