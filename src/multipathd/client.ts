// A multipathd client over the addon's exact-length connect: one request in flight per
// connection, a timeout that drops the connection (a late reply would desynchronize the
// stream), a reply cap, and a fresh connection on the next request after any failure.
import * as net from 'node:net';
import { closeFd, connectUnixStream, NativeError } from '../native/addon';
import { decodeFrame, encodeFrame } from './framing';
import { defaultSocketCandidates } from './socket-address';

export type MultipathdErrorKind = 'not-running' | 'timeout' | 'refused' | 'malformed' | 'closed' | 'too-large';

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
}

interface Pending {
  command: string;
  resolve: (text: string) => void;
  reject: (e: Error) => void;
}

export class MultipathdClient {
  private socket: net.Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private queue: Pending[] = [];
  private inFlight: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private current: string | undefined;
  private readonly timeoutMs: number;
  private readonly maxReplyBytes: number;
  private readonly connectFd: (address: string) => number;

  constructor(private readonly options: MultipathdClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 6000;
    this.maxReplyBytes = options.maxReplyBytes ?? 32 * 1024 * 1024;
    this.connectFd = options.connect ?? connectUnixStream;
  }

  get address(): string | undefined {
    return this.current;
  }

  request(command: string): Promise<string> {
    if (this.closed) return Promise.reject(new MultipathdError('closed', 'client closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
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
    if (this.inFlight || this.queue.length === 0) return;
    const p = this.queue.shift()!;
    try {
      this.ensureConnected();
    } catch (e) {
      p.reject(e as Error);
      this.next();
      return;
    }
    this.inFlight = p;
    this.timer = setTimeout(() => {
      this.fail(new MultipathdError('timeout', `multipathd did not answer "${p.command}" within ${this.timeoutMs} ms (${this.current})`));
    }, this.timeoutMs);
    this.socket!.write(encodeFrame(p.command));
  }

  private ensureConnected(): void {
    if (this.socket) return;
    const candidates = this.options.socket ? [this.options.socket] : defaultSocketCandidates();
    const tried: string[] = [];
    for (const address of candidates) {
      let fd: number;
      try {
        fd = this.connectFd(address);
      } catch (e) {
        const err = e as NativeError;
        if (err.code === 'EACCES' || err.code === 'EPERM') {
          throw new MultipathdError('refused', `multipathd at ${address} refused us: ${err.message}`);
        }
        tried.push(`${address} (${err.code ?? err.message})`);
        continue;
      }
      let socket: net.Socket;
      try {
        socket = new net.Socket({ fd, readable: true, writable: true });
      } catch (e) {
        closeFd(fd);
        throw e;
      }
      this.socket = socket;
      this.current = address;
      this.buffer = Buffer.alloc(0);
      socket.on('data', (d) => this.onData(socket, d));
      socket.on('error', (e) => this.socket === socket && this.fail(new MultipathdError('closed', `multipathd connection error: ${e.message}`)));
      socket.on('close', () => this.socket === socket && this.fail(new MultipathdError('closed', `multipathd closed the connection (${address})`)));
      return;
    }
    throw new MultipathdError('not-running', `multipathd is not running (tried ${tried.join(', ')})`);
  }

  private onData(socket: net.Socket, data: Buffer): void {
    if (socket !== this.socket) return;
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, data]) : data;
    const r = decodeFrame(this.buffer, this.maxReplyBytes);
    if (r.kind === 'need-more') return;
    if (r.kind === 'too-large') return this.fail(new MultipathdError('too-large', `multipathd reply of ${r.length} bytes exceeds the ${this.maxReplyBytes}-byte cap`));
    if (r.kind === 'malformed' || !this.inFlight) {
      return this.fail(new MultipathdError('malformed', `multipathd sent ${r.kind === 'malformed' ? r.reason : 'an unrequested reply'}`));
    }
    this.buffer = r.rest;
    const p = this.inFlight;
    this.inFlight = undefined;
    clearTimeout(this.timer);
    p.resolve(r.text);
    this.next();
  }

  /** Reject the request in flight and drop the connection; the next request reconnects. */
  private fail(err: MultipathdError): void {
    this.drop(err);
    this.next();
  }

  private drop(err: MultipathdError): void {
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = undefined;
    this.buffer = Buffer.alloc(0);
    socket?.destroy();
    const p = this.inFlight;
    this.inFlight = undefined;
    p?.reject(err);
  }
}
