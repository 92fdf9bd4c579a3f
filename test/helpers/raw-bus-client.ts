// A D-Bus client that sends method calls exactly as given: any flags, any signature and
// body, Unix file descriptors attached (SCM_RIGHTS), from a chosen uid. Node cannot pass
// descriptors over a socket, so the connection itself is held by a small Python process
// (run as that uid, from /usr/bin: no access to the checkout needed) that authenticates,
// negotiates descriptor passing, and then only moves bytes: messages are marshalled and
// replies parsed here, with dbus-next's own marshaller (it numbers the 'h' values and
// writes the UNIX_FDS header field).
import { spawn, type ChildProcess } from 'node:child_process';
import { NOBODY } from './dbus-daemon';

// stdin: frames of [u32 length][u8 descriptors to attach][message]; each is sent with that
// many descriptors (copies of /dev/null). stdout: every byte the bus sends, descriptors it
// passes closed at once.
const SCRIPT = `
import array, os, select, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
def line():
    got = b""
    while not got.endswith(b"\\r\\n"):
        c = s.recv(1)
        if not c:
            sys.exit("the bus closed the connection during authentication")
        got += c
    return got
s.sendall(b"\\0AUTH EXTERNAL " + str(os.getuid()).encode().hex().encode() + b"\\r\\n")
if not line().startswith(b"OK "):
    sys.exit("not authenticated")
s.sendall(b"NEGOTIATE_UNIX_FD\\r\\n")
if line() != b"AGREE_UNIX_FD\\r\\n":
    sys.exit("the bus does not pass descriptors")
s.sendall(b"BEGIN\\r\\n")
devnull = os.open("/dev/null", os.O_RDONLY)
pending = b""
while True:
    ready, _, _ = select.select([0, s], [], [])
    if 0 in ready:
        d = os.read(0, 1 << 20)
        if not d:
            break
        pending += d
        while len(pending) >= 5:
            n, fds = struct.unpack("<IB", pending[:5])
            if len(pending) < 5 + n:
                break
            msg, pending = pending[5:5 + n], pending[5 + n:]
            anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [devnull] * fds))] if fds else []
            sent = s.sendmsg([msg], anc)
            s.sendall(msg[sent:])
    if s in ready:
        d, anc, _, _ = s.recvmsg(1 << 20, socket.CMSG_SPACE(64 * 4))
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                for fd in array.array("i", data[: len(data) - len(data) % 4]):
                    os.close(fd)
        if not d:
            break
        view = memoryview(d)
        while view:
            view = view[os.write(1, view):]
`;

// dbus-next's internals: the message marshaller and the stream parser its connections use.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const wire = require('dbus-next/lib/message') as {
  marshall(m: Record<string, unknown>): [Buffer, unknown[]];
  unmarshalMessages(stream: NodeJS.ReadableStream, onMessage: (m: Received) => void, opts?: unknown): void;
};

/** dbus-daemon (as a system bus) drops a client that sends more descriptors than this in one message. */
export const MAX_FDS_PER_MESSAGE = 16;

export const NO_REPLY_EXPECTED = 0x1;
export const NO_AUTO_START = 0x2;
export const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;

/**
 * One method call. Values are in dbus-next's raw form: a variant is [signature, value], a
 * dict is an array of [key, value] pairs, 64-bit integers are bigints; each 'h' value
 * attaches one descriptor.
 */
export interface RawCall {
  destination?: string;
  path: string;
  interface?: string;
  member: string;
  signature?: string;
  body?: unknown[];
  flags?: number;
  /**
   * false: the 'h' values (variants' too) go as bare indexes, with no descriptors and no
   * UNIX_FDS field: a message that lies, which the bus delivers (it does not check indexes).
   */
  attachFds?: boolean;
}

interface Received {
  type: number;
  serial: number;
  replySerial?: number;
  sender?: string;
  errorName?: string;
  signature?: string;
  body?: unknown[];
}

export interface Reply {
  /** A method return, or an error by its name. */
  error?: string;
  /** Who answered: the service's unique name, or org.freedesktop.DBus for the bus's own refusals. */
  sender: string;
  body: unknown[];
  ms: number;
}

export class RawBusClient {
  private serial = 0;
  private readonly waiting = new Map<number, { sent: number; resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private stderr = '';
  private exited = false;
  private readonly gone: Promise<void>;
  uniqueName = '';

  private constructor(private readonly child: ChildProcess) {
    child.stderr!.on('data', (d) => (this.stderr += d));
    this.gone = new Promise((resolve) =>
      child.once('exit', () => {
        this.exited = true;
        for (const w of this.waiting.values()) w.reject(new Error(`the connection closed before the reply: ${this.stderr}`));
        this.waiting.clear();
        resolve();
      }),
    );
    wire.unmarshalMessages(child.stdout!, (m) => {
      const w = m.replySerial === undefined ? undefined : this.waiting.get(m.replySerial);
      if (!w || (m.type !== 2 && m.type !== 3)) return;
      this.waiting.delete(m.replySerial!);
      w.resolve({ error: m.type === 3 ? m.errorName : undefined, sender: m.sender ?? '', body: m.body ?? [], ms: Date.now() - w.sent });
    });
  }

  /** Connect to the bus socket at `socketPath` as `uid` (0: as this process, root). */
  static async connect(socketPath: string, uid: number): Promise<RawBusClient> {
    // libuv drops the supplementary groups when it changes the uid; cwd: that uid may not enter the checkout.
    const child = spawn('/usr/bin/python3', ['-c', SCRIPT, socketPath], { uid, gid: uid, cwd: '/', stdio: ['pipe', 'pipe', 'pipe'] });
    const client = new RawBusClient(child);
    const hello = await client.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello' });
    if (!hello || hello.error) throw new Error(`Hello as uid ${uid}: ${hello?.error} ${client.stderr}`);
    client.uniqueName = hello.body[0] as string;
    return client;
  }

  /** The connection is still open (the bus drops a client that breaks the protocol). */
  get connected(): boolean {
    return !this.exited;
  }

  /** Send the call; the promise is its reply, or undefined at once if it asks for none (NO_REPLY_EXPECTED). */
  call(c: RawCall): Promise<Reply | undefined> {
    if (this.exited) return Promise.reject(new Error(`the connection is closed: ${this.stderr}`));
    const serial = ++this.serial;
    const header = {
      type: 1,
      serial,
      flags: c.flags ?? 0,
      destination: c.destination,
      path: c.path,
      interface: c.interface,
      member: c.member,
      signature: c.signature || undefined,
    };
    let [bytes, fds] = wire.marshall({ ...header, body: c.body ?? [] });
    const bare = c.attachFds === false && fds.length > 0;
    if (bare) {
      // The same header less its UNIX_FDS field (dbus-next writes one only with a body), then the body.
      const bodyLength = bytes.readUInt32LE(4);
      bytes = Buffer.concat([wire.marshall(header)[0], bytes.subarray(bytes.length - bodyLength)]);
      bytes.writeUInt32LE(bodyLength, 4);
    }
    const frame = Buffer.alloc(5);
    frame.writeUInt32LE(bytes.length, 0);
    frame.writeUInt8(bare ? 0 : fds.length, 4);
    const reply =
      (c.flags ?? 0) & NO_REPLY_EXPECTED
        ? Promise.resolve(undefined)
        : new Promise<Reply>((resolve, reject) => this.waiting.set(serial, { sent: Date.now(), resolve, reject }));
    this.child.stdin!.write(Buffer.concat([frame, bytes]));
    return reply;
  }

  /** Calls sent that are still unanswered. */
  get unanswered(): number {
    return this.waiting.size;
  }

  async close(): Promise<void> {
    this.child.stdin!.end();
    await this.gone;
  }
}

export { NOBODY };
