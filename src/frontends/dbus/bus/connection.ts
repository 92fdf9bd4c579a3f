// Bus connections, names, and the client calls the CLI needs, over dbus-next (dbus-next is
// imported only in this folder; what it keeps private is reached in dbus-next-internals.ts).
// Everything else sees plain JS values.
import { EventEmitter } from 'node:events';
import * as dbus from 'dbus-next';
import { unwrap } from './values';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../../config/config-file';
import { marshalMessage, marshalSignal } from './wire';
import { setSendBuffer } from '../../../native/addon';
import { nextSerial, socketFd, transportOf, type RawBus } from './dbus-next-internals';

/** After `close`, how long queued bytes may take to reach the kernel before the socket is dropped anyway. */
const CLOSE_FLUSH_MS = 250;
/** An error name is an interface name: the daemon drops a connection that sends a bad one. */
const ERROR_NAME = /^(?=.{3,255}$)[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;

/**
 * A connection to one bus. `disconnect` fires once when the bus goes away under us; `drain`
 * when what waited in our memory for the daemon has gone to the kernel.
 */
export class BusConnection extends EventEmitter {
  private closedByUs = false;
  /**
   * Messages marshalled in this turn of the event loop, written as one buffer when it ends.
   * One buffer, not a corked writev: libuv hands the kernel at most 1,024 buffers per loop
   * iteration, so a storm's 5,000 signals would take five iterations to leave while the
   * daemon, starved, waited.
   */
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  /** Calls waiting for a reply: failed when the connection goes (dbus-next would wait forever). */
  private readonly waiting = new Set<(e: Error) => void>();
  /** Every message we marshal is checked against this before it is written (wire.ts throws MessageTooLarge). */
  maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;

  constructor(readonly raw: RawBus) {
    super();
    const lost = () => {
      if (!this.closedByUs) this.emit('disconnect');
      this.closedByUs = true;
      this.failWaiting();
    };
    transportOf(raw).connection.on('end', lost);
    raw.on('error', lost);
    transportOf(raw).stream.on('drain', () => this.emit('drain'));
  }

  /** The socket's file descriptor, for socket options Node has no API for. */
  get fd(): number | undefined {
    return socketFd(transportOf(this.raw).stream);
  }

  /** Bytes written but not yet taken by the kernel (what the socket's send buffer holds is not counted). */
  get outboundBytes(): number {
    return transportOf(this.raw).stream.writableLength + this.queuedBytes;
  }

  /**
   * Let the kernel hold `bytes` of what waits for the daemon (SO_SNDBUFFORCE, which needs
   * CAP_NET_ADMIN; the default is about 200 KiB, one turn's worth of a few hundred signals):
   * then a burst leaves in one syscall and the daemon reads it while we work on the next.
   * Returns what the kernel granted (it reports twice the request), 0 if it refused.
   */
  reserveSendBuffer(bytes: number): number {
    const fd = this.fd;
    if (fd === undefined) return 0;
    try {
      return setSendBuffer(fd, bytes);
    } catch {
      return 0;
    }
  }

  /**
   * A signal, marshalled by us (see wire.ts), to every subscriber or to `destination` alone;
   * throws MessageTooLarge rather than send one the bus would refuse.
   */
  sendSignal(path: string, iface: string, member: string, signature: string, body: unknown[], destination?: string): number {
    return this.write((serial) =>
      destination === undefined
        ? marshalSignal(serial, path, iface, member, signature, body, this.maxMessageBytes)
        : marshalMessage({ type: 4, serial, path, iface, member, destination }, signature, body, this.maxMessageBytes),
    );
  }

  /** The reply to a method call, marshalled by us; its size in bytes, or MessageTooLarge. */
  sendReply(call: { serial: number; sender: string }, signature: string, body: unknown[]): number {
    return this.write((serial) =>
      marshalMessage({ type: 2, serial, replySerial: call.serial, destination: call.sender }, signature, body, this.maxMessageBytes),
    );
  }

  /**
   * An error answering a method call, marshalled by us and written with this turn's other
   * messages: through dbus-next, each error cost a syscall of its own and most of the CPU
   * of a refused call.
   */
  sendError(call: { serial: number; sender: string }, name: string, text: string): void {
    if (!ERROR_NAME.test(name)) throw new Error(`${JSON.stringify(name)} is not a D-Bus error name`);
    this.write((serial) => marshalMessage({ type: 3, serial, replySerial: call.serial, destination: call.sender, errorName: name }, 's', [text], this.maxMessageBytes));
  }

  private write(make: (serial: number) => Buffer): number {
    const stream = transportOf(this.raw).stream;
    if (this.closedByUs || !stream.writable) return 0;
    const buf = make(nextSerial(this.raw));
    if (this.queued.length === 0) process.nextTick(() => this.flushQueued());
    this.queued.push(buf);
    this.queuedBytes += buf.length;
    return buf.length;
  }

  private flushQueued(): void {
    if (this.queued.length === 0) return;
    const parts = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    const stream = transportOf(this.raw).stream;
    if (this.closedByUs || !stream.writable) return;
    // The stream says 'drain' only after a write it refused to take whole; one the kernel took
    // at once (the bytes counted while they waited here) must say it too.
    if (stream.write(parts.length === 1 ? parts[0] : Buffer.concat(parts))) process.nextTick(() => this.emit('drain'));
  }

  get connected(): boolean {
    return !this.closedByUs;
  }

  get uniqueName(): string {
    return this.raw.name ?? '';
  }

  /**
   * Make a call and wait for its reply, or its failure: `Disconnected` at once when the
   * connection is (or goes) away, `NoReply` after `timeoutMs` (libdbus's names for these).
   */
  awaitReply<T>(send: () => Promise<T>, timeoutMs?: number): Promise<T> {
    if (this.closedByUs) return Promise.reject(disconnected());
    const reply = send();
    return new Promise<T>((resolve, reject) => {
      const fail = (e: Error) => {
        settle();
        reject(e);
      };
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => fail(new DBusCallError('org.freedesktop.DBus.Error.NoReply', `no reply within ${timeoutMs} ms`)), timeoutMs);
      const settle = () => {
        clearTimeout(timer);
        this.waiting.delete(fail);
      };
      this.waiting.add(fail);
      reply.then(
        (v) => (settle(), resolve(v)),
        (e) => (settle(), reject(e)),
      );
    });
  }

  private failWaiting(): void {
    for (const fail of [...this.waiting]) fail(disconnected());
  }

  /**
   * Close without waiting for the bus daemon to close its side: one that stopped reading
   * (stopped, hung) would otherwise keep the socket, and so the process, alive for ever.
   * Bytes already handed to the kernel are in the daemon's queue and survive the close.
   */
  close(): void {
    if (this.closedByUs) return;
    this.flushQueued();
    this.closedByUs = true;
    this.failWaiting();
    const stream = transportOf(this.raw).stream;
    this.raw.disconnect();
    const drop = () => stream.destroy();
    stream.once('finish', drop);
    setTimeout(drop, CLOSE_FLUSH_MS).unref();
  }
}

const disconnected = () => new DBusCallError('org.freedesktop.DBus.Error.Disconnected', 'the bus connection closed before the reply');

export async function connectBus(spec: string): Promise<BusConnection> {
  let raw: RawBus;
  if (spec === 'system') raw = dbus.systemBus() as RawBus;
  else if (spec === 'session') raw = dbus.sessionBus() as RawBus;
  else raw = dbus.sessionBus({ busAddress: spec }) as RawBus;
  await new Promise<void>((resolve, reject) => {
    const fail = (e: Error) => reject(new Error(e?.message ?? String(e)));
    raw.once('connect', () => {
      raw.removeListener('error', fail);
      resolve();
    });
    raw.once('error', fail);
  });
  return new BusConnection(raw);
}

export function disconnect(bus: BusConnection): void {
  bus.close();
}

export class DBusCallError extends Error {
  constructor(
    readonly type: string,
    /** The error's own text, without its name. */
    readonly detail: string,
  ) {
    super(`${type}: ${detail}`);
  }
}

export interface CallOptions {
  /** Set ALLOW_INTERACTIVE_AUTHORIZATION: the service may have polkit ask for a password. */
  allowInteractive?: boolean;
  /** Give up (DBus.Error.Timeout) after this long; dbus-next itself waits forever. */
  timeoutMs?: number;
}

const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;

async function call(bus: BusConnection, msg: dbus.Message, timeoutMs?: number): Promise<dbus.Message> {
  try {
    const reply = await bus.awaitReply(() => bus.raw.call(msg), timeoutMs);
    return reply as dbus.Message;
  } catch (e) {
    if (e instanceof DBusCallError) throw e;
    const err = e as { type?: string; text?: string; message?: string };
    throw new DBusCallError(err.type ?? 'org.freedesktop.DBus.Error.Failed', err.text ?? err.message ?? String(e));
  }
}

export async function callMethod(
  bus: BusConnection,
  destination: string,
  path: string,
  iface: string,
  member: string,
  signature: string,
  args: unknown[],
  options: CallOptions = {},
): Promise<unknown[]> {
  const flags = options.allowInteractive ? ALLOW_INTERACTIVE_AUTHORIZATION : 0;
  const msg = new dbus.Message({ destination, path, interface: iface, member, signature, body: args, flags });
  const reply = await call(bus, msg, options.timeoutMs);
  return unwrap((reply as unknown as { body: unknown[] }).body ?? []) as unknown[];
}

/** The bus daemon itself: its well-known name (also the sender of its signals), object and interface. */
export const BUS_DRIVER = { name: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', iface: 'org.freedesktop.DBus' } as const;

/** A method of the bus daemon (RequestName, AddMatch, GetNameOwner, GetConnectionCredentials, ...). */
export function callDriver(bus: BusConnection, member: string, signature: string, args: unknown[], options: CallOptions = {}): Promise<unknown[]> {
  return callMethod(bus, BUS_DRIVER.name, BUS_DRIVER.path, BUS_DRIVER.iface, member, signature, args, options);
}

/** Own a name outright (no queueing, no replacing), or fail saying why. */
export async function requestName(bus: BusConnection, name: string): Promise<void> {
  const DO_NOT_QUEUE = 4;
  let code: number;
  try {
    [code] = (await callDriver(bus, 'RequestName', 'su', [name, DO_NOT_QUEUE])) as [number];
  } catch (e) {
    throw new Error(`cannot own ${name}: ${(e as Error).message}`);
  }
  if (code !== 1 && code !== 4) throw new Error(`cannot own ${name}: another process owns it`);
}

export async function releaseName(bus: BusConnection, name: string, timeoutMs?: number): Promise<void> {
  await callDriver(bus, 'ReleaseName', 's', [name], { timeoutMs });
}

export type Props = Record<string, unknown>;

export async function getManagedObjects(bus: BusConnection, destination: string, rootPath: string): Promise<Map<string, Map<string, Props>>> {
  const [objects] = (await callMethod(bus, destination, rootPath, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects', '', [])) as [
    Record<string, Record<string, Props>>,
  ];
  return new Map(Object.entries(objects).map(([path, ifaces]) => [path, new Map(Object.entries(ifaces))]));
}

export interface SignalMatch {
  sender?: string;
  path?: string;
  pathNamespace?: string;
  iface?: string;
  member?: string;
  /** The first argument, a string (NameOwnerChanged's name): the daemon sends only those. */
  arg0?: string;
}

export interface ReceivedSignal {
  path: string;
  iface: string;
  member: string;
  sender: string;
  args: unknown[];
}

/** Subscribe (AddMatch) and deliver matching signals; the returned function unsubscribes. */
export async function onSignal(bus: BusConnection, match: SignalMatch, cb: (s: ReceivedSignal) => void): Promise<() => Promise<void>> {
  const parts = ["type='signal'"];
  if (match.sender) parts.push(`sender='${match.sender}'`);
  if (match.path) parts.push(`path='${match.path}'`);
  if (match.pathNamespace) parts.push(`path_namespace='${match.pathNamespace}'`);
  if (match.iface) parts.push(`interface='${match.iface}'`);
  if (match.member) parts.push(`member='${match.member}'`);
  if (match.arg0) parts.push(`arg0='${match.arg0}'`);
  const rule = parts.join(',');
  const under = (p: string) => !match.pathNamespace || p === match.pathNamespace || p.startsWith(`${match.pathNamespace}/`);
  // The match rule only chooses what the daemon broadcasts to us: a signal any peer sends to
  // our unique name arrives whatever it says. The daemon writes each message's real sender,
  // so the bus driver's own name, or a unique name, is checked here.
  const exactSender = match.sender === BUS_DRIVER.name || match.sender?.startsWith(':') ? match.sender : undefined;
  const listener = (m: dbus.Message) => {
    const msg = m as unknown as { type: number; path: string; interface: string; member: string; sender: string; body?: unknown[] };
    if (msg.type !== dbus.MessageType.SIGNAL) return;
    if (exactSender !== undefined && msg.sender !== exactSender) return;
    if ((match.path && msg.path !== match.path) || !under(msg.path)) return;
    if ((match.iface && msg.interface !== match.iface) || (match.member && msg.member !== match.member)) return;
    cb({ path: msg.path, iface: msg.interface, member: msg.member, sender: msg.sender, args: unwrap(msg.body ?? []) as unknown[] });
  };
  bus.raw.on('message', listener);
  await callDriver(bus, 'AddMatch', 's', [rule]);
  return async () => {
    bus.raw.removeListener('message', listener);
    await callDriver(bus, 'RemoveMatch', 's', [rule]).catch(() => undefined);
  };
}
