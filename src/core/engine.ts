// The engine: kernel events in, model updated at once, every sink told. The sources are read
// afterwards (coalesced) for the rich fields and never sit on the event path. It owns the
// store, the history and the stream; the resync ledger (events lost -> a read confirms the
// repair -> Resynchronized); the safety-net read; the retry of a failing source; and the
// management commands. It knows no transport: front ends read its stream and call it.
import { randomUUID } from 'node:crypto';
import type { KernelEvent } from '../model/readings';
import type { MultipathSettings, SourceReadings } from '../model/readings';
import { TopologyStore } from '../model/store';
import type { Topology } from '../model/topology';
import { onceWhileLasting, type Logger } from '../util/log';
import { VERSION } from '../version';
import { Coalescer } from './coalescer';
import { Commands, type Unreachable } from './commands/commands';
import { ShownState } from './commands/shown-state';
import type { CoreEvent, ManagerState, Sink } from './events';
import { EventHistory } from './history';
import { InternalErrors } from './internal-errors';
import { realTimers, type AuditRecord, type Authority, type CommandChannel, type Source, type SourceEvents, type SourceRead, type Timers } from './ports';
import { EventStream } from './stream';

export interface EngineOptions {
  log: Logger;
  /** Events kept for clients that missed some. */
  historySize: number;
  /** Seconds between safety-net reads; 0: none. */
  refreshInterval: number;
  /** Sources that are read, in this order (multipathd first: device-mapper's answer is then the newer). */
  readers: Source[];
  /** The kernel's uevents: events between reads (KernelEventsAvailable). */
  events?: Source;
  /** multipathd's command channel, for the management commands; `unreachable` tells a failure that says it is not there. */
  multipathd: CommandChannel;
  unreachable: Unreachable;
  authority: Authority;
  audit: (r: AuditRecord) => void;
  timers?: Timers;
  /** Minimum time between two reads, however many are asked for. */
  minRefreshIntervalMs?: number;
  /** Minimum time between two reads that unprivileged refreshes cause, all of them together. */
  unprivilegedRefreshIntervalMs?: number;
  /** How long a management command waits for its effect to be published. */
  manageTimeoutMs?: number;
  /**
   * Called after each read of every source, the service's largest transient allocation
   * (megabytes of multipathd JSON): give what was freed back to the kernel. serve: a
   * collection, then malloc_trim. Not after a read of one source alone (a watch's few maps, a
   * poll's findings): it leaves kilobytes, and a full collection of a 1,000-map heap costs
   * tens of ms, several times the read itself.
   */
  releaseMemory?: () => void;
}

export interface EngineStats {
  stale: number;
  reads: number;
  signalsDropped: number;
}

export class Engine {
  readonly instanceId = randomUUID();
  readonly stats: EngineStats = { stale: 0, reads: 0, signalsDropped: 0 };
  readonly commands: Commands;
  private readonly store = new TopologyStore();
  private readonly history: EventHistory;
  private readonly stream: EventStream;
  private readonly refresher: Coalescer;
  /** Reads of one source alone (it saw a change no event announced, or an event only it reads for). */
  private readonly alone = new Map<Source, Coalescer>();
  /** Unprivileged refreshes share this: one read per interval, later callers join the pending one. */
  private readonly unprivilegedRefresher: Coalescer;
  private readonly timers: Timers;
  private readonly errors: InternalErrors;
  /** Losses not yet confirmed by a read: reason -> number of its latest loss (see lossCount). */
  private readonly pendingResync = new Map<string, number>();
  /** Losses so far; a read confirms those numbered up to the count when it began. */
  private lossCount = 0;
  /** Events lost, by reason, since start. */
  private readonly lost = new Map<string, number>();
  private settings: MultipathSettings | undefined;
  /** Each repair once while it lasts: a read every second must not log the same line each time. */
  private readonly reportRepairs: (messages: string[]) => void;
  private safetyTimer: unknown;
  private retryTimer: unknown;
  private stopped = false;

  constructor(private readonly options: EngineOptions) {
    const log = options.log;
    this.reportRepairs = onceWhileLasting((m) => log.warning(m));
    this.timers = options.timers ?? realTimers;
    // A bug leaves the published state unknown: rebuild it and tell clients to re-read.
    this.errors = new InternalErrors(log, () => {
      this.stream.republish();
      this.resync('internal-error');
    });
    this.history = new EventHistory(options.historySize);
    this.stream = new EventStream(this.history, () => this.store.topology, () => this.manager(), setImmediate, (e, context) => this.errors.report(context, e));
    const shown = new ShownState(this.timers);
    // Last, after every front end: a command returns once each of them shows its effect.
    this.stream.addSink(shown, { last: true });
    this.commands = new Commands(
      {
        multipathd: options.multipathd,
        shown,
        authority: options.authority,
        reread: async ({ settings }) => {
          if (settings) for (const s of options.readers) s.readAllNext?.();
          await this.refresher.request();
          this.stream.flush();
        },
        kernelEvents: () => options.events?.available ?? false,
        audit: options.audit,
        timers: this.timers,
        // Under the 25 s D-Bus clients wait by default: they hear our timeout rather than their own.
        timeoutMs: options.manageTimeoutMs ?? 20_000,
        // The kernel's uevent follows multipathd's command within milliseconds on a host; the VM
        // scenarios, under full emulation, see PathFailed 404 ms after `fail path`.
        confirmAfterMs: 1_000,
      },
      options.unreachable,
    );
    this.refresher = new Coalescer(() => this.read(), options.minRefreshIntervalMs ?? 1000, this.timers, (e) => this.errors.report('a read of the sources', e));
    this.unprivilegedRefresher = new Coalescer(
      () => this.refresh(true),
      options.unprivilegedRefreshIntervalMs ?? 10_000,
      this.timers,
      (e) => this.errors.report('a shared Refresh read', e),
    );
  }

  /** Serial of the newest event. */
  get eventSerial(): bigint {
    return this.history.lastSerial;
  }

  get topology(): Topology {
    return this.store.topology;
  }

  /** A front end or an output: it sees every event and every burst from now on. */
  addSink(sink: Sink): void {
    this.stream.addSink(sink);
  }

  /** Events after `since` (see EventHistory.since). */
  eventsSince(since: bigint, max: number): { complete: boolean; events: CoreEvent[] } {
    return this.history.since(since, max);
  }

  /** Coldplug: every source read and published once. A read that throws was reported and is retried: serve what there is. */
  async start(): Promise<void> {
    const events = (source: Source): SourceEvents => ({
      event: this.errors.guard('a kernel datagram', (ev: KernelEvent) => this.applyKernelEvent(ev)),
      lost: (reason) => {
        this.lost.set(reason, (this.lost.get(reason) ?? 0) + 1);
        this.resync(reason);
      },
      healthChanged: () => this.stream.managerChanged(),
      changed: () => this.readAlone(source),
    });
    for (const source of [...this.options.readers, ...(this.options.events ? [this.options.events] : [])]) source.start?.(events(source));
    await this.refresher.request().catch(() => undefined);
    this.stream.flush();
    this.armSafetyNet();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.refresher.stop();
    this.unprivilegedRefresher.stop();
    for (const c of this.alone.values()) c.stop();
    for (const t of [this.safetyTimer, this.retryTimer]) if (t !== undefined) this.timers.clearTimeout(t);
    this.options.events?.stop();
    for (const s of this.options.readers) s.stop();
  }

  /**
   * Read every source now and publish what they say: resolves once it is published, rejects
   * when the read failed (reported already; the recovery read follows). An unprivileged
   * refresh shares one read per interval with every other.
   */
  async refresh(privileged: boolean): Promise<void> {
    if (!privileged) return this.unprivilegedRefresher.request();
    for (const s of this.options.readers) s.readAllNext?.();
    return this.refresher.request();
  }

  /** Events were lost: rebuild, announce what the rebuild finds, then say so. */
  resync(reason: string): void {
    this.pendingResync.set(reason, ++this.lossCount);
    this.refresher.schedule();
  }

  /** A front end lost what it was sending (its peer did not read): announce Resynchronized now. */
  undelivered(reason: string, count = 0): void {
    this.stats.signalsDropped += count;
    this.stream.resynchronized(reason);
  }

  /** A bug in a front end: logged, then everything re-read and republished. */
  internalError(context: string, e: unknown): void {
    this.errors.report(context, e);
  }

  /** `fn`, reporting what it throws instead of letting it reach the event loop. */
  guard<A extends unknown[]>(context: string, fn: (...args: A) => void): (...args: A) => void {
    return this.errors.guard(context, fn);
  }

  /** Ask every sink for a burst now (what changed is published at once). */
  flush(): void {
    this.stream.flush();
  }

  manager(): ManagerState {
    return {
      version: VERSION,
      instanceId: this.instanceId,
      multipathdAvailable: this.options.readers.find((s) => s.name === 'multipathd')?.available ?? false,
      kernelEventsAvailable: this.options.events?.available ?? false,
      settings: this.settings,
      ueventOverflows: this.lost.get('overflow') ?? 0,
      signalsDropped: this.stats.signalsDropped,
    };
  }

  private applyKernelEvent(ev: KernelEvent): void {
    if (ev.kind === 'nvme') {
      for (const source of this.options.readers) if (source.wants?.(ev)) this.readAlone(source);
      return;
    }
    if (ev.kind === 'map') {
      // Plain dm add/remove/change carry no DM_UUID from the kernel: ask the sources.
      if (ev.action !== 'change') this.store.forgetSeqnum(ev.sysfs);
      this.refresher.schedule();
      return;
    }
    const result = this.store.applyPathEvent(ev);
    if (result.kind === 'stale') {
      this.stats.stale++;
      this.options.log.debug(`ignored stale ${ev.action} event for ${ev.pathDevT} on ${ev.mapName} (DM_SEQNUM ${ev.dmSeqnum})`);
      // Not applied; a re-read still confirms the state (cheap: reads are coalesced).
      this.refresher.schedule();
      return;
    }
    if (result.kind === 'unknown') {
      this.refresher.schedule();
      return;
    }
    if (result.change) this.stream.mapsChanged([result.change], false);
    if (result.resync) this.resync(result.resync);
    // The kernel said what failed; multipathd says why (checker state) a moment later.
    else this.refresher.schedule();
  }

  private armSafetyNet(): void {
    const seconds = this.options.refreshInterval;
    if (seconds <= 0 || this.stopped) return;
    this.safetyTimer = this.timers.setTimeout(
      this.errors.guard('the safety-net timer', () => {
        this.refresher.schedule();
        this.armSafetyNet();
      }),
      seconds * 1000,
    );
  }

  /** Read `source` alone, soon (coalesced): what the others said stays as it was. */
  private readAlone(source: Source): void {
    let reader = this.alone.get(source);
    if (!reader) {
      reader = new Coalescer(() => this.read([source]), this.options.minRefreshIntervalMs ?? 1000, this.timers, (e) => this.errors.report(`a read of ${source.name}`, e));
      this.alone.set(source, reader);
    }
    reader.schedule();
  }

  /** Read `sources` (all of them unless told) and publish what changed. */
  private async read(sources = this.options.readers): Promise<void> {
    this.stats.reads++;
    // A loss after this point may postdate what the sources tell this read.
    const begun = this.lossCount;
    const readings: SourceReadings = {};
    let read = false;
    for (const source of sources) {
      const pending = source.read!();
      // A source that answers at once is not awaited: nothing may run between two readings.
      const r: SourceRead = pending instanceof Promise ? await pending : pending;
      if (r.readings) {
        Object.assign(readings, r.readings);
        read = true;
      }
      if (r.settings) this.settings = r.settings;
      if (r.recovered) this.pendingResync.set(r.recovered, begun);
      if (r.retryAfterMs !== undefined) this.scheduleRetry(r.retryAfterMs);
      if (pending instanceof Promise) this.stream.managerChanged();
    }
    if (this.stopped) return;
    const repaired: string[] = [];
    const changes = this.store.applyReadings(readings, (m) => repaired.push(m));
    this.reportRepairs(repaired);
    this.stream.mapsChanged(changes, true);
    // Only a read of every source repairs what lost events hid.
    if (read && sources === this.options.readers) this.confirmResync(begun);
    this.stream.managerChanged();
    if (sources === this.options.readers) this.options.releaseMemory?.();
  }

  /** The losses up to `begun` are repaired: say so. Later ones wait for the read they caused. */
  private confirmResync(begun: number): void {
    const confirmed = [...this.pendingResync].filter(([, n]) => n <= begun).map(([reason]) => reason);
    for (const reason of confirmed) this.pendingResync.delete(reason);
    if (confirmed.length > 0) this.stream.resynchronized(confirmed.join(','));
    if (this.pendingResync.size > 0) this.refresher.schedule();
  }

  private scheduleRetry(ms: number): void {
    if (this.retryTimer !== undefined || this.stopped) return;
    this.retryTimer = this.timers.setTimeout(
      this.errors.guard('the source retry timer', () => {
        this.retryTimer = undefined;
        this.refresher.schedule();
      }),
      ms,
    );
  }
}
