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
// representative missed, is still seen. Reads: controllers + controllers × groups + (other
// paths) / sweepPolls a poll, not controllers × namespaces.
//
// The representatives' files are kept open and read again in one call into the addon
// (kept-attributes.ts): with one ANA group per namespace every path is one, 4,000 files a
// second at 1,000 namespaces × 4 paths, which open/read/close per file made 3 % of a core
// (bench/nvme-poll.ts). A kept path whose device is deleted answers ENODEV: gone, its file
// closed. Kept files are bounded: at most KEPT_FILES, and a quarter of RLIMIT_NOFILE's soft
// limit, per poll (with Node's raised limit, systemd's default hard limit of 524,288 leaves
// KEPT_FILES the bound); representatives past it are read by path. close() releases them:
// call it when a new poll replaces this one. Controllers (one per port and subsystem) and the
// rarer reads (a changed group, the sweep) go by path: a read by path is what finds a
// controller deleted on any tree (in a simulated tree on tmpfs, a kept file still reads after
// it is deleted), and its paths go with it, as in the kernel, where they are its children.
import * as fs from 'node:fs';
import { fileLimit } from '../../native/addon';
import { readAttribute } from './attributes';
import { KeptAttributes } from './kept-attributes';
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
  /** Its index among the kept files, or -1: read by path. */
  kept: number;
}
interface WatchedPath extends Watched<AnaState> {
  namespace: string;
  controller: string;
  /** The last poll that read it (a path is read at most once a poll). */
  readIn: number;
}
interface WatchedController extends Watched<ControllerState> {
  /** Every path through this controller: they leave sysfs with it. */
  paths: WatchedPath[];
}

const ANA = new Set<string>(ANA_STATES);
const CONTROLLER = new Set<string>(CONTROLLER_STATES);
/** Both attributes print a short name; a longer value is refused whole. */
const STATE_MAX = 32;
/** Kept files per poll at most: up to 36 MiB of kernel memory on sysfs (kept-attributes.ts). */
const KEPT_FILES = 8192;

export class SilentStatePoll {
  private readonly controllers: WatchedController[] = [];
  private readonly groups: WatchedPath[][];
  /** Every path but the groups' first ones (read on every poll anyway), read a slice a poll. */
  private readonly others: WatchedPath[];
  private unsettled = new Set<WatchedPath[]>();
  private readonly kept: KeptAttributes;
  private cursor = 0;
  private polls = 0;
  /** Attribute files read by the last poll. */
  reads = 0;

  /**
   * Watches what `reading` found under `root`; the reading's states are the starting point.
   * Opens the representatives' files (at most `keptFiles`; see above): close() it.
   */
  constructor(
    reading: NvmeReading,
    root = '/sys',
    private readonly sweepPolls = 60,
    keptFiles = Math.min(KEPT_FILES, Math.floor(fileLimit() / 4)),
  ) {
    const groups = new Map<string, WatchedPath[]>();
    for (const s of reading.subsystems) {
      const dirs = new Map<string, string>();
      const controllers = new Map<string, WatchedController>();
      for (const c of s.controllers) {
        // Resolved once: the class link would be followed on every read.
        const dir = realDir(`${root}/class/nvme/${c.name}`);
        dirs.set(c.name, dir);
        const w: WatchedController = { name: c.name, file: `${dir}/state`, state: c.state, gone: false, kept: -1, paths: [] };
        controllers.set(c.name, w);
        this.controllers.push(w);
      }
      for (const ns of s.namespaces) {
        for (const p of ns.paths) {
          // A controller without ANA has no ana_state to watch (core.c nvme_ns_id_attrs_are_visible).
          if (p.anaGroup === undefined) continue;
          const dir = dirs.get(p.controller) ?? `${root}/class/nvme/${p.controller}`;
          const w: WatchedPath = { name: p.name, namespace: ns.name, controller: p.controller, file: `${dir}/${p.name}/ana_state`, state: p.anaState, gone: false, kept: -1, readIn: 0 };
          controllers.get(p.controller)?.paths.push(w);
          const key = `${p.controller} ${p.anaGroup}`;
          const group = groups.get(key);
          if (group) group.push(w);
          else groups.set(key, [w]);
        }
      }
    }
    this.groups = [...groups.values()];
    this.others = this.groups.flatMap((g) => g.slice(1));
    this.kept = new KeptAttributes(Math.max(0, Math.min(keptFiles, this.groups.length)), STATE_MAX);
    for (const group of this.groups) group[0].kept = this.kept.keep(group[0].file);
  }

  /** Closes the kept files; poll() must not be called after. */
  close(): void {
    this.kept.close();
  }

  /** Reads what can change silently; returns what changed since the last poll (or the reading). */
  poll(): SilentChange[] {
    const changes: SilentChange[] = [];
    this.reads = 0;
    this.polls++;
    for (const c of this.controllers) {
      const wasGone = c.gone;
      const state = this.read(c, CONTROLLER, changes) as ControllerState | undefined;
      if (c.gone && !wasGone) for (const p of c.paths) this.goneWith(p, changes);
      if (state === undefined) continue;
      changes.push({ kind: 'controller-state', controller: c.name, previous: c.state, current: state });
      c.state = state;
    }
    this.kept.readAll();
    const unsettled = new Set<WatchedPath[]>();
    for (const group of this.groups) {
      const changed = this.readPath(group[0], changes);
      if (!changed && !this.unsettled.has(group)) continue;
      for (const p of group) this.readPath(p, changes);
      if (changed) unsettled.add(group);
    }
    this.unsettled = unsettled;
    const slice = Math.ceil(this.others.length / this.sweepPolls);
    for (let i = 0; i < slice; i++) {
      this.readPath(this.others[this.cursor], changes);
      this.cursor = (this.cursor + 1) % this.others.length;
    }
    return changes;
  }

  /** Reads one path once per poll; true when its ANA state changed. */
  private readPath(p: WatchedPath, changes: SilentChange[]): boolean {
    if (p.readIn === this.polls) return false;
    p.readIn = this.polls;
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
    // Most reads find what the last one did: known from the bytes, with nothing decoded.
    if (w.kept >= 0 && this.kept.readAgain(w.kept, w.state)) return undefined;
    const r = w.kept >= 0 ? this.kept.value(w.kept) : readAttribute(w.file, STATE_MAX);
    if (r.ok && r.value === undefined) {
      this.goneWith(w, changes);
      return undefined;
    }
    const state = r.ok && names.has(r.value!) ? r.value! : 'unknown';
    return state === w.state ? undefined : state;
  }

  /** Says once that `w` left sysfs, and closes its kept file. */
  private goneWith(w: Watched<string>, changes: SilentChange[]): void {
    if (w.gone) return;
    w.gone = true;
    if (w.kept >= 0) this.kept.release(w.kept);
    changes.push({ kind: 'gone', device: w.name });
  }
}

function realDir(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return dir;
  }
}
