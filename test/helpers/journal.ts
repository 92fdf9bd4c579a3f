// A stand-in for journald's socket: a real AF_UNIX datagram socket, bound by python3 (Node
// cannot), that hands every datagram back as it arrived; and a reader of the native protocol.
import { spawn } from 'node:child_process';

const RECEIVER = `
import socket, sys, base64
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    print(base64.b64encode(s.recv(1 << 20)).decode(), flush=True)
`;

export interface DatagramReceiver {
  datagrams: Buffer[];
  waitFor(n: number, ms?: number): Promise<Buffer[]>;
  stop(): Promise<void>;
}

export async function listenDatagrams(socketPath: string): Promise<DatagramReceiver> {
  const child = spawn('python3', ['-c', RECEIVER, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const datagrams: Buffer[] = [];
  let buffered = '';
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  child.stdout.on('data', (d) => {
    buffered += d;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const l of lines) {
      if (l === 'ready') ready();
      else datagrams.push(Buffer.from(l, 'base64'));
    }
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await Promise.race([isReady, exited.then(() => Promise.reject(new Error('the datagram receiver exited')))]);
  return {
    datagrams,
    async waitFor(n, ms = 10_000) {
      const end = Date.now() + ms;
      while (datagrams.length < n) {
        if (Date.now() > end) throw new Error(`got ${datagrams.length} datagrams, expected ${n}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return datagrams;
    },
    async stop() {
      child.kill();
      await exited;
    },
  };
}

/** A native-protocol datagram read as journald reads it: NAME=value lines, or NAME\n + u64le length + bytes + \n. */
export function parseJournalEntry(d: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let i = 0;
  while (i < d.length) {
    const nl = d.indexOf(0x0a, i);
    if (nl < 0) throw new Error(`unterminated field at ${i}`);
    const line = d.subarray(i, nl).toString('utf8');
    const eq = line.indexOf('=');
    if (eq >= 0) {
      fields.set(line.slice(0, eq), line.slice(eq + 1));
      i = nl + 1;
      continue;
    }
    const length = Number(d.readBigUInt64LE(nl + 1));
    const start = nl + 9;
    if (d[start + length] !== 0x0a) throw new Error(`binary field ${line} not followed by a newline`);
    fields.set(line, d.subarray(start, start + length).toString('utf8'));
    i = start + length + 1;
  }
  return fields;
}
