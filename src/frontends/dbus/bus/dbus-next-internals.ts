// Everything of dbus-next that is not its public API, in one place. dbus-next does not expose
// its socket (needed for the send buffer, the outbound byte count, draining and closing
// without waiting for the daemon), its serial counter (needed to write messages ourselves:
// wire.ts), or a hook for method calls to unexported objects; and it throws on an 'h' value
// without a descriptor. Each reach below is checked by test/frontends/dbus/bus/dbus-next-internals.test.ts,
// which fails naming the reach if a dbus-next version moves it (package.json pins 0.10.2).
import type { EventEmitter } from 'node:events';
import type * as dbus from 'dbus-next';

export type SocketStream = NodeJS.WritableStream & { writableLength: number; writable: boolean; destroy(): void };

export type RawBus = dbus.MessageBus & {
  name: string | null;
  on(event: 'message', cb: (m: dbus.Message) => void): void;
};

type Internal = RawBus & { _connection: EventEmitter & { stream: SocketStream }; newSerial(): number; addMethodHandler(h: (m: dbus.Message) => boolean): void };

/** The connection's transport (its 'end' says the daemon closed it) and the socket's stream. */
export function transportOf(raw: RawBus): { connection: EventEmitter; stream: SocketStream } {
  const c = (raw as Internal)._connection;
  return { connection: c, stream: c.stream };
}

/** The socket's file descriptor, for socket options Node has no API for. */
export function socketFd(stream: SocketStream): number | undefined {
  return (stream as unknown as { _handle?: { fd?: number } })._handle?.fd;
}

/** The serial of the next message this connection sends (shared with dbus-next's own messages). */
export function nextSerial(raw: RawBus): number {
  return (raw as Internal).newSerial();
}

/** Every method call this connection receives, before dbus-next's own interfaces: return true when handled. */
export function onMethodCall(raw: RawBus, handler: (m: dbus.Message) => boolean): void {
  (raw as Internal).addMethodHandler(handler);
}

// dbus-next reads an 'h' value (the index of a descriptor passed with the message) by looking
// the descriptor up, and throws when there is none, in the socket's 'readable' handler: an
// uncaught exception that ends the process. Our connections never negotiate descriptor
// passing, yet the bus delivers 'h' values without descriptors (it does not check indexes):
// one Peer.Ping with signature "h" from any local user stopped the service. Read the index as
// it is: no method takes a descriptor, so such a call is answered InvalidArgs.
export const DBusBuffer = require('dbus-next/lib/dbus-buffer') as { prototype: { readSimpleType(t: string): unknown; readInt32(): number } };
const readSimpleType = DBusBuffer.prototype.readSimpleType;
DBusBuffer.prototype.readSimpleType = function (t: string) {
  return t === 'h' ? this.readInt32() : readSimpleType.call(this, t);
};
