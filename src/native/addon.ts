// The one place that loads the native addon and gives it types. The addon is a thin
// syscall layer (netlink uevents, device-mapper ioctls and events, exact-length unix sockets,
// kept files read again in one call);
// everything it returns is raw, and every failure is a NativeError carrying errno.
import * as path from 'node:path';

export class NativeError extends Error {
  constructor(
    message: string,
    readonly errno: number,
    readonly code: string,
    readonly syscall: string,
  ) {
    super(message);
    this.name = 'NativeError';
  }
}

export interface UeventMonitorOptions {
  /** Requested receive buffer (SO_RCVBUFFORCE, falling back to SO_RCVBUF). */
  receiveBufferBytes?: number;
}

export interface UeventMonitorStats {
  received: number;
  /** Datagrams refused because the sender was not the kernel (uid 0, port 0). */
  dropped: number;
  /** ENOBUFS seen: the kernel discarded datagrams we never got. */
  overflows: number;
  /** What the kernel actually granted (getsockopt SO_RCVBUF). */
  receiveBufferBytes: number;
  /** Our netlink port id, for tests that send to it. */
  portId: number;
}

export interface UeventHandlers {
  /** One kernel datagram, exactly as recv() returned it. */
  onDatagram(datagram: Buffer): void;
  /** The socket overflowed (ENOBUFS): some datagrams were lost. */
  onOverflow(): void;
  /**
   * Any other receive error, or a poll the addon could not restart (it may then deliver
   * nothing more). The monitor stays open: whether to close and reopen it is the caller's call.
   */
  onError?(err: NativeError): void;
}

export interface UeventMonitor {
  close(): void;
  ref(): void;
  unref(): void;
  stats(): UeventMonitorStats;
  readonly closed: boolean;
}

export interface DmDeviceInfo {
  name: string;
  uuid: string;
  /** "major:minor" */
  devT: string;
  /** The device's event counter: moves on each table event (a dm-mpath path failed or reinstated, a group switched). */
  eventNr: number;
}

/** device-mapper's global event counter, watched (openDmEventWatch). */
export interface DmEventWatch {
  close(): void;
}

export interface DmTargetLine {
  /** In 512-byte sectors. */
  start: number;
  length: number;
  targetType: string;
  params: string;
}

/** Who created the listening socket a connected unix socket reaches (SO_PEERCRED). */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

interface RawBinding {
  openUeventMonitor(
    receiveBufferBytes: number,
    onDatagram: (b: Buffer) => void,
    onOverflow: () => void,
    onError: (e: NativeError) => void,
  ): {
    close(): void;
    ref(): void;
    unref(): void;
    stats(): UeventMonitorStats;
  };
  dmListDevices(controlPath: string): DmDeviceInfo[];
  dmTableStatus(controlPath: string, name: string, table: boolean): DmTargetLine[];
  openDmEventWatch(controlPath: string, onEvent: () => void, onError: (e: NativeError) => void): { close(): void };
  connectUnixStream(address: string): number;
  listenUnixStream(address: string, backlog: number): number;
  peerCredentials(fd: number): PeerCredentials;
  closeFd(fd: number): void;
  openUnixDatagram(): number;
  sendUnixDatagram(fd: number, address: string, data: Buffer): void;
  setSendBuffer(fd: number, bytes: number): number;
  setMmapThreshold(bytes: number): boolean;
  trimMemory(): boolean;
  preadAll(fds: Int32Array, buffer: Buffer, slot: number, results: Int32Array): void;
  fileLimit(): number;
}

let binding: RawBinding | undefined;

function load(): RawBinding {
  if (!binding) {
    // dist/native/addon.js -> build/Release
    binding = require(path.join(__dirname, '..', '..', 'build', 'Release', 'multipath_native.node')) as RawBinding;
  }
  return binding;
}

/** Rethrow the addon's plain errors (errno, code, syscall) as NativeError. */
function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toNativeError(e);
  }
}

function toNativeError(e: unknown): NativeError {
  if (e instanceof NativeError) return e;
  const err = e as { message?: string; errno?: number; code?: string; syscall?: string };
  return new NativeError(err.message ?? String(e), err.errno ?? 0, err.code ?? 'EUNKNOWN', err.syscall ?? '');
}

export const DM_CONTROL_PATH = '/dev/mapper/control';

export function openUeventMonitor(options: UeventMonitorOptions, handlers: UeventHandlers): UeventMonitor {
  let closed = false;
  const raw = wrap(() =>
    load().openUeventMonitor(
      options.receiveBufferBytes ?? 16 * 1024 * 1024,
      (b) => handlers.onDatagram(b),
      () => handlers.onOverflow(),
      (e) => handlers.onError?.(toNativeError(e)),
    ),
  );
  return {
    close() {
      if (closed) return;
      closed = true;
      raw.close();
    },
    ref: () => raw.ref(),
    unref: () => raw.unref(),
    stats: () => raw.stats(),
    get closed() {
      return closed;
    },
  };
}

export function dmListDevices(controlPath = DM_CONTROL_PATH): DmDeviceInfo[] {
  return wrap(() => load().dmListDevices(controlPath));
}

export function dmTableStatus(name: string, table: boolean, controlPath = DM_CONTROL_PATH): DmTargetLine[] {
  return wrap(() => load().dmTableStatus(controlPath, name, table));
}

/**
 * Calls `onEvent` each time device-mapper's global event counter has moved: a table event on
 * any device (dm-mpath: a path failed or reinstated, switch_group), a table swapped by a
 * resume, a device created, removed or renamed. Several moves may make one call. Throws
 * ENOTTY or EINVAL where the kernel cannot (before Linux 4.13). `onError`: the watch stopped.
 */
export function openDmEventWatch(onEvent: () => void, onError: (e: NativeError) => void, controlPath = DM_CONTROL_PATH): DmEventWatch {
  return wrap(() => load().openDmEventWatch(controlPath, onEvent, (e) => onError(toNativeError(e))));
}

/** Connect a SOCK_STREAM unix socket; "@name" is abstract with the exact length. Returns the fd. */
export function connectUnixStream(address: string): number {
  return wrap(() => load().connectUnixStream(address));
}

/** Bind and listen the way multipathd does ("@name": exact-length abstract). Returns the fd. */
export function listenUnixStream(address: string, backlog = 64): number {
  return wrap(() => load().listenUnixStream(address, backlog));
}

/** The credentials the kernel recorded for the peer of a connected unix socket. */
export function peerCredentials(fd: number): PeerCredentials {
  return wrap(() => load().peerCredentials(fd));
}

/** An unbound SOCK_DGRAM unix socket for sendUnixDatagram. Returns the fd (closeFd it). */
export function openUnixDatagram(): number {
  return wrap(() => load().openUnixDatagram());
}

/** One datagram to a unix socket path ("@name": abstract); never blocks (EAGAIN when full). */
export function sendUnixDatagram(fd: number, address: string, data: Buffer): void {
  wrap(() => load().sendUnixDatagram(fd, address, data));
}

export function closeFd(fd: number): void {
  wrap(() => load().closeFd(fd));
}

/** SO_SNDBUFFORCE (SO_SNDBUF without CAP_NET_ADMIN) on a socket; returns what the kernel granted. */
export function setSendBuffer(fd: number, bytes: number): number {
  return wrap(() => load().setSendBuffer(fd, bytes));
}

/** glibc: allocations of at least `bytes` are mapped on their own and unmapped on free (see native/malloc_tuning.cc). */
export function setMmapThreshold(bytes: number): boolean {
  return load().setMmapThreshold(bytes);
}

/** glibc malloc_trim(0): freed heap pages go back to the kernel. */
export function trimMemory(): boolean {
  return load().trimMemory();
}

/**
 * Reads every fd of `fds` again from offset 0, in one call (see native/kept_files.cc): fd i's
 * bytes land at `buffer[i * slot]`, at most `slot` of them, and `results[i]` is their count or
 * -errno (-EBADF for a negative fd). Nothing is thrown for a failed read.
 */
export function preadAll(fds: Int32Array, buffer: Buffer, slot: number, results: Int32Array): void {
  load().preadAll(fds, buffer, slot, results);
}

/** RLIMIT_NOFILE's soft limit (Node raises it to the hard limit at start), or -errno. */
export function fileLimit(): number {
  return load().fileLimit();
}
