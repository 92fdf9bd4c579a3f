// The multipathd client against the simulator, which binds its abstract name with the exact
// length as multipathd does (Node's own net could not reach it), and against raw servers
// that misbehave in ways the simulator does not.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MultipathdClient, MultipathdError } from '../../../src/sources/multipathd/client';
import { encodeFrame } from '../../../src/sources/multipathd/framing';
import { parseShowMaps } from '../../../src/sources/multipathd/maps-json';
import { connectUnixStream, NativeError } from '../../../src/native/addon';
import { MultipathdSimulator, type SimTopologyOptions } from '../../../src/sim/simulator';
import { NOBODY } from '../../helpers/dbus-daemon';
import { fixture } from '../../helpers/fixtures';
import { IMPOSTOR_FIXTURE, startImpostor } from '../../helpers/impostor';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const c of cleanup.splice(0).reverse()) await c();
});

const abstractName = () => `@mpdbus-client-test-${process.pid}-${Math.random().toString(36).slice(2)}`;

async function setup(topology: SimTopologyOptions | 'small' = 'small', timeoutMs = 1000, maxReplyBytes?: number) {
  const sim = new MultipathdSimulator({ socket: abstractName(), topology });
  await sim.listen();
  const client = new MultipathdClient({ socket: sim.socket, timeoutMs, maxReplyBytes });
  cleanup.push(() => sim.close(), () => client.close());
  return { sim, client };
}

/** A server on a filesystem path that answers every request with what `reply` returns, if anything. */
async function rawServer(reply: (command: string, socket: net.Socket) => Buffer | undefined): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-raw-'));
  const address = path.join(dir, 'sock');
  const server = net.createServer((s) => {
    s.on('error', () => s.destroy());
    s.on('data', (d) => {
      const answer = reply(d.subarray(8, d.length - 1).toString(), s);
      if (answer) s.write(answer);
    });
  });
  await new Promise<void>((r) => server.listen(address, r));
  cleanup.push(
    () => new Promise<void>((r) => server.close(() => r())),
    () => fs.rmSync(dir, { recursive: true, force: true }),
  );
  return address;
}

const errorOf = async (p: Promise<unknown>): Promise<MultipathdError> => {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(MultipathdError);
    return e as MultipathdError;
  }
  throw new Error('expected the request to fail');
};

const nativeError = (code: string) => new NativeError(`connect: ${code}`, 1, code, 'connect');

describe('client against the simulator', () => {
  it('reads show maps json and sees a fail path take effect', async () => {
    const { sim, client } = await setup();
    const first = parseShowMaps(await client.request('show maps json'));
    expect(first.ok && first.value.maps.map((m) => m.name)).toEqual(['mpatha', 'mpathb']);
    expect(await client.request('fail path sda')).toBe('ok\n');
    const after = parseShowMaps(await client.request('show maps json'));
    expect(after.ok && after.value.maps[0].groups[0].paths[0]).toMatchObject({ dev: 'sda', dmState: 'failed', checkerState: 'faulty' });
    expect(after.ok && after.value.maps[0]).toMatchObject({ numPaths: 1, pathFaults: 1 });
    expect(sim.emitted).toHaveLength(1);
    expect(await client.request('fail path sdzz')).toBe('fail\n');
    expect(client.address).toBe(sim.socket);
  });

  it('receives a multi-megabyte reply whole (1000 maps x 4 paths)', async () => {
    const { client } = await setup({ maps: 1000, pathsPerMap: 4 });
    const text = await client.request('show maps json');
    expect(text.length).toBeGreaterThan(2_000_000);
    const parsed = parseShowMaps(text);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(parsed.value.repaired).toBe(false);
    expect(parsed.value.maps).toHaveLength(1000);
    const devTs = parsed.value.maps.flatMap((m) => m.groups.flatMap((g) => g.paths.map((p) => p.devT)));
    expect(new Set(devTs).size).toBe(4000);
  });

  it('answers concurrent requests in order over one connection', async () => {
    const { sim, client } = await setup();
    const replies = await Promise.all(['show daemon', 'show status', 'fail path sdb', 'show status'].map((c) => client.request(c)));
    expect(replies[0]).toMatch(/^pid \d+ idle\n$/);
    expect(replies[1]).toBe('path checker states:\nup                  4\n\npaths: 4\nbusy: False\n');
    expect(replies[2]).toBe('ok\n');
    expect(replies[3]).toBe('path checker states:\ndown                1\nup                  3\n\npaths: 4\nbusy: False\n');
    expect(sim.connections).toBe(1);
  });

  it('times out on a hung multipathd, then recovers on a new connection when it answers again', async () => {
    const { sim, client } = await setup('small', 300);
    sim.stall(true);
    expect((await errorOf(client.request('show maps json'))).kind).toBe('timeout');
    sim.stall(false);
    expect(await client.request('show status')).toMatch(/^path checker states:/);
    expect(sim.connections).toBe(2);
  });

  it("gives up after 6 s by default, later than multipathd's own 4 s uxsock_timeout", async () => {
    const sim = new MultipathdSimulator({ socket: abstractName(), topology: 'small' });
    await sim.listen();
    const client = new MultipathdClient({ socket: sim.socket });
    cleanup.push(() => sim.close(), () => client.close());
    sim.stall(true);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let outcome: MultipathdError | undefined;
      void errorOf(client.request('show maps json')).then((e) => (outcome = e));
      // The timer starts once the request is on its way (connecting is real I/O).
      while (vi.getTimerCount() === 0) await new Promise((r) => setImmediate(r));
      await vi.advanceTimersByTimeAsync(5999);
      expect(outcome).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      await vi.waitUntil(() => outcome !== undefined, { interval: 0 });
      expect(outcome).toMatchObject({ kind: 'timeout', message: expect.stringMatching(/within 6000 ms/) });
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects a request queued behind a timed-out one only if it times out itself', async () => {
    const { sim, client } = await setup('small', 300);
    sim.stall(true);
    const first = errorOf(client.request('show maps json'));
    const second = client.request('show status');
    expect((await first).kind).toBe('timeout');
    sim.stall(false);
    expect(await second).toMatch(/^path checker states:/);
  });

  it('says multipathd is not running, naming the address', async () => {
    const client = new MultipathdClient({ socket: '@mpdbus-nobody-here' });
    const err = await errorOf(client.request('show maps json'));
    expect(err.kind).toBe('not-running');
    expect(err.message).toContain('@mpdbus-nobody-here (ECONNREFUSED)');
    expect(client.address).toBeUndefined();
  });

  it('tries every default address, and lists each with its errno when none answers', async () => {
    vi.stubEnv('MULTIPATH_SOCKET_NAME', '');
    const tried: string[] = [];
    const client = new MultipathdClient({
      connect: (a) => {
        tried.push(a);
        throw nativeError(a.startsWith('@') ? 'ECONNREFUSED' : 'ENOENT');
      },
    });
    const err = await errorOf(client.request('show status'));
    expect(err.kind).toBe('not-running');
    expect(tried).toEqual(['/run/multipathd.socket', '@/org/kernel/linux/storage/multipathd']);
    expect(err.message).toContain('/run/multipathd.socket (ENOENT), @/org/kernel/linux/storage/multipathd (ECONNREFUSED)');
  });

  it('says refused when a socket denies us and none answers, but uses another that does', async () => {
    vi.stubEnv('MULTIPATH_SOCKET_NAME', '');
    const denied = new MultipathdClient({ connect: (a) => { throw nativeError(a.startsWith('@') ? 'ECONNREFUSED' : 'EACCES'); } });
    expect((await errorOf(denied.request('show status'))).kind).toBe('refused');

    const { sim } = await setup();
    const client = new MultipathdClient({ connect: (a) => (a.startsWith('@') ? connectUnixStream(sim.socket) : (() => { throw nativeError('EACCES'); })()) });
    cleanup.push(() => client.close());
    expect(await client.request('show status')).toMatch(/^path checker states:/);
    expect(client.address).toBe('@/org/kernel/linux/storage/multipathd');
  });

  it('reaches a simulator on a filesystem path too', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-sim-'));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const sim = new MultipathdSimulator({ socket: path.join(dir, 'multipathd.socket') });
    await sim.listen();
    const client = new MultipathdClient({ socket: sim.socket });
    cleanup.push(() => sim.close(), () => client.close());
    expect(await client.request('show status')).toMatch(/paths: 4/);
  });

  it('a crash mid-request: a changing command fails as closed, a read-only one finds multipathd gone; after a restart all is well', async () => {
    const { sim, client } = await setup();
    expect(await client.request('show status')).toMatch(/paths: 4/);
    sim.stall(true);
    const change = errorOf(client.request('fail path sda'));
    const look = errorOf(client.request('show maps json'));
    await vi.waitFor(() => expect(sim.requests).toContain('fail path sda'));
    await sim.die();
    expect((await change).kind).toBe('closed');
    expect((await look).kind).toBe('not-running');
    sim.stall(false);
    await sim.restart();
    expect(await client.request('show status')).toMatch(/paths: 4/);
  });

  it('a restart between requests is transparent', async () => {
    const { sim, client } = await setup();
    expect(await client.request('show status')).toMatch(/paths: 4/);
    await sim.restart();
    expect(await client.request('show status')).toMatch(/paths: 4/);
    expect(sim.connections).toBe(2);
  });

  it('asks again, once, when a kept connection dies before answering a read-only command', async () => {
    const { sim, client } = await setup();
    expect(await client.request('show status')).toMatch(/paths: 4/);
    sim.hangUp(1);
    expect(await client.request('show maps json')).toMatch(/"mpatha"/);
    expect(sim.requests.filter((r) => r === 'show maps json')).toHaveLength(2);

    sim.hangUp(2);
    expect((await errorOf(client.request('show maps json'))).kind).toBe('closed');
  });

  it('never repeats a command that changes something, nor one on a fresh connection', async () => {
    const { sim, client } = await setup();
    expect(await client.request('show status')).toMatch(/paths: 4/);
    sim.hangUp(1);
    expect((await errorOf(client.request('fail path sda'))).kind).toBe('closed');
    expect(sim.requests.filter((r) => r === 'fail path sda')).toHaveLength(1);

    const fresh = new MultipathdClient({ socket: sim.socket });
    cleanup.push(() => fresh.close());
    sim.hangUp(1);
    expect((await errorOf(fresh.request('show status'))).kind).toBe('closed');
    expect(await fresh.request('show status')).toMatch(/paths: 4/);
  });

  it('refuses a reply over the cap and drops the connection', async () => {
    const { sim, client } = await setup({ maps: 50, pathsPerMap: 4 }, 1000, 10_000);
    const err = await errorOf(client.request('show maps json'));
    expect(err.kind).toBe('too-large');
    expect(err.message).toContain('10000-byte cap');
    expect(await client.request('show status')).toMatch(/paths: 200/);
    expect(sim.connections).toBe(2);
  });

  it('close() rejects the request in flight and those queued, and any later one', async () => {
    const { sim, client } = await setup();
    sim.stall(true);
    const pending = ['show status', 'show maps json', 'show config'].map((c) => errorOf(client.request(c)));
    client.close();
    expect((await Promise.all(pending)).map((e) => e.kind)).toEqual(['closed', 'closed', 'closed']);
    expect((await errorOf(client.request('show status'))).kind).toBe('closed');
  });
});

describe('client against a misbehaving server', () => {
  const lengthOnly = (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    return b;
  };

  it('a zero length is malformed; the next request gets a new connection', async () => {
    let calls = 0;
    const address = await rawServer(() => (calls++ === 0 ? lengthOnly(0n) : encodeFrame('ok\n')));
    const client = new MultipathdClient({ socket: address });
    cleanup.push(() => client.close());
    expect((await errorOf(client.request('show status'))).kind).toBe('malformed');
    expect(await client.request('show status')).toBe('ok\n');
  });

  it('a garbage length is malformed, found without waiting for that many bytes', async () => {
    const address = await rawServer(() => Buffer.from('this is not a length'));
    const client = new MultipathdClient({ socket: address, timeoutMs: 60_000 });
    cleanup.push(() => client.close());
    expect((await errorOf(client.request('show status'))).kind).toBe('malformed');
  });

  it('a peer that hangs up mid-reply fails the request as closed, even a read-only one on a kept connection', async () => {
    let calls = 0;
    const address = await rawServer((_, s) => {
      if (calls++ === 0) return encodeFrame('ok\n');
      s.end(encodeFrame('a reply cut short').subarray(0, 12));
      return undefined;
    });
    const client = new MultipathdClient({ socket: address });
    cleanup.push(() => client.close());
    expect(await client.request('show status')).toBe('ok\n');
    expect((await errorOf(client.request('show status'))).kind).toBe('closed');
    expect(calls).toBe(2);
  });

  it('two replies to one request are malformed: the second would pass for the next answer', async () => {
    const address = await rawServer((c) => Buffer.concat([encodeFrame(`1 ${c}`), encodeFrame(`2 ${c}`)]));
    const client = new MultipathdClient({ socket: address });
    cleanup.push(() => client.close());
    expect((await errorOf(client.request('show status'))).kind).toBe('malformed');
  });
});

describe('exact-length abstract names', () => {
  it("the simulator is bound as multipathd binds: Node's padded connect misses it, the addon reaches it", async () => {
    const { sim, client } = await setup();
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const s = net.connect(`\0${sim.socket.slice(1)}`);
      s.on('connect', () => {
        s.destroy();
        resolve(undefined);
      });
      s.on('error', (e) => resolve(e));
    });
    expect(err?.code).toBe('ECONNREFUSED');
    expect(await client.request('show status')).toMatch(/paths: 4/);
  });
});

describe('the peer is authenticated (SO_PEERCRED)', () => {
  const impostorAt = async (address: string) => {
    const impostor = await startImpostor(address);
    cleanup.push(() => impostor.stop());
    return impostor;
  };
  const nobodyDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-impostor-'));
    fs.chownSync(dir, NOBODY, NOBODY);
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  };

  it.each([
    ['an abstract name', () => abstractName()],
    ['a socket file', () => path.join(nobodyDir(), 'multipathd.socket')],
  ])('refuses a listener of uid 65534 on %s before sending it anything, and says so once', async (_kind, address) => {
    const impostor = await impostorAt(address());
    const warnings: string[] = [];
    const client = new MultipathdClient({ socket: impostor.address, warn: (m) => warnings.push(m) });
    cleanup.push(() => client.close());
    for (let i = 0; i < 3; i++) {
      const err = await errorOf(client.request('show maps json'));
      expect(err.kind).toBe('untrusted');
      expect(err.message).toContain(`refusing ${impostor.address}: it is served by uid 65534 (pid ${impostor.pid}), not uid 0`);
    }
    await vi.waitFor(() => expect(impostor.accepted).toBe(3));
    expect(impostor.requests).toBe(0);
    expect(warnings).toEqual([expect.stringContaining(`uid 65534 (pid ${impostor.pid})`)]);
  });

  it('checks the default addresses too, and goes on to the next one after an impostor', async () => {
    vi.stubEnv('MULTIPATH_SOCKET_NAME', '');
    const impostor = await impostorAt(abstractName());
    const onAbstract = new MultipathdClient({ connect: (a) => (a.startsWith('@') ? connectUnixStream(impostor.address) : (() => { throw nativeError('ENOENT'); })()) });
    cleanup.push(() => onAbstract.close());
    expect((await errorOf(onAbstract.request('show status'))).message).toContain('refusing @/org/kernel/linux/storage/multipathd: it is served by uid 65534');

    const { sim } = await setup();
    const client = new MultipathdClient({ connect: (a) => connectUnixStream(a.startsWith('@') ? sim.socket : impostor.address) });
    cleanup.push(() => client.close());
    expect(await client.request('show status')).toMatch(/^path checker states:/);
    expect(client.address).toBe('@/org/kernel/linux/storage/multipathd');
  });

  it('believes the uid it is told to expect (a simulator run by an unprivileged user)', async () => {
    const impostor = await impostorAt(abstractName());
    const client = new MultipathdClient({ socket: impostor.address, expectedUid: NOBODY });
    cleanup.push(() => client.close());
    expect(await client.request('show maps json')).toBe(fixture(IMPOSTOR_FIXTURE));
    expect(impostor.requests).toBe(1);
  });
});
