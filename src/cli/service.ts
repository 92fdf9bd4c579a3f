// The service as serve and the demo run it: the engine with its sources, the D-Bus front end
// on one connection, and the outputs beside it. This is where the layers meet; nothing below
// knows which sources, front ends or outputs exist.
import type { ServiceConfig } from '../config/config-file';
import { Engine } from '../core/engine';
import type { Sink } from '../core/events';
import { realTimers, type Authority, type CommandChannel, type Timers } from '../core/ports';
import { Callers } from '../frontends/dbus/bus/callers';
import type { BusConnection } from '../frontends/dbus/bus/connection';
import type { BudgetLimits } from '../frontends/dbus/caller-budgets';
import { DBusFrontEnd } from '../frontends/dbus/front-end';
import { BUS_NAME } from '../frontends/dbus/api';
import { PolkitAuthority } from '../frontends/dbus/polkit/authority';
import { Audit, logEntries, type WriteEntry } from '../outputs/journal/audit';
import type { DmSource } from '../sources/device-mapper/reader';
import { DeviceMapperSource } from '../sources/device-mapper/source';
import { MultipathdSource, unreachable } from '../sources/multipathd/source';
import { NvmeSource } from '../sources/nvme/source';
import type { OpenMonitor } from '../sources/uevents/socket';
import { UeventSource } from '../sources/uevents/source';
import type { Logger } from '../util/log';

export interface ServiceDeps {
  bus: BusConnection;
  config: ServiceConfig;
  log: Logger;
  multipathd: CommandChannel;
  /** device-mapper; undefined where there is none (the simulator without its fake). */
  dm: DmSource | undefined;
  /** Native NVMe multipath: the sysfs root to read (/sys, or a simulated tree) and the poll's interval; undefined: none. */
  nvme?: { root: string; pollIntervalMs: number };
  /** Kernel uevents; undefined to run without them (the demo injects datagrams itself). */
  openMonitor: OpenMonitor | undefined;
  timers?: Timers;
  /** Minimum time between two reads, however many are asked for. */
  minRefreshIntervalMs?: number;
  /** Outbound bytes queued for the bus daemon above which signals are dropped (then Resynchronized). */
  maxOutboundBytes?: number;
  /** Outputs beside the D-Bus publisher that read the event stream (metrics, journal). */
  sinks?: Sink[];
  /** Reply budget of each unprivileged uid (default DEFAULT_BUDGET). */
  budget?: BudgetLimits;
  /** Minimum time between two reads that unprivileged Refresh calls cause, all of them together. */
  unprivilegedRefreshIntervalMs?: number;
  /** Who may manage; default: root, and polkit on this bus for everyone else. */
  authority?: Authority;
  /** How long a management method waits for its effect to be published. */
  manageTimeoutMs?: number;
  /** Where the audit of management actions goes (serve: journald); default: the log. */
  journal?: WriteEntry;
  releaseMemory?: () => void;
}

export class MultipathService {
  private readonly engine: Engine;
  private readonly dbus: DBusFrontEnd;
  private readonly uevents: UeventSource;
  private readonly audit: Audit;
  private stopped = false;

  constructor(private readonly deps: ServiceDeps) {
    const timers = deps.timers ?? realTimers;
    const { log, config } = deps;
    this.uevents = new UeventSource(deps.openMonitor, config.netlinkBuffer, log, timers);
    this.audit = new Audit(deps.journal ?? logEntries(log), timers);
    const callers = new Callers(deps.bus);
    this.engine = new Engine({
      log,
      historySize: config.historySize,
      refreshInterval: config.refreshInterval,
      // multipathd first: device-mapper's answer is then at least as new as every event applied.
      readers: [
        new MultipathdSource(deps.multipathd, log),
        ...(deps.dm ? [new DeviceMapperSource(deps.dm, log, { timers, intervalMs: config.kernelPollInterval * 1000 })] : []),
        ...(deps.nvme ? [new NvmeSource({ ...deps.nvme, log, timers })] : []),
      ],
      events: this.uevents,
      multipathd: deps.multipathd,
      unreachable,
      authority: deps.authority ?? new PolkitAuthority(deps.bus, callers),
      audit: (r) => this.audit.record(r),
      timers,
      minRefreshIntervalMs: deps.minRefreshIntervalMs,
      unprivilegedRefreshIntervalMs: deps.unprivilegedRefreshIntervalMs,
      manageTimeoutMs: deps.manageTimeoutMs,
      releaseMemory: deps.releaseMemory,
    });
    this.dbus = new DBusFrontEnd({
      bus: deps.bus,
      callers,
      engine: this.engine,
      log,
      timers,
      maxMessageSize: config.maxMessageSize,
      maxOutboundBytes: deps.maxOutboundBytes,
      budget: deps.budget,
      releaseMemory: deps.releaseMemory,
    });
    for (const sink of deps.sinks ?? []) this.engine.addSink(sink);
  }

  get instanceId(): string {
    return this.engine.instanceId;
  }

  /** Serial of the newest event (the Manager's EventSerial). */
  get eventSerial(): bigint {
    return this.engine.eventSerial;
  }

  get topology() {
    return this.engine.topology;
  }

  get stats() {
    return { ...this.uevents.stats, ...this.engine.stats };
  }

  /** Coldplug, export every object, then own the name: a client that sees the name sees everything. */
  async start(): Promise<void> {
    // The coldplug read does not wait for the caller subscription; both precede the name.
    await Promise.all([this.dbus.prepare(), this.engine.start()]);
    await this.dbus.open();
    this.deps.log.info(
      `serving ${this.engine.topology.size} maps on ${BUS_NAME}; multipathd ${this.engine.manager().multipathdAvailable ? 'available' : 'unavailable'}, ` +
        `kernel events ${this.uevents.available ? 'on' : 'off'}, device-mapper ${this.deps.dm ? 'on' : 'off'}, NVMe ${this.deps.nvme ? 'on' : 'off'}`,
    );
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.engine.stop();
    this.audit.stop();
    await this.dbus.stop();
  }

  /** The entry point of every kernel datagram, real or simulated. */
  handleDatagram(datagram: Buffer): void {
    this.uevents.datagram(datagram);
  }

  /** Events were lost: rebuild, announce what the rebuild finds, then say so. */
  resync(reason: string): void {
    this.engine.resync(reason);
  }
}
