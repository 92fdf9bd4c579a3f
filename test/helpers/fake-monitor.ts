// A kernel uevent monitor the test drives: it calls the service's handlers as the addon's
// poll callback would, from the event loop, outside any promise.
import type { UeventHandlers, UeventMonitor } from '../../src/native/addon';
import type { OpenMonitor } from '../../src/sources/uevents/socket';

export interface FakeMonitor {
  open: OpenMonitor;
  /** Deliver from a fresh turn of the event loop (as libuv calls the addon); resolves after. */
  deliver(call: (h: UeventHandlers) => void): Promise<void>;
}

export function fakeMonitor(): FakeMonitor {
  let handlers: UeventHandlers | undefined;
  let closed = false;
  const monitor: UeventMonitor = {
    close: () => void (closed = true),
    ref: () => undefined,
    unref: () => undefined,
    stats: () => ({}) as ReturnType<UeventMonitor['stats']>,
    get closed() {
      return closed;
    },
  };
  return {
    open: (_options, h) => {
      handlers = h;
      return monitor;
    },
    deliver: (call) =>
      new Promise<void>((resolve) =>
        setImmediate(() => {
          if (!handlers) throw new Error('the service has not opened the monitor');
          call(handlers);
          resolve();
        }),
      ),
  };
}
