// What dbus-next-internals.ts reaches of dbus-next beyond its API, checked on a real
// connection: a dbus-next version that moves any of it fails here, naming the reach, rather
// than in production (a service that cannot send, count or close).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateBus, type PrivateBus } from '../../../../src/cli/private-bus';
import { connectBus, disconnect, type BusConnection } from '../../../../src/frontends/dbus/bus/connection';
import { DBusBuffer, nextSerial, socketFd, transportOf } from '../../../../src/frontends/dbus/bus/dbus-next-internals';

let bus: PrivateBus;
let conn: BusConnection;

beforeAll(async () => {
  bus = await startPrivateBus();
  conn = await connectBus(bus.address);
});

afterAll(async () => {
  disconnect(conn);
  await bus.stop();
});

describe('the dbus-next internals the bus layer reaches', () => {
  it('MessageBus._connection: the transport, an emitter, and its socket stream', () => {
    const { connection, stream } = transportOf(conn.raw);
    expect(typeof connection?.on, 'MessageBus._connection is gone').toBe('function');
    expect(typeof stream?.write, 'MessageBus._connection.stream is gone').toBe('function');
    expect(typeof stream.writableLength, 'the socket stream has no writableLength').toBe('number');
  });

  it("the socket stream's _handle.fd: a descriptor", () => {
    const fd = socketFd(transportOf(conn.raw).stream);
    expect(Number.isInteger(fd) && fd! >= 0, 'stream._handle.fd is gone').toBe(true);
  });

  it('MessageBus.newSerial: the serial counter our own messages share', () => {
    const a = nextSerial(conn.raw);
    expect(nextSerial(conn.raw), 'MessageBus.newSerial is gone or does not count').toBe(a + 1);
  });

  it('MessageBus.addMethodHandler, and lib/dbus-buffer readSimpleType (patched for h values)', () => {
    expect(typeof (conn.raw as unknown as { addMethodHandler?: unknown }).addMethodHandler, 'MessageBus.addMethodHandler is gone').toBe('function');
    expect(typeof DBusBuffer.prototype.readSimpleType, 'lib/dbus-buffer readSimpleType is gone').toBe('function');
    expect(typeof DBusBuffer.prototype.readInt32, 'lib/dbus-buffer readInt32 is gone').toBe('function');
  });
});
