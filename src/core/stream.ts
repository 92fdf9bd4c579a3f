// Turns the model's changes into the numbered event stream and fans it out to the sinks
// (see sink.ts). Events go out at once; the end of a burst (one turn of the event loop)
// is announced once, with every map that changed in it. A sink that throws harms neither
// the model nor the other sinks: it is reported, and its next burst is a full one.
import { mapObjectPath, ROOT_PATH } from '../frontends/dbus/api';
import type { Transition } from '../model/diff';
import type { MapChange } from '../model/store';
import type { MapState, Topology } from '../model/topology';
import type { EventHistory, EventValue } from './history';
import { pathObjectFor } from '../frontends/dbus/views';
import type { EventName, ManagerState, ServiceEvent, Sink } from './events';

export class EventStream {
  private readonly sinks: Sink[] = [];
  private readonly dirty = new Set<string>();
  private managerDirty = true;
  private scheduled = false;
  /** Sinks whose view is unknown since one of their calls threw. */
  private readonly unsure = new Set<Sink>();

  constructor(
    private readonly history: EventHistory,
    private readonly topology: () => Topology,
    private readonly manager: () => ManagerState,
    private readonly schedule: (fn: () => void) => void = setImmediate,
    private readonly onSinkError: (e: unknown, context: string) => void = (e) => {
      throw e;
    },
  ) {}

  addSink(sink: Sink): void {
    this.sinks.push(sink);
  }

  /** Announce what changed: events now, the burst at its end. */
  mapsChanged(changes: MapChange[], synthesized: boolean): void {
    for (const c of changes) {
      for (const t of c.transitions) this.transition(t, c.prev, c.next, synthesized);
      this.dirty.add(c.wwid);
    }
    if (changes.length > 0) this.managerChanged();
  }

  resynchronized(reason: string): void {
    this.emit('Resynchronized', ROOT_PATH, { Reason: { type: 's', value: reason } }, false);
    this.managerChanged();
  }

  managerChanged(): void {
    this.managerDirty = true;
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.flush());
  }

  /** Every sink's next burst is a full one (after a bug left what they hold unknown). */
  republish(): void {
    for (const s of this.sinks) this.unsure.add(s);
    this.managerChanged();
  }

  /** End the burst now: every sink sees the maps that changed since the last one. */
  flush(): void {
    this.scheduled = false;
    if (this.dirty.size === 0 && !this.managerDirty) return;
    const topology = this.topology();
    const changed = new Map<string, MapState | undefined>();
    for (const wwid of this.dirty) changed.set(wwid, topology.get(wwid));
    this.dirty.clear();
    this.managerDirty = false;
    const burst = { topology, changed, manager: this.manager(), eventSerial: this.history.lastSerial, full: false };
    for (const s of this.sinks) {
      const full = this.unsure.delete(s);
      this.call(s, 'burst', () => s.burst(full ? { ...burst, full } : burst));
    }
  }

  private emit(
    name: EventName,
    object: string,
    data: Record<string, EventValue>,
    synthesized: boolean,
    map?: MapState,
    path?: ServiceEvent['path'],
  ): void {
    const { serial } = this.history.append(name, object, data);
    const ev: ServiceEvent = { serial, name, object, data, synthesized, map, path };
    // Once per event per sink in a storm: no closure, no context string unless one throws.
    for (const s of this.sinks) {
      try {
        s.event(ev);
      } catch (e) {
        this.failed(s, e, `${name} event`);
      }
    }
  }

  private call(sink: Sink, what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.failed(sink, e, what);
    }
  }

  private failed(sink: Sink, e: unknown, what: string): void {
    this.unsure.add(sink);
    this.onSinkError(e, `the ${sink.constructor.name} sink (${what})`);
  }

  private transition(t: Transition, prev: MapState | undefined, next: MapState | undefined, synthesized: boolean): void {
    const mapPath = mapObjectPath(t.wwid);
    const synth: Record<string, EventValue> = { Synthesized: { type: 'b', value: synthesized } };
    switch (t.type) {
      case 'path-failed':
      case 'path-reinstated': {
        const p = next!.paths.get(t.devT)!;
        const data: Record<string, EventValue> = {
          Path: { type: 'o', value: pathObjectFor(p) },
          DevT: { type: 's', value: t.devT },
          ValidPaths: { type: 'u', value: t.validPaths },
          DmSeqnum: { type: 'u', value: t.dmSeqnum },
          ...synth,
        };
        return this.emit(t.type === 'path-failed' ? 'PathFailed' : 'PathReinstated', mapPath, data, synthesized, next, p);
      }
      case 'map-failed':
      case 'map-restored':
        return this.emit(t.type === 'map-failed' ? 'Failed' : 'Restored', mapPath, synth, synthesized, next);
      case 'policy-changed':
        return this.emit('PolicyChanged', mapPath, { Properties: { type: 'as', value: t.properties }, ...synth }, synthesized, next);
      case 'map-added':
      case 'map-removed': {
        const m = (next ?? prev)!;
        const data: Record<string, EventValue> = { Name: { type: 's', value: m.name }, Wwid: { type: 's', value: m.wwid }, ...synth };
        return this.emit(t.type === 'map-added' ? 'MapAdded' : 'MapRemoved', mapPath, data, synthesized, m);
      }
      case 'path-added':
      case 'path-removed': {
        const m = (next?.paths.has(t.devT) ? next : prev)!;
        const p = m.paths.get(t.devT)!;
        const data: Record<string, EventValue> = { DevT: { type: 's', value: t.devT }, Map: { type: 'o', value: mapPath }, ...synth };
        return this.emit(t.type === 'path-added' ? 'PathAdded' : 'PathRemoved', pathObjectFor(p), data, synthesized, m, p);
      }
    }
  }
}
