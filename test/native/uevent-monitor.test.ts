// The addon's netlink uevent monitor against the real kernel of the machine running
// the tests: it needs root (to write sysfs uevent files) and a kernel that delivers
// uevents to this network namespace.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { openUeventMonitor, UeventMonitor } from '../../src/native/addon';
import { canTrigger, DEVPATH, trigger } from '../helpers/native';

const ADDON = path.resolve(__dirname, '../../build/Release/multipath_native.node');
const skipReason = canTrigger();

function fields(datagram: Buffer): string[] {
  return datagram.toString('latin1').split('\0');
}

function isOurs(datagram: Buffer, uuid: string): boolean {
  return fields(datagram).includes(`SYNTH_UUID=${uuid}`);
}

interface Recorder {
  monitor: UeventMonitor;
  datagrams: Buffer[];
  overflows: number;
  /** Resolves with the datagram carrying this SYNTH_UUID. */
  waitFor(uuid: string): Promise<Buffer>;
  waitForOverflow(): Promise<void>;
}

const open: UeventMonitor[] = [];
afterEach(() => {
  for (const m of open.splice(0)) m.close();
});

function record(receiveBufferBytes?: number): Recorder {
  const datagrams: Buffer[] = [];
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  const rec: Recorder = {
    datagrams,
    overflows: 0,
    monitor: openUeventMonitor(
      { receiveBufferBytes },
      {
        onDatagram(d) {
          datagrams.push(d);
          wake();
        },
        onOverflow() {
          rec.overflows++;
          wake();
        },
        onError(e) {
          throw e;
        },
      },
    ),
    waitFor(uuid) {
      return new Promise((resolve) => {
        const check = () => {
          const hit = datagrams.find((d) => isOurs(d, uuid));
          if (hit) resolve(hit);
          else waiters.push(check);
        };
        check();
      });
    },
    waitForOverflow() {
      return new Promise((resolve) => {
        const check = () => (rec.overflows > 0 ? resolve() : waiters.push(check));
        check();
      });
    },
  };
  open.push(rec.monitor);
  return rec;
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

describe.skipIf(skipReason !== undefined)(`uevent monitor (${skipReason ?? 'real kernel'})`, () => {
  it('delivers a real kernel uevent as the raw datagram', async () => {
    const rec = record();
    const uuid = trigger();
    const datagram = await rec.waitFor(uuid);
    const [header, ...env] = fields(datagram);
    expect(header).toBe(`change@${DEVPATH}`);
    expect(env).toContain('ACTION=change');
    expect(env).toContain(`DEVPATH=${DEVPATH}`);
    expect(env).toContain('SYNTH_ARG_MPDBUSTEST=1');
    expect(rec.monitor.stats()).toMatchObject({ dropped: 0, overflows: 0 });
    expect(rec.monitor.stats().received).toBeGreaterThanOrEqual(1);
  });

  it('drops a datagram a user-space process sends to our port, and counts it', async () => {
    const rec = record();
    const { portId } = rec.monitor.stats();
    expect(portId).toBeGreaterThan(0);
    // Root, and a perfectly well-formed uevent: only the sender port gives it away.
    execFileSync('python3', [
      '-c',
      'import socket, sys\n' +
        's = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 15)\n' +
        's.sendto(b"change@/fake\\0ACTION=change\\0DEVPATH=/fake\\0SEQNUM=1\\0", (int(sys.argv[1]), 0))\n',
      String(portId),
    ]);
    // Unicast is queued before sendto returns, so once this later kernel uevent is
    // delivered the forged one has already been through the drain.
    await rec.waitFor(trigger());
    expect(rec.datagrams.some((d) => d.toString('latin1').startsWith('change@/fake'))).toBe(false);
    expect(rec.monitor.stats().dropped).toBe(1);
  });

  it('stops delivering the moment close() is called from inside a callback', async () => {
    let calls = 0;
    let first!: () => void;
    const firstSeen = new Promise<void>((resolve) => (first = resolve));
    const monitor = openUeventMonitor(
      {},
      {
        onDatagram() {
          calls++;
          monitor.close();
          monitor.close();
          first();
        },
        onOverflow() {},
      },
    );
    // All three are queued before the loop runs, so one drain would see them all.
    trigger();
    trigger();
    trigger();
    await firstSeen;
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toBe(1);
    expect(monitor.closed).toBe(true);
    expect(monitor.stats().received).toBe(1);
  });

  it('gets the receive buffer it asked for, past rmem_max (SO_RCVBUFFORCE as root)', () => {
    const rmemMax = Number(fs.readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    const requested = Math.max(8 * 1024 * 1024, rmemMax * 2);
    const rec = record(requested);
    expect(rec.monitor.stats().receiveBufferBytes).toBeGreaterThanOrEqual(requested);
  });

  it('reports overflow when the socket fills while the loop is busy, then keeps reading', async () => {
    // The kernel's minimum (about 4.5 KiB, doubled) holds only a handful of uevents.
    const rec = record(4096);
    // Synchronous writes: the loop cannot drain in between, so the queue must overflow.
    for (let i = 0; i < 200; i++) trigger();
    await rec.waitForOverflow();
    // What was queued before the loss came first, so a resync started now is newer.
    const deliveredBeforeOverflow = rec.datagrams.length;
    expect(deliveredBeforeOverflow).toBeGreaterThan(0);
    expect(deliveredBeforeOverflow).toBeLessThan(200);
    expect(rec.monitor.stats()).toMatchObject({ overflows: 1, received: deliveredBeforeOverflow, dropped: 0 });
    await rec.waitFor(trigger());
  });

});

describe('uevent monitor lifetime', () => {
  it('leaks no file descriptor over many open/close cycles', async () => {
    const before = openFds();
    for (let i = 0; i < 200; i++) {
      const m = openUeventMonitor({}, { onDatagram() {}, onOverflow() {} });
      m.close();
      m.close();
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(openFds()).toBe(before);
  });

  it('lets the process exit while an unref()ed monitor is open', async () => {
    const script =
      `const m = require(${JSON.stringify(ADDON)}).openUeventMonitor(0, () => {}, () => {}, () => {});` +
      'm.unref(); m.ref(); m.unref();';
    const code = await new Promise<number | null>((resolve) => {
      // The timeout only stops a child that unref() failed to release; it then exits with null.
      spawn(process.execPath, ['-e', script], { stdio: 'inherit', timeout: 15000 }).on('exit', resolve);
    });
    expect(code).toBe(0);
  });

  it('closes the socket of a monitor left open when its worker thread exits', async () => {
    const before = openFds();
    const script =
      `const m = require(${JSON.stringify(ADDON)}).openUeventMonitor(0, () => {}, () => {}, () => {});` +
      "require('node:worker_threads').parentPort.postMessage(m.stats().portId);";
    for (let i = 0; i < 5; i++) {
      const worker = new Worker(script, { eval: true });
      await new Promise((resolve) => worker.once('message', resolve));
      // A handle still open on the worker's loop at exit would abort the whole process.
      await worker.terminate();
    }
    expect(openFds()).toBe(before);
  });
});
