// Turns the model's changes into the numbered event stream and fans it out to the sinks
// (see events.ts). Events go out at once; the end of a burst (one turn of the event loop)
// is announced once, with every map that changed in it. A sink that throws harms neither
// the model nor the other sinks: it is reported, and its next burst is a full one.
import type { Transition } from '../model/diff';
import type { MapChange } from '../model/store';
import type { MapState, PathState, Topology } from '../model/topology';
import type { CoreEvent, EventSubject, ManagerState, Sink } from './events';
import type { EventHistory } from './history';

export class EventStream {
  private readonly sinks: Sink[] = [];
  private lastSinks = 0;
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

  /** Sinks are told in the order added; `last` ones after every other, whenever those are added. */
  addSink(sink: Sink, { last = false } = {}): void {
    if (last) this.lastSinks++;
    this.sinks.splice(last ? this.sinks.length : this.sinks.length - this.lastSinks, 0, sink);
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
    this.emit({ serial: 0n, name: 'Resynchronized', reason, synthesized: false }, {});
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

  private emit(ev: CoreEvent, subject: EventSubject): void {
    this.history.append(ev);
    // Once per event per sink in a storm: no closure, no context string unless one throws.
    for (const s of this.sinks) {
      try {
        s.event(ev, subject);
      } catch (e) {
        this.failed(s, e, `${ev.name} event`);
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
    const serial = 0n;
    const wwid = t.wwid;
    switch (t.type) {
      case 'path-failed':
      case 'path-reinstated': {
        const path = next!.paths.get(t.key)!;
        const name = t.type === 'path-failed' ? 'PathFailed' : 'PathReinstated';
        const { validPaths, dmSeqnum } = t;
        return this.emit({ serial, name, wwid, devT: path.devT, device: path.device, validPaths, dmSeqnum, synthesized }, { map: next, path });
      }
      case 'map-failed':
      case 'map-restored':
        return this.emit({ serial, name: t.type === 'map-failed' ? 'Failed' : 'Restored', wwid, synthesized }, { map: next });
      case 'policy-changed':
        return this.emit({ serial, name: 'PolicyChanged', wwid, properties: t.properties, synthesized }, { map: next });
      case 'map-added':
      case 'map-removed': {
        const map = (next ?? prev)!;
        return this.emit({ serial, name: t.type === 'map-added' ? 'MapAdded' : 'MapRemoved', wwid, mapName: map.name, synthesized }, { map });
      }
      case 'path-added':
      case 'path-removed': {
        const map = (next?.paths.has(t.key) ? next : prev)!;
        const path: PathState = map.paths.get(t.key)!;
        const name = t.type === 'path-added' ? 'PathAdded' : 'PathRemoved';
        return this.emit({ serial, name, wwid, devT: path.devT, device: path.device, synthesized }, { map, path });
      }
    }
  }
}
