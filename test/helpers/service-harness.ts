// The real service on a private dbus-daemon, fed by the multipathd simulator (and its
// device-mapper view), with a separate client connection that records every signal.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { BUS_NAME, ROOT_PATH } from '../../src/frontends/dbus/api';
import { connectBus, disconnect, onSignal, type BusConnection } from '../../src/frontends/dbus/bus/connection';
import { DEFAULT_CONFIG, type ServiceConfig } from '../../src/config/config-file';
import { startPrivateBus, type PrivateBus } from '../../src/cli/private-bus';
import { MultipathService, type ServiceDeps } from '../../src/cli/service';
import type { Authority } from '../../src/core/ports';
import type { Sink } from '../../src/core/events';
import type { BudgetLimits } from '../../src/frontends/dbus/caller-budgets';
import { MultipathdClient } from '../../src/sources/multipathd/client';
import type { OpenMonitor } from '../../src/sources/uevents/socket';
import type { UeventHandlers } from '../../src/native/addon';
import { MultipathdSimulator, type SimTopologyOptions } from '../../src/sim/simulator';
import { createLogger } from '../../src/util/log';

export interface Signal {
  path: string;
  iface: string;
  member: string;
  args: unknown[];
}

export interface Harness {
  bus: PrivateBus;
  sim: MultipathdSimulator;
  service: MultipathService;
  client: BusConnection;
  /** The running service's own connection (the name's owner), for a test that speaks as the service. */
  readonly serviceBus: BusConnection;
  signals: Signal[];
  logs: string[];
  /** Feed datagrams through the service's kernel entry point. */
  kernel(datagrams: Buffer[]): void;
  /** Stop the service (it releases the name), and start a new instance on a new connection. */
  stopService(): Promise<void>;
  startService(): Promise<void>;
  /** Wait until the recorded signals satisfy a predicate. */
  waitFor(pred: (s: Signal[]) => boolean, what: string, ms?: number): Promise<void>;
  settle(ms?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /** The private bus's max_message_size. */
  maxMessageSize?: number;
  /** Outputs beside the D-Bus publisher (metrics, journal). */
  sinks?: Sink[];
  /** Kernel uevents from a real socket (root), through the service's own seam; default none. */
  openMonitor?: OpenMonitor;
  /** More policy files on the private bus (polkit's, for tests that run polkitd). */
  busIncludes?: string[];
  /** The simulator's latency (uevents after the command, reads slower than writes). */
  latency?: { ueventMs?: number; readMs?: number };
  /** Open a simulated uevent monitor (KernelEventsAvailable true), fed by `kernel()`. */
  simulatedMonitor?: boolean;
  /** Who may manage, in place of polkit (a test that holds an authorization back). */
  authority?: Authority;
  /** Each unprivileged uid's budget (small ones make throttling show in a short test). */
  budget?: BudgetLimits;
  /** Native NVMe multipath read from this sysfs tree (a simulated one), polled this often. */
  nvme?: ServiceDeps['nvme'];
  /**
   * The simulator's device-mapper event counter watched, as on a kernel since 4.13 (default:
   * not; neither is it polled unless the config sets kernelPollInterval): changes no uevent
   * announces are then published without a read of multipathd.
   */
  dmEvents?: boolean;
  /** The service's own waits, where a test needs them shorter than the defaults; what it runs after a read of every source. */
  timing?: Pick<ServiceDeps, 'manageTimeoutMs' | 'unprivilegedRefreshIntervalMs' | 'releaseMemory'>;
}

export const CLI = path.resolve(__dirname, '..', '..', 'bin', 'multipath-dbus');

export async function startHarness(
  topology: SimTopologyOptions | 'small' = 'small',
  config: Partial<ServiceConfig> = {},
  maxOutboundBytes?: number,
  options: HarnessOptions = {},
): Promise<Harness> {
  const { sinks = [], openMonitor } = options;
  const bus = await startPrivateBus({ includes: options.busIncludes, maxMessageSize: options.maxMessageSize });
  const socket = `@multipath-dbus-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  // What the simulated kernel says about changes made through multipathd's socket reaches
  // the service's kernel entry point, as the uevent socket would deliver it.
  const sim = new MultipathdSimulator({ socket, topology, onUevent: (d) => h.kernel([d]), latency: options.latency });
  await sim.listen();
  const logs: string[] = [];
  const log = createLogger('debug', (l) => logs.push(l), false);
  // A simulated uevent socket (KernelEventsAvailable true), fed by kernel(); or the caller's.
  let uevents: UeventHandlers | undefined;
  const simulated: OpenMonitor = (_options, handlers) => {
    uevents = handlers;
    let closed = false;
    return {
      close: () => (closed = true),
      ref: () => {},
      unref: () => {},
      stats: () => ({ received: 0, dropped: 0, overflows: 0, receiveBufferBytes: 0, portId: 0 }),
      get closed() {
        return closed;
      },
    };
  };
  const newService = async () => {
    const conn = await connectBus(bus.address);
    const service = new MultipathService({
      bus: conn,
      config: { ...DEFAULT_CONFIG, enable: true, refreshInterval: 0, kernelPollInterval: 0, ...config },
      log,
      // The simulator runs in this process, as whoever runs the tests.
      multipathd: new MultipathdClient({ socket, timeoutMs: 1500, expectedUid: process.getuid?.(), warn: (m) => log.warning(m) }),
      dm: options.dmEvents ? sim : { dmListDevices: () => sim.dmListDevices(), dmTableStatus: (name, table) => sim.dmTableStatus(name, table) },
      nvme: options.nvme,
      openMonitor: options.simulatedMonitor ? simulated : openMonitor,
      minRefreshIntervalMs: 50,
      maxOutboundBytes,
      sinks,
      authority: options.authority,
      budget: options.budget,
      ...options.timing,
    });
    return { conn, service };
  };
  let { conn, service } = await newService();
  const client = await connectBus(bus.address);
  const signals: Signal[] = [];
  await onSignal(client, { pathNamespace: ROOT_PATH }, (m) => signals.push(m));
  await service.start();
  const settle = (ms = 300) => new Promise<void>((r) => setTimeout(r, ms));
  let running = true;
  const h: Harness = {
    bus,
    sim,
    service,
    client,
    get serviceBus() {
      return conn;
    },
    signals,
    logs,
    kernel: (ds) => ds.forEach((d) => (uevents ? uevents.onDatagram(d) : h.service.handleDatagram(d))),
    settle,
    async stopService() {
      running = false;
      await h.service.stop();
      disconnect(conn);
    },
    async startService() {
      ({ conn, service } = await newService());
      h.service = service;
      await service.start();
      running = true;
    },
    async waitFor(pred, what, ms = 5000) {
      const end = Date.now() + ms;
      while (!pred(signals)) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; got ${signals.length} signals, the last: ${signals.slice(-10).map((s) => s.member).join(', ')}`);
        await settle(20);
      }
    },
    async stop() {
      if (running) await h.stopService();
      disconnect(client);
      await sim.close();
      await bus.stop();
    },
  };
  return h;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a command to completion, or until its output satisfies `until` (then SIGINT, as Ctrl-C
 * would); `killAfterMs` is the guard for a command that never gets there. `onOutput` sees the
 * output as it grows (to act once the command says it is ready).
 */
export function run(
  cmd: string,
  args: string[],
  opts: {
    killAfterMs?: number;
    env?: NodeJS.ProcessEnv;
    uid?: number;
    until?: (stdout: string, stderr: string) => boolean;
    onOutput?: (stdout: string, stderr: string) => void;
  } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, uid: opts.uid, gid: opts.uid });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    const seen = () => {
      opts.onOutput?.(stdout, stderr);
      if (!interrupted && opts.until?.(stdout, stderr)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', (d) => {
      stdout += d;
      seen();
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      seen();
    });
    child.on('error', reject);
    const t = opts.killAfterMs ? setTimeout(() => child.kill('SIGINT'), opts.killAfterMs) : undefined;
    child.on('close', (code) => {
      if (t) clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

export const busctl = (h: Harness, ...args: string[]) => run('busctl', [`--address=${h.bus.address}`, ...args]);

export { BUS_NAME, ROOT_PATH };
