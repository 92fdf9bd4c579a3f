// The service: kernel events in, model updated at once, D-Bus mirrors it. multipathd is
// read afterwards (coalesced) for the rich fields and never sits on the event path.
import { randomUUID } from 'node:crypto';
import { MANAGER_IFACE, ROOT_PATH, BUS_NAME, MANAGER, MAP, PATH_GROUP, PATH } from '../frontends/dbus/api';
import { Callers } from '../frontends/dbus/bus/callers';
import { DBusError, DEFAULT_MAX_OUTBOUND_BYTES, ObjectServer, variant, type MethodCall } from '../frontends/dbus/bus/object-server';
import { align8, sizeOf } from '../frontends/dbus/bus/wire';
import { requestName, releaseName, type BusConnection } from '../frontends/dbus/bus/connection';
import { readMultipathMaps, type DmSource } from '../sources/device-mapper/reader';
import { parseUevent } from '../sources/uevents/parse';
import { cleanSettings } from '../model/clean-values';
import { TopologyStore } from '../model/store';
import { MultipathdError } from '../sources/multipathd/client';
import { parseShowMaps } from '../sources/multipathd/maps-json';
import { parseShowConfig } from '../sources/multipathd/show-config';
import type { UeventHandlers, UeventMonitor, UeventMonitorOptions } from '../native/addon';
import type { ServiceConfig } from '../config/config-file';
import { rateLimited, type Logger } from '../util/log';
import { CallerBudgets, type BudgetLimits } from '../frontends/dbus/caller-budgets';
import { Coalescer, realTimers, type Timers } from './coalescer';
import { EventHistory } from './history';
import { InternalErrors } from './internal-errors';
import { MultipathdHealth } from '../sources/multipathd/health';
import { Publisher } from '../frontends/dbus/publisher';
import type { Sink } from './events';
import { EventStream } from './stream';
import { UeventSource } from '../sources/uevents/source';
import { VERSION } from '../version';
import { Audit, logEntries, type WriteEntry } from '../outputs/journal/audit';
import { PolkitAuthority, type Authority } from '../frontends/dbus/polkit/authority';
import { Management } from './commands/commands';
import { PublishedState } from './commands/shown-state';
import type { SourceReadings, MultipathSettings } from '../model/readings';

export interface MultipathdLike {
  request(command: string): Promise<string>;
  close(): void;
}

export type OpenMonitor = (options: UeventMonitorOptions, handlers: UeventHandlers) => UeventMonitor;

export interface ServiceDeps {
  bus: BusConnection;
  config: ServiceConfig;
  log: Logger;
  multipathd: MultipathdLike;
  /** device-mapper; undefined where there is none (the simulator without its fake). */
  dm: DmSource | undefined;
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
  /**
   * Called after each reading, the service's largest transient allocation (megabytes of
   * multipathd JSON): give what was freed back to the kernel. serve: a collection, then malloc_trim.
   */
  releaseMemory?: () => void;
}

/** Objects per GetManagedObjectsPage call at most, as events per GetEvents call. */
export const MAX_OBJECTS_PER_PAGE = 1000;

/** Callers whose uid the bus daemon cannot tell (already gone) share one budget. */
const UNKNOWN_UID = -1;

export interface ServiceStats {
  datagrams: number;
  malformed: number;
  ignored: number;
  stale: number;
  overflows: number;
  signalsDropped: number;
  reads: number;
}

/**
 * How long stopping waits for the bus to confirm ReleaseName. Closing the connection
 * releases the name anyway; the wait only orders it, and a bus that does not answer
 * (stopped, hung, dying with us) must not keep the process from exiting.
 */
const RELEASE_NAME_TIMEOUT_MS = 500;

export class MultipathService {
  readonly instanceId = randomUUID();
  readonly stats: ServiceStats = { datagrams: 0, malformed: 0, ignored: 0, stale: 0, overflows: 0, signalsDropped: 0, reads: 0 };
  private readonly store = new TopologyStore();
  private readonly history: EventHistory;
  private readonly server: ObjectServer;
  private readonly stream: EventStream;
  private readonly refresher: Coalescer;
  /** Unprivileged Refresh calls share this: one read per interval, later callers join the pending one. */
  private readonly sharedRefresher: Coalescer;
  private readonly callers: Callers;
  private readonly budgets: CallerBudgets;
  private readonly audit: Audit;
  private sizeResyncPending = false;
  private readonly published: PublishedState;
  private readonly health = new MultipathdHealth();
  private readonly timers: Timers;
  private readonly errors: InternalErrors;
  /** Losses not yet confirmed by a read: reason -> number of its latest loss (see lossCount). */
  private readonly pendingResync = new Map<string, number>();
  /** Losses so far; a read confirms those numbered up to the count when it began. */
  private lossCount = 0;
  private readonly warnMalformed: (msg: string) => void;
  private settings: MultipathSettings | undefined;
  private repairsReported = new Set<string>();
  private configStale = true;
  private readonly uevents: UeventSource | undefined;
  private dmFailureLogged = false;
  private safetyTimer: unknown;
  private retryTimer: unknown;
  private stopped = false;

  constructor(private readonly deps: ServiceDeps) {
    this.timers = deps.timers ?? realTimers;
    // A bug leaves the published state unknown: rebuild it and tell clients to re-read.
    this.errors = new InternalErrors(deps.log, () => {
      this.stream.republish();
      this.resync('internal-error');
    });
    this.history = new EventHistory(deps.config.historySize);
    deps.bus.maxMessageBytes = deps.config.maxMessageSize;
    this.callers = new Callers(deps.bus);
    this.budgets = new CallerBudgets(this.timers, deps.budget);
    this.published = new PublishedState(this.timers);
    this.audit = new Audit(deps.journal ?? logEntries(deps.log), this.timers);
    const management = new Management({
      multipathd: deps.multipathd,
      published: this.published,
      authority: deps.authority ?? new PolkitAuthority(deps.bus, this.callers),
      reread: async ({ settings }) => {
        if (settings) this.configStale = true;
        await this.refresher.request();
        this.stream.flush();
      },
      kernelEvents: () => this.uevents?.available ?? false,
      audit: (r) => this.audit.record(r),
      charge: ({ uid = UNKNOWN_UID }) => {
        if (uid !== 0) this.budgets.charge(uid, this.budgets.limits.managementCallBytes);
      },
      timers: this.timers,
      // Under the 25 s D-Bus clients wait by default: they hear our timeout rather than their own.
      timeoutMs: deps.manageTimeoutMs ?? 20_000,
      // The kernel's uevent follows multipathd's command within milliseconds on a host; the VM
      // scenarios, under full emulation, see PathFailed 404 ms after `fail path`.
      confirmAfterMs: 1_000,
    });
    // The bound covers what waits in our memory and in the socket together: the kernel holds
    // a quarter of it as asked (it reports twice that, which is what it may charge).
    const bound = deps.maxOutboundBytes ?? DEFAULT_MAX_OUTBOUND_BYTES;
    const inKernel = deps.bus.reserveSendBuffer(bound / 4);
    this.server = new ObjectServer(deps.bus, {
      objectManagerPath: ROOT_PATH,
      interfaces: [MANAGER, MAP, PATH_GROUP, PATH],
      maxOutboundBytes: Math.max(bound - inKernel, bound / 2),
      onInternalError: (e, context) => this.errors.report(`D-Bus ${context}`, e),
      onSignalsDropped: (n) => {
        this.stats.signalsDropped += n;
        deps.log.warning(`dropped ${n} signals while the bus was not reading; telling clients to resynchronize`);
        this.stream.resynchronized('backpressure');
      },
      onSignalTooLarge: (what, e) => {
        deps.log.warning(`did not send ${what}: ${e.message}; telling clients to re-read`);
        this.resyncAfterBurst();
      },
      tooLargeHints: {
        'org.freedesktop.DBus.ObjectManager.GetManagedObjects': `read the objects in pieces with ${MANAGER_IFACE}.GetManagedObjectsPage (see its introspection)`,
      },
      admit: (sender) => this.admit(sender),
      charge: (uid, bytes) => {
        if (uid !== 0) this.budgets.charge(uid, bytes);
      },
      handlers: {
        [`${MANAGER_IFACE}.GetEvents`]: (call) => this.getEvents(call),
        [`${MANAGER_IFACE}.Refresh`]: async (call) => {
          try {
            if (call.uid === 0) {
              this.configStale = true;
              await this.refresher.request();
            } else {
              await this.sharedRefresher.request();
            }
          } catch {
            // Reported where the read failed; the caller is told, and the recovery read follows.
            throw new DBusError('org.freedesktop.DBus.Error.Failed', 'the read failed; the service logged why and reads again');
          }
          return [];
        },
        [`${MANAGER_IFACE}.GetManagedObjectsPage`]: (call) => {
          const [after, max] = call.args as [string, number];
          const page = this.server.page(after, max === 0 || max > MAX_OBJECTS_PER_PAGE ? MAX_OBJECTS_PER_PAGE : max);
          return [page.objects, page.next];
        },
        ...management.handlers(),
      },
    });
    this.stream = new EventStream(
      this.history,
      () => this.store.topology,
      () => ({
        version: VERSION,
        instanceId: this.instanceId,
        multipathdAvailable: this.health.available,
        kernelEventsAvailable: this.uevents?.available ?? false,
        settings: this.settings,
        ueventOverflows: this.stats.overflows,
        signalsDropped: this.stats.signalsDropped,
      }),
      setImmediate,
      (e, context) => this.errors.report(context, e),
    );
    this.stream.addSink(new Publisher(this.server));
    // Right after the publisher: a method returns once the bus shows its effect.
    this.stream.addSink(this.published);
    for (const sink of deps.sinks ?? []) this.stream.addSink(sink);
    this.refresher = new Coalescer(() => this.read(), deps.minRefreshIntervalMs ?? 1000, this.timers, (e) =>
      this.errors.report('a read of the sources', e),
    );
    this.sharedRefresher = new Coalescer(
      () => {
        this.configStale = true;
        return this.refresher.request();
      },
      deps.unprivilegedRefreshIntervalMs ?? 10_000,
      this.timers,
      (e) => this.errors.report('a shared Refresh read', e),
    );
    this.warnMalformed = rateLimited((m) => deps.log.warning(m), 10_000, () => this.timers.now());
    this.uevents = deps.openMonitor && this.openUevents(deps.openMonitor);
  }

  /** Serial of the newest event (the Manager's EventSerial). */
  get eventSerial(): bigint {
    return this.history.lastSerial;
  }

  get topology() {
    return this.store.topology;
  }

  /** Coldplug, export every object, then own the name: a client that sees the name sees everything. */
  async start(): Promise<void> {
    this.uevents?.start();
    // The coldplug read does not wait for the caller subscription; both precede the name.
    // A read that throws was reported and is retried: serve what there is rather than exit.
    await Promise.all([this.callers.start(), this.refresher.request().catch(() => undefined)]);
    this.stream.flush();
    await requestName(this.deps.bus, BUS_NAME);
    this.deps.log.info(
      `serving ${this.store.topology.size} maps on ${BUS_NAME}; multipathd ${this.health.available ? 'available' : 'unavailable'}, ` +
        `kernel events ${this.uevents?.available ? 'on' : 'off'}, device-mapper ${this.deps.dm ? 'on' : 'off'}`,
    );
    this.armSafetyNet();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.refresher.stop();
    this.sharedRefresher.stop();
    this.budgets.stop();
    this.audit.stop();
    for (const t of [this.safetyTimer, this.retryTimer]) if (t !== undefined) this.timers.clearTimeout(t);
    this.uevents?.stop();
    this.deps.multipathd.close();
    if (this.deps.bus.connected) {
      // Neither waits longer than the release: a bus that stopped answering must not hold up the exit.
      this.callers.stop().catch(() => undefined);
      await releaseName(this.deps.bus, BUS_NAME, RELEASE_NAME_TIMEOUT_MS).catch(() => undefined);
    }
  }

  /** The entry point of every kernel datagram, real or simulated. */
  handleDatagram(datagram: Buffer): void {
    try {
      this.applyDatagram(datagram);
    } catch (e) {
      this.errors.report('a kernel datagram', e);
    }
  }

  private applyDatagram(datagram: Buffer): void {
    this.stats.datagrams++;
    const parsed = parseUevent(datagram);
    if (parsed.kind === 'malformed') {
      this.stats.malformed++;
      this.warnMalformed(`skipped a malformed uevent (${this.stats.malformed} so far): ${parsed.reason}`);
      return;
    }
    if (parsed.kind === 'ignored') {
      this.stats.ignored++;
      return;
    }
    const ev = parsed.event;
    if (ev.kind === 'map') {
      // Plain dm add/remove/change carry no DM_UUID from the kernel: ask the sources.
      if (ev.action !== 'change') this.store.forgetSeqnum(ev.sysfs);
      this.refresher.poke();
      return;
    }
    const result = this.store.applyPathEvent(ev);
    if (result.kind === 'stale') {
      this.stats.stale++;
      this.deps.log.debug(`ignored stale ${ev.action} event for ${ev.pathDevT} on ${ev.mapName} (DM_SEQNUM ${ev.dmSeqnum})`);
      // Not applied; a re-read still confirms the state (cheap: reads are coalesced).
      this.refresher.poke();
      return;
    }
    if (result.kind === 'unknown') {
      this.refresher.poke();
      return;
    }
    if (result.change) this.stream.mapsChanged([result.change], false);
    if (result.resync) this.resync(result.resync);
    // The kernel said what failed; multipathd says why (checker state) a moment later.
    else this.refresher.poke();
  }

  /** Events were lost: rebuild, announce what the rebuild finds, then say so. */
  resync(reason: string): void {
    this.pendingResync.set(reason, ++this.lossCount);
    this.refresher.poke();
  }

  /** The uevent socket, reopened whenever it fails; KernelEventsAvailable says whether it is open. */
  private openUevents(open: OpenMonitor): UeventSource {
    return new UeventSource(open, this.deps.config.netlinkBuffer, this.deps.log, this.timers, {
      onDatagram: (d) => this.handleDatagram(d),
      onOverflow: () => {
        this.stats.overflows++;
        this.deps.log.warning('kernel uevent socket overflowed (ENOBUFS): events were lost, re-reading all state');
        this.resync('overflow');
      },
      onLost: () => this.stream.managerChanged(),
      onReopened: () => {
        this.stream.managerChanged();
        this.resync('uevent-reopened');
      },
    });
  }

  private armSafetyNet(): void {
    const seconds = this.deps.config.refreshInterval;
    if (seconds <= 0 || this.stopped) return;
    this.safetyTimer = this.timers.setTimeout(
      this.errors.guard('the safety-net timer', () => {
        this.refresher.poke();
        this.armSafetyNet();
      }),
      seconds * 1000,
    );
  }

  private async read(): Promise<void> {
    this.stats.reads++;
    // A loss after this point may postdate what the sources tell this read.
    const begun = this.lossCount;
    const readings: SourceReadings = {};
    const mpd = await this.readMultipathd(begun);
    if (mpd) readings.multipathd = mpd;
    // After multipathd: the kernel's answer is then at least as new as every event applied so far.
    const dm = this.readDm();
    if (dm) readings.dm = dm;
    if (this.stopped) return;
    const repaired: string[] = [];
    const changes = this.store.applyReadings(readings, (m) => repaired.push(m));
    this.reportRepairs(repaired);
    this.stream.mapsChanged(changes, true);
    if (readings.dm || readings.multipathd) this.confirmResync(begun);
    this.stream.managerChanged();
    this.deps.releaseMemory?.();
  }

  /** The losses up to `begun` are repaired: say so. Later ones wait for the read they caused. */
  private confirmResync(begun: number): void {
    const confirmed = [...this.pendingResync].filter(([, n]) => n <= begun).map(([reason]) => reason);
    for (const reason of confirmed) this.pendingResync.delete(reason);
    if (confirmed.length > 0) this.stream.resynchronized(confirmed.join(','));
    if (this.pendingResync.size > 0) this.refresher.poke();
  }

  /** Each repair once while it lasts: a read every second must not log the same line each time. */
  private reportRepairs(messages: string[]): void {
    const now = new Set(messages);
    for (const m of now) if (!this.repairsReported.has(m)) this.deps.log.warning(m);
    this.repairsReported = now;
  }

  private readDm() {
    if (!this.deps.dm) return undefined;
    const r = readMultipathMaps(this.deps.dm);
    if (!r.ok) {
      if (!this.dmFailureLogged) this.deps.log.warning(`device-mapper unreadable: ${r.error}`);
      this.dmFailureLogged = true;
      return undefined;
    }
    this.dmFailureLogged = false;
    for (const s of r.value.skipped) this.deps.log.warning(`device-mapper: skipped ${s}`);
    return r.value.maps;
  }

  private async readMultipathd(begun: number) {
    try {
      const text = await this.deps.multipathd.request('show maps json');
      const parsed = parseShowMaps(text);
      if (!parsed.ok) throw new MultipathdError('malformed', `multipathd sent an unreadable map list: ${parsed.error}`);
      if (parsed.value.repaired) this.deps.log.debug('multipathd sent invalid JSON (unescaped strings); read it tolerantly');
      for (const w of parsed.value.warnings) this.deps.log.debug(`multipathd maps: ${w}`);
      if (this.configStale || !this.settings) await this.readSettings();
      if (this.health.succeeded()) {
        this.deps.log.notice('multipathd is back; re-reading all state');
        // Found by this very read, which therefore confirms it.
        this.pendingResync.set('multipathd-restart', begun);
        this.configStale = true;
      }
      this.stream.managerChanged();
      return parsed.value.maps;
    } catch (e) {
      const kind = e instanceof MultipathdError ? e.kind : 'unparsable';
      const lost = this.health.failed(kind);
      // An impostor is reported by the client itself, once, however often we retry.
      if (lost && kind !== 'untrusted') this.deps.log.warning(`multipathd unavailable: ${(e as Error).message}; serving the kernel's view`);
      else this.deps.log.debug(`multipathd read failed: ${(e as Error).message}`);
      this.stream.managerChanged();
      this.scheduleRetry();
      return undefined;
    }
  }

  /** Settings are worth less than maps: a failure here is logged and the maps still count. */
  private async readSettings(): Promise<void> {
    let text: string;
    try {
      text = await this.deps.multipathd.request('show config');
    } catch (e) {
      this.deps.log.warning(`multipathd config unreadable: ${(e as Error).message}`);
      return;
    }
    const parsed = parseShowConfig(text);
    if (parsed.ok) {
      this.settings = cleanSettings(parsed.value, (m) => this.deps.log.warning(m));
      this.configStale = false;
    } else {
      this.deps.log.warning(`multipathd config unreadable: ${parsed.error}`);
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.stopped) return;
    this.retryTimer = this.timers.setTimeout(
      this.errors.guard('the multipathd retry timer', () => {
        this.retryTimer = undefined;
        this.refresher.poke();
      }),
      this.health.backoffMs(),
    );
  }

  /** Root is never throttled; everyone else spends their uid's reply budget (see caller-budget.ts). Resolves to that uid. */
  private async admit(sender: string): Promise<number> {
    const uid = (await this.callers.uid(sender)) ?? UNKNOWN_UID;
    if (uid !== 0) await this.budgets.admit(uid);
    return uid;
  }

  /** Signals the bus would refuse were not sent: once per burst, tell clients to re-read. */
  private resyncAfterBurst(): void {
    if (this.sizeResyncPending) return;
    this.sizeResyncPending = true;
    this.timers.setTimeout(() => {
      this.sizeResyncPending = false;
      this.stream.resynchronized('message-size');
    }, 0);
  }

  /** A page of the history, cut short where the message size limit would be reached (the caller asks again from its last serial). */
  private getEvents(call: MethodCall): unknown[] {
    const [since, max] = call.args as [bigint, number];
    const { complete, events } = this.history.since(since, max);
    const out: unknown[] = [];
    let bytes = 8;
    for (const e of events) {
      const entry = [e.serial, e.name, e.object, Object.fromEntries(Object.entries(e.data).map(([k, v]) => [k, variant(v.type, v.value)]))];
      bytes += align8(sizeOf('(tsoa{sv})', entry));
      if (bytes > this.server.replyBudget) break;
      out.push(entry);
    }
    if (out.length === 0 && events.length > 0) {
      throw new DBusError('org.freedesktop.DBus.Error.LimitsExceeded', `event ${events[0].serial} alone is larger than the message size limit`);
    }
    return [complete, out];
  }
}

