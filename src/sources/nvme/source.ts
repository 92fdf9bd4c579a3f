// Native NVMe multipath as a source of the model. A full read of sysfs (reader.ts) at start,
// on every NVMe uevent (subsystems, controllers and heads coming, going, reconnecting) and when
// the engine asks; between them, a poll every interval of what the kernel changes silently
// (silent-poll.ts: ANA states and controller states), whose findings are applied to the last
// reading and announced with changed() so the engine reads this source alone. Without native
// multipath or without a subsystem there is nothing to poll, and no timer runs.
import type { SourceEvents, Source, SourceRead, Timers } from '../../core/ports';
import type { AnaState, ControllerState, NvmePath, NvmeReading, NvmeSubsystem } from '../../model/nvme-reading';
import type { KernelEvent } from '../../model/readings';
import { onceWhileLasting, type Logger } from '../../util/log';
import { controllerPaths, readNvme } from './reader';
import { SilentStatePoll, type SilentChange } from './silent-poll';

export interface NvmeSourceOptions {
  /** The sysfs root: /sys, or a simulated tree. */
  root: string;
  /** Milliseconds between two polls of the silent state; 0: no poll (uevents and reads only). */
  pollIntervalMs: number;
  log: Logger;
  timers: Timers;
}

const EMPTY: NvmeReading = { nativeMultipath: undefined, subsystems: [], problems: [] };
// Polls after an NVMe uevent on which each controller's paths are listed: the namespace scan
// that adds a connecting controller's paths runs after its last uevent, and adds them silently.
const SETTLE_POLLS = 5;

export class NvmeSource implements Source {
  readonly name = 'nvme';
  readonly available = true;
  private reading: NvmeReading = EMPTY;
  private readAll = true;
  private poll: SilentStatePoll | undefined;
  private timer: unknown;
  private events: SourceEvents | undefined;
  private stopped = false;
  /** Each unreadable or refused value once while it lasts (its text is escaped by the reader). */
  private readonly reportProblems: (problems: string[]) => void;
  /** Polls left on which the controllers' paths are listed (see SETTLE_POLLS). */
  private settling = 0;

  constructor(private readonly options: NvmeSourceOptions) {
    this.reportProblems = onceWhileLasting((p) => options.log.warning(`NVMe sysfs: ${p}`));
  }

  read(): SourceRead {
    if (this.readAll) this.readTree();
    return { readings: { nvme: this.reading } };
  }

  readAllNext(): void {
    this.readAll = true;
  }

  wants(ev: KernelEvent): boolean {
    if (ev.kind !== 'nvme') return false;
    this.readAll = true;
    this.settling = SETTLE_POLLS;
    return true;
  }

  start(events: SourceEvents): void {
    this.events = events;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.poll?.close();
    this.poll = undefined;
  }

  private readTree(): void {
    const reading = readNvme(this.options.root);
    this.readAll = false;
    // Native multipath off: the kernel shows each controller's namespaces on their own, and
    // multipathd may gather them into dm maps; there is nothing here to publish.
    this.reading = reading.nativeMultipath === false ? { ...EMPTY, nativeMultipath: false } : reading;
    this.reportProblems(reading.problems);
    // The old poll's kept files are closed before the new one opens its own.
    this.poll?.close();
    this.poll = this.reading.subsystems.length > 0 ? new SilentStatePoll(this.reading, this.options.root) : undefined;
    this.arm();
  }

  private arm(): void {
    if (this.timer !== undefined || this.stopped || !this.events || !this.poll || this.options.pollIntervalMs <= 0) return;
    this.timer = this.options.timers.setTimeout(() => {
      this.timer = undefined;
      try {
        const changes = this.poll?.poll() ?? [];
        if (changes.length > 0) this.apply(changes);
        if (this.settling > 0) {
          this.settling--;
          if (this.pathsMoved()) this.readAll = true;
        }
        if (changes.length > 0 || this.readAll) this.events?.changed();
      } catch (e) {
        // A bug here must not end the service, nor leave the model behind: read it all again.
        this.options.log.error(`NVMe poll failed: ${(e as Error).message}; re-reading sysfs`);
        this.readAll = true;
        this.events?.changed();
      }
      this.arm();
    }, this.options.pollIntervalMs);
  }

  /** Whether some controller's paths are not the ones the reading has (a scan added or removed some). */
  private pathsMoved(): boolean {
    for (const s of this.reading.subsystems) {
      for (const c of s.controllers) {
        const read = s.namespaces.flatMap((ns) => ns.paths.filter((p) => p.controller === c.name).map((p) => p.name)).sort();
        const now = controllerPaths(this.options.root, c.name)?.sort();
        if (now !== undefined && now.join() !== read.join()) return true;
      }
    }
    return false;
  }

  /**
   * The poll's findings written into a new reading: only the namespaces and controller lists
   * they touch are new objects, so the model rebuilds only the maps concerned (built-from.ts).
   */
  private apply(changes: SilentChange[]): void {
    const ana = new Map<string, AnaState>();
    const controller = new Map<string, ControllerState>();
    for (const c of changes) {
      if (c.kind === 'ana-state') ana.set(c.path, c.current);
      else if (c.kind === 'controller-state') controller.set(c.controller, c.current);
      // A device left: its uevent is coming, but the tree is read again regardless.
      else this.readAll = true;
    }
    const path = (p: NvmePath): NvmePath => (ana.has(p.name) ? { ...p, anaState: ana.get(p.name)! } : p);
    const subsystems = this.reading.subsystems.map((s): NvmeSubsystem => {
      const controllers = s.controllers.some((c) => controller.has(c.name)) ? s.controllers.map((c) => (controller.has(c.name) ? { ...c, state: controller.get(c.name)! } : c)) : s.controllers;
      const namespaces = s.namespaces.map((ns) => (ns.paths.some((p) => ana.has(p.name)) ? { ...ns, paths: ns.paths.map(path) } : ns));
      return { ...s, controllers, namespaces };
    });
    this.reading = { ...this.reading, subsystems };
  }
}
