// Mirrors the model on D-Bus. Transitions become signals at once (with the service-wide
// serial, recorded in the history); objects are recomputed once per burst for the maps that
// changed, and the export layer turns real value changes into one PropertiesChanged each.
import { MANAGER_IFACE, MAP_IFACE, mapObjectPath, ROOT_PATH } from '../dbus/api';
import type { ObjectServer, Props } from '../dbus/object-server';
import type { Transition } from '../model/diff';
import type { MapChange } from '../model/store';
import { overallHealth, type MapState, type Topology } from '../model/topology';
import type { MultipathSettings } from '../multipathd/show-config';
import type { EventHistory, EventValue } from './history';
import { mapObjects, pathObjectFor } from './objects';

export interface ManagerState {
  version: string;
  instanceId: string;
  multipathdAvailable: boolean;
  kernelEventsAvailable: boolean;
  settings: MultipathSettings | undefined;
}

export class Publisher {
  private readonly dirty = new Set<string>();
  private readonly published = new Map<string, Set<string>>();
  private managerDirty = true;
  private scheduled = false;

  constructor(
    private readonly server: ObjectServer,
    private readonly history: EventHistory,
    private readonly topology: () => Topology,
    private readonly manager: () => ManagerState,
    private readonly schedule: (fn: () => void) => void = setImmediate,
  ) {}

  /** Announce what changed: signals now, objects at the end of the burst. */
  mapsChanged(changes: MapChange[], synthesized: boolean): void {
    for (const c of changes) {
      for (const t of c.transitions) this.announce(t, c.prev, c.next, synthesized);
      this.dirty.add(c.wwid);
    }
    if (changes.length > 0) this.managerChanged();
  }

  resynchronized(reason: string): void {
    const ev = this.history.append('Resynchronized', ROOT_PATH, { Reason: { type: 's', value: reason } });
    this.server.emitSignal(ROOT_PATH, MANAGER_IFACE, 'Resynchronized', [reason, ev.serial]);
    this.managerChanged();
  }

  managerChanged(): void {
    this.managerDirty = true;
    this.later();
  }

  /** Recompute the objects of every map that changed in this burst. */
  flush(): void {
    this.scheduled = false;
    const topology = this.topology();
    for (const wwid of this.dirty) this.syncMap(wwid, topology.get(wwid));
    this.dirty.clear();
    if (this.managerDirty) {
      this.managerDirty = false;
      this.server.setObject(ROOT_PATH, new Map([[MANAGER_IFACE, this.managerProps(topology)]]));
    }
    this.server.flush();
  }

  private later(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.flush());
  }

  private syncMap(wwid: string, map: MapState | undefined): void {
    const before = this.published.get(wwid) ?? new Set<string>();
    const objects = map ? mapObjects(map) : new Map<string, Map<string, Props>>();
    for (const path of before) if (!objects.has(path)) this.server.removeObject(path);
    for (const [path, ifaces] of objects) this.server.setObject(path, ifaces);
    if (map) this.published.set(wwid, new Set(objects.keys()));
    else this.published.delete(wwid);
  }

  private managerProps(topology: Topology): Props {
    const m = this.manager();
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
      EventSerial: this.history.lastSerial,
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

  private announce(t: Transition, prev: MapState | undefined, next: MapState | undefined, synthesized: boolean): void {
    const mapPath = mapObjectPath(t.wwid);
    const synth: Record<string, EventValue> = { Synthesized: { type: 'b', value: synthesized } };
    switch (t.type) {
      case 'path-failed':
      case 'path-reinstated': {
        const p = next!.paths.get(t.devT)!;
        const pathPath = pathObjectFor(p);
        const name = t.type === 'path-failed' ? 'PathFailed' : 'PathReinstated';
        const ev = this.history.append(name, mapPath, {
          Path: { type: 'o', value: pathPath },
          DevT: { type: 's', value: t.devT },
          ValidPaths: { type: 'u', value: t.validPaths },
          DmSeqnum: { type: 'u', value: t.dmSeqnum },
          ...synth,
        });
        this.server.emitSignal(mapPath, MAP_IFACE, name, [pathPath, t.devT, t.validPaths, t.dmSeqnum, ev.serial]);
        return;
      }
      case 'map-failed':
      case 'map-restored': {
        const name = t.type === 'map-failed' ? 'Failed' : 'Restored';
        const ev = this.history.append(name, mapPath, synth);
        this.server.emitSignal(mapPath, MAP_IFACE, name, [ev.serial]);
        return;
      }
      case 'policy-changed': {
        const ev = this.history.append('PolicyChanged', mapPath, { Properties: { type: 'as', value: t.properties }, ...synth });
        this.server.emitSignal(mapPath, MAP_IFACE, 'PolicyChanged', [t.properties, ev.serial]);
        return;
      }
      case 'map-added':
      case 'map-removed': {
        const m = (next ?? prev)!;
        this.history.append(t.type === 'map-added' ? 'MapAdded' : 'MapRemoved', mapPath, {
          Name: { type: 's', value: m.name },
          Wwid: { type: 's', value: m.wwid },
          ...synth,
        });
        return;
      }
      case 'path-added':
      case 'path-removed': {
        const p = (next?.paths.get(t.devT) ?? prev?.paths.get(t.devT))!;
        this.history.append(t.type === 'path-added' ? 'PathAdded' : 'PathRemoved', pathObjectFor(p), {
          DevT: { type: 's', value: t.devT },
          Map: { type: 'o', value: mapPath },
          ...synth,
        });
        return;
      }
    }
  }
}
