// Signals sent in one turn of the event loop reach the bus daemon as one buffer in one write,
// and with the send buffer the service reserves, a storm's whole burst is in the kernel
// before the next turn: the daemon reads it while we work on the next. Checked on a real
// dbus-daemon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, disconnect, onSignal, type BusConnection } from '../../../../src/frontends/dbus/bus/connection';
import { startPrivateBus, type PrivateBus } from '../../../helpers/dbus-daemon';

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

const nextTurn = () => new Promise((r) => setImmediate(r));

function spyWrites(conn: BusConnection): string[] {
  const socket = conn.raw._connection.stream as unknown as { _writev: (...a: unknown[]) => void; _write: (...a: unknown[]) => void };
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
  return calls;
}

describe('writing a burst', () => {
  it('holds the messages of one turn and writes them as one buffer, in order, once the turn ends', async () => {
    const calls = spyWrites(sender);
    const got: number[] = [];
    await onSignal(receiver, { iface: 'org.example.Burst' }, (s) => got.push(Number(s.args[0])));
    calls.length = 0;
    for (let i = 0; i < 100; i++) sender.sendSignal('/b', 'org.example.Burst', 'N', 'u', [i]);
    expect(calls).toEqual([]);
    // Counted as waiting for the daemon while held: the backpressure bound sees them.
    expect(sender.outboundBytes).toBeGreaterThan(100 * 40);
    await new Promise((r) => process.nextTick(r));
    expect(calls).toEqual(['write']);
    await expect.poll(() => got.length).toBe(100);
    expect(got).toEqual([...Array(100).keys()]);
  });

  it.skipIf(process.getuid?.() !== 0)('with the send buffer reserved, 5,000 signals are in the kernel before the next turn', async () => {
    const storm = await connectBus(bus.address);
    try {
      // SO_SNDBUFFORCE past net.core.wmem_max (root has CAP_NET_ADMIN); the kernel reports twice the request.
      expect(storm.reserveSendBuffer(4 * 1024 * 1024)).toBeGreaterThanOrEqual(8 * 1024 * 1024);
      const got = { n: 0 };
      await onSignal(receiver, { iface: 'org.example.Storm' }, () => got.n++);
      const path = '/org/kernel/linux/storage/multipath1/paths/sdb';
      for (let i = 0; i < 5000; i++) storm.sendSignal('/org/kernel/linux/storage/multipath1/maps/storm', 'org.example.Storm', 'PathFailed', 'osuut', [path, '8:16', 1, i, BigInt(i)]);
      expect(storm.outboundBytes).toBeGreaterThan(1024 * 1024);
      await nextTurn();
      // Before: one corked writev, of which libuv passes 1,024 buffers a loop iteration into a ~200 KiB default buffer.
      expect(storm.outboundBytes).toBe(0);
      await expect.poll(() => got.n, { timeout: 20_000 }).toBe(5000);
    } finally {
      disconnect(storm);
    }
  });
});
