// The D-Bus sink: mirrors the event stream on the bus. Each event becomes its signal at
// once (with the serial the stream gave it); at the end of a burst the objects of every map
// that changed are recomputed, and the export layer turns real value changes into one
// PropertiesChanged each. What it exports it records in the object names (naming.ts).
import type { Burst, CoreEvent, Sink } from '../../core/events';
import { overallHealth } from '../../model/topology';
import { MANAGER_IFACE, MAP_IFACE, mapObjectPath, ROOT_PATH } from './api';
import type { ObjectServer, Props } from './bus/object-server';
import { pathObjectFor, type ObjectNames } from './naming';
import { mapObjects, type MapObject } from './views';

export class Publisher implements Sink {
  /** Objects by owner: WWID -> the paths its map contributes. */
  private readonly exported = new Map<string, Set<string>>();
  /** Owner by object: each exported path has exactly one map. */
  private readonly owners = new Map<string, string>();
  /**
   * The Manager's Maps and Paths as last published, the same arrays while no object comes or
   * goes: a burst that changes one map's values does not list (and compare) 5,000 names again.
   */
  private listed: { maps: string[]; paths: string[] } | undefined;

  constructor(
    private readonly server: ObjectServer,
    private readonly names: ObjectNames,
  ) {}

  event(e: CoreEvent): void {
    switch (e.name) {
      case 'PathFailed':
      case 'PathReinstated':
        this.server.emitSignal(mapObjectPath(e.wwid), MAP_IFACE, e.name, [pathObjectFor(e), e.devT, e.validPaths, e.dmSeqnum, e.serial]);
        return;
      case 'Failed':
      case 'Restored':
        this.server.emitSignal(mapObjectPath(e.wwid), MAP_IFACE, e.name, [e.serial]);
        return;
      case 'PolicyChanged':
        this.server.emitSignal(mapObjectPath(e.wwid), MAP_IFACE, e.name, [e.properties, e.serial]);
        return;
      case 'Resynchronized':
        this.server.emitSignal(ROOT_PATH, MANAGER_IFACE, e.name, [e.reason, e.serial]);
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
    const next = new Map<string, Map<string, MapObject>>();
    if (b.full) {
      for (const wwid of this.exported.keys()) if (!b.topology.has(wwid)) next.set(wwid, new Map());
      for (const [wwid, map] of b.topology) next.set(wwid, mapObjects(map));
      this.forgetUnowned(next);
    } else {
      for (const [wwid, map] of b.changed) next.set(wwid, map ? mapObjects(map) : new Map());
    }
    for (const [wwid, objects] of next) {
      for (const path of this.exported.get(wwid) ?? []) if (!objects.has(path)) this.release(path, wwid);
    }
    if (b.full) this.listed = undefined;
    for (const [wwid, objects] of next) {
      for (const [path, object] of objects) this.claim(path, wwid, object);
      if (!sameNames(this.exported.get(wwid), objects)) this.listed = undefined;
      if (objects.size > 0) this.exported.set(wwid, new Set(objects.keys()));
      else this.exported.delete(wwid);
    }
    this.server.setObject(ROOT_PATH, new Map([[MANAGER_IFACE, this.managerProps(b)]]));
    this.server.flush();
  }

  private release(path: string, wwid: string): void {
    if (this.owners.get(path) !== wwid) return;
    this.owners.delete(path);
    this.names.delete(path);
    this.server.removeObject(path);
  }

  /** The model gives each object one map (build.ts); two claims are a bug, refused before any change. */
  private claim(path: string, wwid: string, { named, ifaces }: MapObject): void {
    const owner = this.owners.get(path);
    if (owner !== undefined && owner !== wwid) throw new Error(`${path} belongs to map ${owner}; map ${wwid} claims it too`);
    this.server.setObject(path, ifaces);
    this.owners.set(path, wwid);
    this.names.set(path, named);
  }

  /** A full burst after a failure: whatever the server holds beyond the wanted objects goes. */
  private forgetUnowned(next: Map<string, Map<string, MapObject>>): void {
    const wanted = new Map<string, string>();
    for (const [wwid, objects] of next) for (const path of objects.keys()) wanted.set(path, wwid);
    for (const path of [...this.server.paths()]) if (path !== ROOT_PATH && !wanted.has(path)) this.server.removeObject(path);
    this.owners.clear();
    this.exported.clear();
    // claim() names each wanted object again as the burst exports it.
    this.names.clear();
    for (const [path, wwid] of wanted) this.owners.set(path, wwid);
    for (const [wwid, objects] of next) this.exported.set(wwid, new Set(objects.keys()));
  }

  private managerProps({ topology, manager: m, eventSerial }: Burst): Props {
    if (!this.listed) {
      this.listed = { maps: [], paths: [] };
      for (const map of topology.values()) {
        this.listed.maps.push(mapObjectPath(map.wwid));
        for (const p of map.paths.values()) this.listed.paths.push(pathObjectFor(p));
      }
    }
    const { maps, paths } = this.listed;
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

/** Whether a map's objects are the ones it had (`before`: their paths; undefined: none). */
function sameNames(before: ReadonlySet<string> | undefined, objects: ReadonlyMap<string, MapObject>): boolean {
  if ((before?.size ?? 0) !== objects.size) return false;
  for (const path of objects.keys()) if (!before!.has(path)) return false;
  return true;
}
