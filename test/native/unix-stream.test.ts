// Unix stream sockets with multipathd's exact-length abstract addressing, handed
// to Node's net as file descriptors.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeFd, connectUnixStream, listenUnixStream, NativeError, peerCredentials } from '../../src/native/addon';
import { thrown } from '../helpers/native';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server on `address` (through the addon) that answers each message with "pong:" + it. */
async function echoServer(address: string): Promise<net.Server> {
  const server = net.createServer((conn) => {
    conn.on('data', (d) => conn.end(Buffer.concat([Buffer.from('pong:'), d])));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen({ fd: listenUnixStream(address) }, resolve));
  return server;
}

function exchange(socket: net.Socket, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
    socket.on('error', reject);
    socket.write(message);
  });
}


const abstractName = () => `@multipath-dbus-test-${randomUUID()}`;

describe('unix stream sockets', () => {
  it('connects to an exact-length abstract socket and carries bytes both ways', async () => {
    const address = abstractName();
    await echoServer(address);
    const client = new net.Socket({ fd: connectUnixStream(address), readable: true, writable: true });
    expect(await exchange(client, 'ping')).toBe('pong:ping');
  });

  it('binds exactly: Node’s own connect to the same abstract name cannot reach it', async () => {
    const address = abstractName();
    await echoServer(address);
    // Node pads an abstract name to the whole of sun_path, which is a different address.
    const err = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      const s = net.connect('\0' + address.slice(1));
      s.on('connect', () => reject(new Error('Node reached an exact-length abstract socket')));
      s.on('error', resolve);
    });
    expect(err.code).toBe('ECONNREFUSED');
  });

  it('works with a filesystem path too', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-'));
    try {
      const address = path.join(dir, 'sock');
      await echoServer(address);
      const client = new net.Socket({ fd: connectUnixStream(address), readable: true, writable: true });
      expect(await exchange(client, 'hi')).toBe('pong:hi');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a name nobody listens on as ECONNREFUSED, naming it', () => {
    const address = abstractName();
    const err = thrown(() => connectUnixStream(address));
    expect(err).toMatchObject({ errno: 111, code: 'ECONNREFUSED', syscall: 'connect' });
    expect(err.message).toBe(`connect ${address}: Connection refused`);
  });

  it('refuses to bind a name that is already taken', async () => {
    const address = abstractName();
    await echoServer(address);
    expect(thrown(() => listenUnixStream(address))).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind' });
  });

  it('rejects addresses that do not fit in sun_path', () => {
    expect(thrown(() => connectUnixStream('@' + 'x'.repeat(108)))).toMatchObject({ code: 'ENAMETOOLONG' });
    expect(thrown(() => connectUnixStream(''))).toMatchObject({ code: 'EINVAL' });
  });

  it('closes a descriptor nobody has taken over, freeing its name', () => {
    const address = abstractName();
    closeFd(listenUnixStream(address));
    closeFd(listenUnixStream(address));
    expect(thrown(() => closeFd(-1))).toMatchObject({ code: 'EBADF', syscall: 'close' });
  });

  it('tells who listens at the other end (SO_PEERCRED), and fails with errno on a bad descriptor', async () => {
    const address = abstractName();
    await echoServer(address);
    const fd = connectUnixStream(address);
    try {
      expect(peerCredentials(fd)).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
    } finally {
      closeFd(fd);
    }
    expect(thrown(() => peerCredentials(-1))).toMatchObject({ code: 'EBADF', syscall: 'getsockopt' });
  });
});
