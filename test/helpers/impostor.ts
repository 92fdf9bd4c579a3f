// A fake multipathd run by an unprivileged user, as anyone could start one while the real
// multipathd is stopped: a real listener on a real socket, started with setpriv as
// uid 65534, answering every request with multipathd-looking JSON. It is Python run from
// /usr/bin, not our code, so it works wherever the checkout lives and cannot share a bug
// with the client it attacks.
import * as fs from 'node:fs';
import { NOBODY, spawnAs } from './dbus-daemon';
import { fixture } from './fixtures';

// Binds "@name" as an exact-length abstract name (as multipathd does), else a path;
// says "listening" when it accepts, "accepted" for every connection, "request" for every
// request it reads (and answers).
const SCRIPT = `
import os, socket, struct, sys
address, reply = sys.argv[1], os.environ["IMPOSTOR_REPLY"].encode() + b"\\0"
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\\0" + address[1:] if address.startswith("@") else address)
s.listen(64)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    print("accepted", flush=True)
    try:
        head = c.recv(8, socket.MSG_WAITALL)
        if len(head) == 8:
            need = struct.unpack("<Q", head)[0]
            while need > 0:
                got = c.recv(min(need, 65536))
                if not got:
                    break
                need -= len(got)
            print("request", flush=True)
            c.sendall(struct.pack("<Q", len(reply)) + reply)
    except OSError:
        pass
    c.close()
`;

export const IMPOSTOR_FIXTURE = 'multipathd-0.9.4/show-maps-16x4.json';

export interface Impostor {
  address: string;
  pid: number;
  /** Connections it has accepted so far. */
  readonly accepted: number;
  /** Requests it has read (and answered) so far. */
  readonly requests: number;
  stop(): Promise<void>;
}

/** Start the fake multipathd as uid 65534 on `address`; resolves once it listens. */
export async function startImpostor(address: string): Promise<Impostor> {
  const child = spawnAs(NOBODY, '/usr/bin/python3', ['-c', SCRIPT, address], { IMPOSTOR_REPLY: fixture(IMPOSTOR_FIXTURE) });
  let accepted = 0;
  let requests = 0;
  let out = '';
  let err = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.stderr!.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('listening\n')) resolve();
      accepted = (out.match(/^accepted$/gm) ?? []).length;
      requests = (out.match(/^request$/gm) ?? []).length;
    });
    child.once('exit', (code) => reject(new Error(`the impostor exited (${code}) before listening: ${err}`)));
  });
  return {
    address,
    pid: child.pid!,
    get accepted() {
      return accepted;
    },
    get requests() {
      return requests;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      if (!address.startsWith('@')) fs.rmSync(address, { force: true });
    },
  };
}
