// The D-Bus front end: the engine's model and events as objects and signals on one bus
// connection, its commands as methods. It owns the export (object server), the names of the
// model's identities (naming.ts), the publisher, caller admission (uid, budget) and the
// bus name; the engine knows none of it.
import type { Engine } from '../../core/engine';
import type { Timers } from '../../core/ports';
import type { Logger } from '../../util/log';
import { BUS_NAME, MANAGER, MANAGER_IFACE, MAP, PATH, PATH_GROUP, ROOT_PATH } from './api';
import type { Callers } from './bus/callers';
import { releaseName, requestName, type BusConnection } from './bus/connection';
import { DEFAULT_MAX_OUTBOUND_BYTES, ObjectServer } from './bus/object-server';
import { CallerBudgets, type BudgetLimits } from './caller-budgets';
import { MapSummaries } from './map-summaries';
import { managementHandlers, managerHandlers } from './methods';
import { ObjectNames } from './naming';
import { Publisher } from './publisher';

/** Callers whose uid the bus daemon cannot tell (already gone) share one budget. */
const UNKNOWN_UID = -1;

/**
 * How long stopping waits for the bus to confirm ReleaseName. Closing the connection
 * releases the name anyway; the wait only orders it, and a bus that does not answer
 * (stopped, hung, dying with us) must not keep the process from exiting.
 */
const RELEASE_NAME_TIMEOUT_MS = 500;
/** Kept GetManagedObjects entries let go that make a collection worth it (1,000 x 4 lets go of about 5.5 MiB). */
const RELEASE_WORTH_COLLECTING = 1024 * 1024;

export interface DBusFrontEndOptions {
  bus: BusConnection;
  /** Who is calling (shared with the polkit authority the engine was given). */
  callers: Callers;
  engine: Engine;
  log: Logger;
  timers: Timers;
  /** The bus daemon's max_message_size: no message we send is larger. */
  maxMessageSize: number;
  /** Outbound bytes queued for the bus daemon above which signals are dropped (then Resynchronized). */
  maxOutboundBytes?: number;
  /** Reply budget of each unprivileged uid (default DEFAULT_BUDGET). */
  budget?: BudgetLimits;
  /** Called when garbage worth collecting now was made (the kept GetManagedObjects entries let go). */
  releaseMemory?: () => void;
}

export class DBusFrontEnd {
  private readonly server: ObjectServer;
  private readonly budgets: CallerBudgets;
  private sizeResyncPending = false;

  constructor(private readonly options: DBusFrontEndOptions) {
    const { bus, engine, log, callers } = options;
    bus.maxMessageBytes = options.maxMessageSize;
    this.budgets = new CallerBudgets(options.timers, options.budget);
    const names = new ObjectNames();
    // The bound covers what waits in our memory and in the socket together: the kernel holds
    // a quarter of it as asked (it reports twice that, which is what it may charge).
    const bound = options.maxOutboundBytes ?? DEFAULT_MAX_OUTBOUND_BYTES;
    const inKernel = bus.reserveSendBuffer(bound / 4);
    const summaries = new MapSummaries();
    this.server = new ObjectServer(bus, {
      objectManagerPath: ROOT_PATH,
      interfaces: [MANAGER, MAP, PATH_GROUP, PATH],
      maxOutboundBytes: Math.max(bound - inKernel, bound / 2),
      onInternalError: (e, context) => engine.internalError(`D-Bus ${context}`, e),
      onSignalsDropped: (n) => {
        log.warning(`dropped ${n} signals while the bus was not reading; telling clients to resynchronize`);
        engine.undelivered('backpressure', n);
      },
      onSignalTooLarge: (what, e) => {
        log.warning(`did not send ${what}: ${e.message}; telling clients to re-read`);
        this.resyncAfterBurst();
      },
      // Worth a collection only when a large read let go of megabytes: a caller paging a few
      // objects now and then must not buy the service a full collection every 2 s.
      onEntriesReleased: (bytes) => {
        if (bytes >= RELEASE_WORTH_COLLECTING) options.releaseMemory?.();
      },
      tooLargeHints: {
        'org.freedesktop.DBus.ObjectManager.GetManagedObjects': `read the objects in pieces with ${MANAGER_IFACE}.GetManagedObjectsPage (see its introspection)`,
      },
      admit: async (sender) => {
        // Root is never throttled; everyone else spends their uid's reply budget (see caller-budgets.ts).
        const uid = (await callers.uid(sender)) ?? UNKNOWN_UID;
        if (uid !== 0) await this.budgets.admit(uid);
        return uid;
      },
      charge: (uid, bytes) => {
        if (uid !== 0) this.budgets.charge(uid, bytes);
      },
      handlers: {
        ...managerHandlers(engine, () => this.server, summaries),
        ...managementHandlers(engine.commands, names, ({ uid = UNKNOWN_UID }) => {
          if (uid !== 0) this.budgets.charge(uid, this.budgets.limits.managementCallBytes);
        }),
      },
    });
    engine.addSink(new Publisher(this.server, names));
    engine.addSink(summaries);
  }

  /** Follow callers' names, so the uids of those that leave are forgotten (before the name is owned). */
  prepare(): Promise<void> {
    return this.options.callers.start();
  }

  /** Own the name: a client that sees it sees every object. */
  async open(): Promise<void> {
    await requestName(this.options.bus, BUS_NAME);
  }

  async stop(): Promise<void> {
    this.budgets.stop();
    this.server.stop();
    if (this.options.bus.connected) {
      // Neither waits longer than the release: a bus that stopped answering must not hold up the exit.
      this.options.callers.stop().catch(() => undefined);
      await releaseName(this.options.bus, BUS_NAME, RELEASE_NAME_TIMEOUT_MS).catch(() => undefined);
    }
  }

  /** Signals the bus would refuse were not sent: once per burst, tell clients to re-read. */
  private resyncAfterBurst(): void {
    if (this.sizeResyncPending) return;
    this.sizeResyncPending = true;
    this.options.timers.setTimeout(() => {
      this.sizeResyncPending = false;
      this.options.engine.undelivered('message-size');
    }, 0);
  }
}
