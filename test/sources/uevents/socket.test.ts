// The uevent socket's lifecycle with the addon replaced at the service's seam and time
// driven by the test: backoff, one warning per outage, late reports, stop.
import { describe, expect, it } from 'vitest';
import { NativeError, type UeventHandlers, type UeventMonitor } from '../../../src/native/addon';
import { UeventSocket } from '../../../src/sources/uevents/socket';
import { createLogger } from '../../../src/util/log';
import { fakeTimers } from '../../helpers/fake-timers';

const EIO = () => new NativeError('recvmsg NETLINK_KOBJECT_UEVENT: Input/output error', 5, 'EIO', 'recvmsg');

function setup(failOpens: number) {
  const { timers, advance } = fakeTimers();
  const opened: { handlers: UeventHandlers; monitor: UeventMonitor & { closed: boolean } }[] = [];
  const attempts: number[] = [];
  const events: string[] = [];
  const logs: string[] = [];
  let failing = failOpens;
  const source = new UeventSocket(
    (_options, handlers) => {
      attempts.push(timers.now());
      if (failing-- > 0) throw new NativeError('socket NETLINK_KOBJECT_UEVENT: Too many open files', 24, 'EMFILE', 'socket');
      const monitor = { closed: false, close: () => void (monitor.closed = true), ref() {}, unref() {}, stats: () => ({ received: 0, dropped: 0, overflows: 0, receiveBufferBytes: 0, portId: 0 }) };
      opened.push({ handlers, monitor });
      return monitor;
    },
    1 << 20,
    createLogger('debug', (l) => logs.push(l.trim()), false),
    timers,
    { onDatagram: () => events.push('datagram'), onOverflow: () => events.push('overflow'), onLost: () => events.push('lost'), onReopened: () => events.push('reopened') },
  );
  return { source, advance, opened, attempts, events, logs };
}

describe('UeventSocket', () => {
  it('an open that keeps failing is retried at 1, 2, 4, 8 s … up to 30 s, with one warning', async () => {
    const { source, advance, attempts, events, logs } = setup(8);
    source.start();
    await advance(200_000);
    expect(attempts.slice(0, 9)).toEqual([0, 1000, 3000, 7000, 15000, 31000, 61000, 91000, 121000]);
    expect(source.available).toBe(true);
    expect(events).toEqual(['lost', 'reopened']);
    expect(logs.filter((l) => l.includes('warning'))).toEqual([expect.stringContaining('kernel uevents unavailable (socket NETLINK_KOBJECT_UEVENT: Too many open files)')]);
    expect(logs.filter((l) => l.includes('reopened after 8 failed attempts'))).toHaveLength(1);
  });

  it('a receive error closes the socket and reopens it; a late report from the old one changes nothing', async () => {
    const { source, advance, opened, events } = setup(0);
    source.start();
    expect(events).toEqual([]);
    const [first] = opened;
    first.handlers.onError!(EIO());
    expect(first.monitor.closed).toBe(true);
    expect(source.available).toBe(false);
    await advance(1000);
    expect(opened).toHaveLength(2);
    expect(source.available).toBe(true);
    first.handlers.onError!(EIO());
    expect(opened[1].monitor.closed).toBe(false);
    expect(events).toEqual(['lost', 'reopened']);

    // A second outage starts the backoff from 1 s again.
    opened[1].handlers.onError!(EIO());
    await advance(1000);
    expect(opened).toHaveLength(3);
    expect(events).toEqual(['lost', 'reopened', 'lost', 'reopened']);
  });

  it('stop closes the socket and cancels a pending reopen', async () => {
    const { source, advance, opened } = setup(0);
    source.start();
    opened[0].handlers.onError!(EIO());
    source.stop();
    await advance(60_000);
    expect(opened).toHaveLength(1);
    expect(source.available).toBe(false);
  });
});
