// A multipathd client over the addon's exact-length connect: one request in flight per
// connection, a timeout that drops the connection (a late reply would desynchronize the
// stream), a reply cap, and a fresh connection on the next request after any failure.
// The peer is authenticated before a byte is sent: any local user can bind multipathd's
// abstract name while multipathd is down, and what we read is published as the truth.
import * as net from 'node:net';
import { closeFd, connectUnixStream, peerCredentials, type NativeError } from '../../native/addon';
import { encodeFrame, FrameReader } from './framing';
import { defaultSocketCandidates } from './socket-address';

export type MultipathdErrorKind = 'not-running' | 'timeout' | 'refused' | 'untrusted' | 'malformed' | 'closed' | 'too-large';

export class MultipathdError extends Error {
  constructor(
    readonly kind: MultipathdErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'MultipathdError';
  }
}

export interface MultipathdClientOptions {
  /** '@name' for an abstract socket, or a path. Default: defaultSocketCandidates(). */
  socket?: string;
  /** Above multipathd's own 4 s uxsock_timeout, so its answer wins over our give-up. */
  timeoutMs?: number;
  maxReplyBytes?: number;
  /** Seam: returns a connected fd. */
  connect?: (address: string) => number;
  /**
   * The uid the listening process must have (SO_PEERCRED) for its answers to be believed.
   * Default 0: multipathd runs as root. Only a simulator started by an unprivileged user
   * (the demo, the benchmarks) passes its own uid.
   */
  expectedUid?: number;
  /** Told once per impostor (address and uid) until a trusted peer answers again. */
  warn?: (message: string) => void;
}

interface Pending {
  command: string;
  resolve: (text: string) => void;
  reject: (e: Error) => void;
  retried: boolean;
}

interface Connection {
  socket: net.Socket;
  reader: FrameReader;
  address: string;
  /** A reply has come back on it: a close before the next reply may just mean multipathd restarted meanwhile. */
  proven: boolean;
  /** Bytes received for the request in flight. */
  received: number;
}

// multipathd's own notion of a command that changes nothing (VRB_LIST): safe to send twice.
const READ_ONLY = /^\s*(list|show)\b/;

export class MultipathdClient {
  private conn: Connection | undefined;
  private queue: Pending[] = [];
  private inFlight: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private current: string | undefined;
  private readonly timeoutMs: number;
  private readonly maxReplyBytes: number;
  private readonly connectFd: (address: string) => number;
  private readonly expectedUid: number;
  /** Impostors already reported, so a retry every few seconds logs nothing new. */
  private readonly reported = new Set<string>();

  constructor(private readonly options: MultipathdClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 6000;
    this.maxReplyBytes = options.maxReplyBytes ?? 32 * 1024 * 1024;
    this.connectFd = options.connect ?? connectUnixStream;
    this.expectedUid = options.expectedUid ?? 0;
  }

  /** The address currently, or last, connected. */
  get address(): string | undefined {
    return this.current;
  }

  request(command: string): Promise<string> {
    if (this.closed) return Promise.reject(new MultipathdError('closed', 'client closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ command, resolve, reject, retried: false });
      this.next();
    });
  }

  close(): void {
    this.closed = true;
    const err = new MultipathdError('closed', 'client closed');
    this.drop(err);
    for (const p of this.queue.splice(0)) p.reject(err);
  }

  private next(): void {
    while (!this.inFlight && this.queue.length > 0) {
      const p = this.queue.shift()!;
      let conn: Connection;
      try {
        conn = this.conn ?? this.connect();
      } catch (e) {
        p.reject(e as Error);
        continue;
      }
      this.inFlight = p;
      conn.received = 0;
      // An idle connection must not keep the process alive; one with a question pending must.
      conn.socket.ref();
      this.timer = setTimeout(() => {
        this.fail(new MultipathdError('timeout', `multipathd did not answer "${p.command}" within ${this.timeoutMs} ms (${conn.address})`));
      }, this.timeoutMs);
      conn.socket.write(encodeFrame(p.command));
    }
  }

  private connect(): Connection {
    const candidates = this.options.socket ? [this.options.socket] : defaultSocketCandidates();
    const tried: string[] = [];
    const impostors: string[] = [];
    let denied = false;
    for (const address of candidates) {
      let fd: number;
      try {
        fd = this.connectFd(address);
      } catch (e) {
        const code = (e as NativeError).code ?? (e as Error).message;
        if (code === 'EAGAIN') {
          throw new MultipathdError('timeout', `multipathd at ${address} is not accepting connections (EAGAIN: its listen backlog is full)`);
        }
        denied ||= code === 'EACCES' || code === 'EPERM';
        tried.push(`${address} (${code})`);
        continue;
      }
      const refusal = this.authenticate(fd, address);
      if (refusal) {
        closeFd(fd);
        impostors.push(refusal);
        continue;
      }
      this.reported.clear();
      let socket: net.Socket;
      try {
        socket = new net.Socket({ fd, readable: true, writable: true });
      } catch (e) {
        closeFd(fd);
        throw e;
      }
      const conn: Connection = { socket, reader: new FrameReader(this.maxReplyBytes), address, proven: false, received: 0 };
      this.conn = conn;
      this.current = address;
      socket.on('data', (d) => this.onData(conn, d));
      socket.on('error', (e) => this.onGone(conn, `multipathd connection error: ${e.message}`));
      socket.on('close', () => this.onGone(conn, `multipathd closed the connection (${address})`));
      return conn;
    }
    if (impostors.length > 0) throw new MultipathdError('untrusted', impostors.join('; '));
    const list = tried.join(', ');
    if (denied) throw new MultipathdError('refused', `multipathd refused us (tried ${list})`);
    throw new MultipathdError('not-running', `multipathd is not running (tried ${list})`);
  }

  /** Why the listener behind fd is not multipathd, or undefined when it may be believed. */
  private authenticate(fd: number, address: string): string | undefined {
    let why: string;
    let impostor: string;
    try {
      const peer = peerCredentials(fd);
      if (peer.uid === this.expectedUid) return undefined;
      why = `refusing ${address}: it is served by uid ${peer.uid} (pid ${peer.pid}), not uid ${this.expectedUid}; another user may be impersonating multipathd`;
      impostor = `${address} uid ${peer.uid}`;
    } catch (e) {
      why = `refusing ${address}: cannot tell who serves it (${(e as Error).message})`;
      impostor = why;
    }
    if (!this.reported.has(impostor)) {
      this.reported.add(impostor);
      this.options.warn?.(why);
    }
    return why;
  }

  private onData(conn: Connection, data: Buffer): void {
    if (conn !== this.conn) return;
    const p = this.inFlight;
    if (!p) return this.fail(new MultipathdError('malformed', `multipathd sent ${data.length} bytes nobody asked for`));
    conn.received += data.length;
    const events = conn.reader.push(data);
    if (events.length === 0) return;
    const [first] = events;
    if (first.kind === 'too-large') {
      return this.fail(new MultipathdError('too-large', `multipathd reply of ${first.length} bytes exceeds the ${this.maxReplyBytes}-byte cap`));
    }
    if (first.kind === 'malformed') return this.fail(new MultipathdError('malformed', `multipathd sent ${first.reason}`));
    // One question, one answer: anything more would be taken for the next reply.
    if (events.length > 1 || conn.reader.pending > 0) {
      return this.fail(new MultipathdError('malformed', `multipathd sent more than one reply to "${p.command}"`));
    }
    this.inFlight = undefined;
    clearTimeout(this.timer);
    conn.proven = true;
    conn.socket.unref();
    p.resolve(first.text);
    this.next();
  }

  private onGone(conn: Connection, why: string): void {
    if (conn !== this.conn) return;
    const p = this.inFlight;
    // A kept connection that dies before a byte of the answer most likely died idle
    // (multipathd restarted) and we wrote into it before we heard: ask again, once, on
    // a fresh one — only a question that changes nothing, as multipathd may have acted on it.
    if (p && conn.proven && conn.received === 0 && !p.retried && READ_ONLY.test(p.command)) {
      p.retried = true;
      this.inFlight = undefined;
      this.queue.unshift(p);
    }
    this.fail(new MultipathdError('closed', why));
  }

  /** Reject the request in flight and drop the connection; the next request reconnects. */
  private fail(err: MultipathdError): void {
    this.drop(err);
    this.next();
  }

  private drop(err: MultipathdError): void {
    clearTimeout(this.timer);
    const conn = this.conn;
    this.conn = undefined;
    conn?.socket.destroy();
    const p = this.inFlight;
    this.inFlight = undefined;
    p?.reject(err);
  }
}
