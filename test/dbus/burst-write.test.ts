// Signals sent in one turn of the event loop reach the bus daemon in one write (writev), not
// one syscall each: a storm's burst costs the kernel one copy. Checked on a real dbus-daemon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, disconnect, onSignal, type BusConnection } from '../../src/dbus/connection';
import { startPrivateBus, type PrivateBus } from '../helpers/dbus-daemon';

let bus: PrivateBus;
let sender: BusConnection;
let receiver: BusConnection;
beforeAll(async () => {
  bus = await startPrivateBus();
  [sender, receiver] = await Promise.all([connectBus(bus.address), connectBus(bus.address)]);
});
afterAll(async () => {
  for (const c of [sender, receiver]) if (c) disconnect(c);
  await bus?.stop();
});

describe('writing a burst', () => {
  it('holds the messages of one turn and writes them together, in order, once the turn ends', async () => {
    const socket = sender.raw._connection.stream as unknown as { writableCorked: number; _writev: (...a: unknown[]) => void; _write: (...a: unknown[]) => void };
    const calls: string[] = [];
    const [writev, write] = [socket._writev, socket._write];
    socket._writev = function (this: unknown, chunks: unknown[], cb: unknown) {
      calls.push(`writev ${chunks.length}`);
      return writev.call(this, chunks, cb);
    };
    socket._write = function (this: unknown, ...a: unknown[]) {
      calls.push('write');
      return write.apply(this, a);
    };
    const got: number[] = [];
    await onSignal(receiver, { iface: 'org.example.Burst' }, (s) => got.push(Number(s.args[0])));
    calls.length = 0;
    for (let i = 0; i < 100; i++) sender.sendSignal('/b', 'org.example.Burst', 'N', 'u', [i]);
    expect(socket.writableCorked).toBeGreaterThan(0);
    expect(calls).toEqual([]);
    await new Promise((r) => process.nextTick(r));
    expect(socket.writableCorked).toBe(0);
    expect(calls).toEqual(['writev 100']);
    await expect.poll(() => got.length).toBe(100);
    expect(got).toEqual([...Array(100).keys()]);
  });
});
