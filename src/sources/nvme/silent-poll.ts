// What changes in NVMe sysfs with no uevent: a path's ANA state (the kernel re-reads the ANA
// log after an asynchronous event and only updates ns->ana_state, multipath.c
// nvme_update_ana_state) and a controller's state (resetting, connecting and back to live
// raise no event either). Everything else (controllers, namespaces and paths coming and
// going) has its uevent and a full read (reader.ts).
//
// Meant to run every second, so it reads as little as it can. Controllers: each one's state.
// Paths: the kernel sets ANA state per (controller, ANA group) from one log page, for every
// namespace of the group in one pass; so one path stands for its group, and when it changed,
// every path of the group is read on this poll and the next (the kernel may have been midway
// through the group). A slice of the other paths is also read each poll, so every path is read at
// least once per `sweepPolls` polls: a namespace moved to another group, or a value the
// representative missed, is still seen. Cost: controllers + controllers × groups + (other
// paths) / sweepPolls reads, not controllers × namespaces (bench/nvme-poll.ts).
import * as fs from 'node:fs';
import { readAttribute } from './attributes';
import { ANA_STATES, CONTROLLER_STATES, type AnaState, type ControllerState, type NvmeReading } from '../../model/nvme-reading';

export type SilentChange =
  | { kind: 'ana-state'; path: string; namespace: string; controller: string; previous: AnaState; current: AnaState }
  | { kind: 'controller-state'; controller: string; previous: ControllerState; current: ControllerState }
  /** The device left sysfs: its removal has a uevent of its own; read the tree again. */
  | { kind: 'gone'; device: string };

interface Watched<S> {
  name: string;
  file: string;
  state: S;
  gone: boolean;
}
interface WatchedPath extends Watched<AnaState> {
  namespace: string;
  controller: string;
}

const ANA = new Set<string>(ANA_STATES);
const CONTROLLER = new Set<string>(CONTROLLER_STATES);

export class SilentStatePoll {
  private readonly controllers: Watched<ControllerState>[] = [];
  private readonly groups: WatchedPath[][];
  /** Every path but the groups' first ones (read on every poll anyway), read a slice a poll. */
  private readonly others: WatchedPath[];
  private unsettled = new Set<WatchedPath[]>();
  private cursor = 0;
  /** Attribute files read by the last poll. */
  reads = 0;

  /** Watches what `reading` found under `root`; the reading's states are the starting point. */
  constructor(
    reading: NvmeReading,
    root = '/sys',
    private readonly sweepPolls = 60,
  ) {
    const groups = new Map<string, WatchedPath[]>();
    for (const s of reading.subsystems) {
      const dirs = new Map<string, string>();
      for (const c of s.controllers) {
        // Resolved once: the class link would be followed on every read.
        const dir = realDir(`${root}/class/nvme/${c.name}`);
        dirs.set(c.name, dir);
        this.controllers.push({ name: c.name, file: `${dir}/state`, state: c.state, gone: false });
      }
      for (const ns of s.namespaces) {
        for (const p of ns.paths) {
          // A controller without ANA has no ana_state to watch (core.c nvme_ns_id_attrs_are_visible).
          if (p.anaGroup === undefined) continue;
          const dir = dirs.get(p.controller) ?? `${root}/class/nvme/${p.controller}`;
          const w: WatchedPath = { name: p.name, namespace: ns.name, controller: p.controller, file: `${dir}/${p.name}/ana_state`, state: p.anaState, gone: false };
          const key = `${p.controller} ${p.anaGroup}`;
          groups.set(key, [...(groups.get(key) ?? []), w]);
        }
      }
    }
    this.groups = [...groups.values()];
    this.others = this.groups.flatMap((g) => g.slice(1));
  }

  /** Reads what can change silently; returns what changed since the last poll (or the reading). */
  poll(): SilentChange[] {
    const changes: SilentChange[] = [];
    this.reads = 0;
    for (const c of this.controllers) {
      const state = this.read(c, CONTROLLER, changes) as ControllerState | undefined;
      if (state === undefined) continue;
      changes.push({ kind: 'controller-state', controller: c.name, previous: c.state, current: state });
      c.state = state;
    }
    const read = new Set<WatchedPath>();
    const unsettled = new Set<WatchedPath[]>();
    for (const group of this.groups) {
      const changed = this.readPath(group[0], changes, read);
      if (!changed && !this.unsettled.has(group)) continue;
      for (const p of group) this.readPath(p, changes, read);
      if (changed) unsettled.add(group);
    }
    this.unsettled = unsettled;
    const slice = Math.ceil(this.others.length / this.sweepPolls);
    for (let i = 0; i < slice; i++) {
      this.readPath(this.others[this.cursor], changes, read);
      this.cursor = (this.cursor + 1) % this.others.length;
    }
    return changes;
  }

  /** Reads one path once per poll; true when its ANA state changed. */
  private readPath(p: WatchedPath, changes: SilentChange[], read: Set<WatchedPath>): boolean {
    if (read.has(p)) return false;
    read.add(p);
    const state = this.read(p, ANA, changes) as AnaState | undefined;
    if (state === undefined) return false;
    changes.push({ kind: 'ana-state', path: p.name, namespace: p.namespace, controller: p.controller, previous: p.state, current: state });
    p.state = state;
    return true;
  }

  /** The new state when it differs from the last one; a vanished file is reported once as gone. */
  private read<S extends string>(w: Watched<S>, names: Set<string>, changes: SilentChange[]): string | undefined {
    if (w.gone) return undefined;
    this.reads++;
    const r = readAttribute(w.file, 32);
    if (r.ok && r.value === undefined) {
      w.gone = true;
      changes.push({ kind: 'gone', device: w.name });
      return undefined;
    }
    const state = r.ok && names.has(r.value!) ? r.value! : 'unknown';
    return state === w.state ? undefined : state;
  }
}

function realDir(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return dir;
  }
}
