// A local user holding an HTTP endpoint's connections open: uid 65534 (through setpriv)
// runs Python from /usr/bin, not our code, with many connections that send the start of a
// request and never finish its headers, each opened again as soon as the server closes it,
// from four loopback addresses (any local user may pick its source among 127.0.0.0/8).
import { NOBODY, spawnAs } from './dbus-daemon';

const SCRIPT = `
import socket, sys, threading, time
host, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lock = threading.Lock()
def say(what):
    with lock:
        print(what, flush=True)
def hold(i):
    while True:
        try:
            s = socket.create_connection((host, port), source_address=("127.0.0.%d" % (1 + i % 4), 0))
            s.sendall(b"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n")
            say("open")
            while s.recv(4096):
                pass
            s.close()
            say("closed")
        except OSError:
            time.sleep(0.01)  # refused (the server is gone): do not spin
for i in range(workers):
    threading.Thread(target=hold, args=(i,), daemon=True).start()
threading.Event().wait()
`;

export interface SlowClients {
  /** Connections opened so far, and closed by the server so far. */
  readonly opened: number;
  readonly closed: number;
  stop(): Promise<void>;
}

/** Start `workers` slow connections to host:port as uid 65534; resolves once each has connected and the server has closed some. */
export async function startSlowClients(host: string, port: number, workers: number): Promise<SlowClients> {
  const child = spawnAs(NOBODY, '/usr/bin/python3', ['-c', SCRIPT, host, String(port), String(workers)]);
  let opened = 0;
  let closed = 0;
  let err = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.stderr!.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    let partial = '';
    child.stdout!.on('data', (d) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      for (const l of lines) l === 'open' ? opened++ : closed++;
      if (opened >= workers && closed > 0) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the slow clients exited (${code}): ${err}`)));
  });
  return {
    get opened() {
      return opened;
    },
    get closed() {
      return closed;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
