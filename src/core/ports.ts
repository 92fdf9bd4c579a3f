// What the core needs from outside, each as the smallest interface that says it: a clock, the
// command channel to multipathd, who a caller is and whether they may act, where the record
// of management actions goes, and the sources of the model. Adapters live with what they
// adapt (sources/, frontends/, outputs/); serve (cli/serve.ts) plugs them in.
import type { KernelEvent, MultipathSettings, SourceReadings } from '../model/readings';

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** multipathd's command socket: a command in, its answer out (rejects when it cannot be asked). */
export interface CommandChannel {
  request(command: string): Promise<string>;
  close(): void;
}

/** Who is calling, as the front end's transport vouches for it. */
export interface Caller {
  /** The caller's address on its transport (on D-Bus, its unique name). */
  sender: string;
  uid: number;
  pid: number;
  /** The systemd unit the process runs in ("session-3.scope", "cockpit.service"), '' if unknown. */
  unit: string;
}

/** What a command needs leave for: paths (fail, reinstate, switch groups) or the configuration. */
export type Permission = 'manage-paths' | 'configure';

export type Verdict = { ok: true; by: 'root' | 'polkit' } | { ok: false; reason: string };

export interface Authority {
  identify(sender: string): Promise<Caller>;
  authorize(caller: Caller, permission: Permission, allowInteractive: boolean): Promise<Verdict>;
}

export type Outcome = 'done' | 'denied' | 'failed';

/** One management call, as the audit records it. */
export interface AuditRecord {
  /** The method as the caller's front end names it ("Path.Fail"). */
  method: string;
  /** The target as the caller named it (on D-Bus, its object path). */
  object: string;
  /** The caller's address, also when it was refused before being identified. */
  sender: string;
  caller: Caller | undefined;
  outcome: Outcome;
  /** multipathd's command, once one was sent. */
  command?: string;
  detail?: string;
}

/** One read of a source; everything absent when it could not be read. */
export interface SourceRead {
  /** What this source tells the model. */
  readings?: SourceReadings;
  /** multipathd's settings, when this read included them. */
  settings?: MultipathSettings;
  /** The source is back after a loss: this read repairs what was missed (the Resynchronized reason). */
  recovered?: string;
  /** Unreadable now: read again after this long. */
  retryAfterMs?: number;
}

/** What a started source tells the engine between reads. */
export interface SourceEvents {
  /** A kernel uevent (the uevent source). */
  event(ev: KernelEvent): void;
  /** Events were lost (`reason`): re-read everything, then say Resynchronized. */
  lost(reason: string): void;
  /** Whether the source is available changed. */
  healthChanged(): void;
  /**
   * What this source reads changed with no event to say so (a poll of state the kernel
   * changes silently): read this source alone, soon, and publish what it says.
   */
  changed(): void;
}

/** A source of the model: read on demand, events pushed or polled (optional), its health. */
export interface Source {
  readonly name: string;
  /** Whether the source answers now. */
  readonly available: boolean;
  /** Read what the source knows; sources are read in the order the engine was given them. */
  read?(): SourceRead | Promise<SourceRead>;
  /** The next read reads everything again (multipathd: its settings too). */
  readAllNext?(): void;
  /** A kernel event this source must be read again for (true), or none of its business. */
  wants?(ev: KernelEvent): boolean;
  start?(events: SourceEvents): void;
  stop(): void;
}
