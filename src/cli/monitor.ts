// `multipath-dbus monitor`: the service's signals as they happen, one line each; with
// --since, the history first, and a plain warning when part of it is gone.
import { BUS_NAME, MANAGER_IFACE, MAP_IFACE, PATH_IFACE, ROOT_PATH } from '../dbus/api';
import { callMethod, disconnect, onSignal, type BusConnection } from '../dbus/connection';
import { fetchObjects, openClient } from './client';
import { terminalText } from './terminal-text';
import { stopRequested } from './stop-signal';

interface Line {
  serial?: bigint;
  name: string;
  object: string;
  data: Record<string, unknown>;
}

/** Signal arguments by name, so live signals read like history entries. */
const SIGNAL_ARGS: Record<string, string[]> = {
  PathFailed: ['Path', 'DevT', 'ValidPaths', 'DmSeqnum', 'serial'],
  PathReinstated: ['Path', 'DevT', 'ValidPaths', 'DmSeqnum', 'serial'],
  Failed: ['serial'],
  Restored: ['serial'],
  PolicyChanged: ['Properties', 'serial'],
  Resynchronized: ['Reason', 'serial'],
};

export interface MonitorOptions {
  bus: string;
  json: boolean;
  since?: bigint;
  out?: (s: string) => void;
  /** Stop when this settles (default: the first SIGINT or SIGTERM). */
  until?: Promise<unknown>;
  /** Called once the signals are subscribed and the history is printed. */
  onReady?: () => void;
}

export async function monitor(opts: MonitorOptions): Promise<number> {
  const until = opts.until ?? stopRequested();
  const bus = await openClient(opts.bus);
  try {
    return await watch(bus, opts, until);
  } finally {
    // Also when it fails to start: an open connection would keep the process alive.
    disconnect(bus);
  }
}

async function watch(bus: BusConnection, opts: MonitorOptions, until: Promise<unknown>): Promise<number> {
  const out = opts.out ?? ((s: string) => process.stdout.write(s));
  const names = new Map<string, string>();
  const label = (object: string) => names.get(object) ?? object;
  let lastSerial = -1n;
  const print = (l: Line) => {
    if (l.serial !== undefined) {
      if (l.serial <= lastSerial) return;
      lastSerial = l.serial;
    }
    if (opts.json) {
      out(JSON.stringify({ ...l, serial: l.serial?.toString(), target: label(l.object) }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
      return;
    }
    const details = Object.entries(l.data)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : typeof v === 'string' && names.has(v) ? names.get(v) : String(v)}`)
      .join(' ');
    out(terminalText(`${l.serial !== undefined ? `#${l.serial} ` : ''}${l.name} ${label(l.object)}${details ? ` ${details}` : ''}`) + '\n');
  };
  const remember = (path: string, ifaces: Record<string, Record<string, unknown>> | ReadonlyMap<string, Record<string, unknown>>) => {
    const get = (i: string) => (ifaces instanceof Map ? ifaces.get(i) : (ifaces as Record<string, Record<string, unknown>>)[i]);
    const props = get(MAP_IFACE) ?? get(PATH_IFACE);
    const n = props?.Name ?? props?.Device;
    if (typeof n === 'string' && n) names.set(path, n);
  };

  const buffered: Line[] = [];
  let replaying = opts.since !== undefined;
  const emit = (l: Line) => (replaying ? buffered.push(l) : print(l));
  await onSignal(bus, { sender: BUS_NAME, pathNamespace: ROOT_PATH }, (m) => {
    if (m.member === 'InterfacesAdded') {
      const [path, ifaces] = m.args as [string, Record<string, Record<string, unknown>>];
      remember(path, ifaces);
      emit({ name: 'Added', object: path, data: { Interfaces: Object.keys(ifaces).map((i) => i.split('.').pop()) } });
    } else if (m.member === 'InterfacesRemoved') {
      emit({ name: 'Removed', object: m.args[0] as string, data: {} });
    } else if (SIGNAL_ARGS[m.member] && (m.iface === MAP_IFACE || m.iface === MANAGER_IFACE)) {
      const argNames = SIGNAL_ARGS[m.member];
      const data: Record<string, unknown> = {};
      argNames.forEach((n, i) => n !== 'serial' && (data[n] = m.args[i]));
      emit({ serial: m.args[argNames.length - 1] as bigint, name: m.member, object: m.path, data });
    }
  });
  for (const [path, ifaces] of await fetchObjects(bus)) remember(path, ifaces);

  if (opts.since !== undefined) {
    let since = opts.since;
    for (;;) {
      const [complete, events] = (await callMethod(bus, BUS_NAME, ROOT_PATH, MANAGER_IFACE, 'GetEvents', 'tu', [since, 1000])) as [
        boolean,
        [bigint, string, string, Record<string, unknown>][],
      ];
      if (!complete && since === opts.since) out(`# history after ${opts.since} is incomplete: some events were dropped; re-read the state\n`);
      for (const [serial, name, object, data] of events) print({ serial, name, object, data });
      // A page can be cut short by the message size limit: only an empty one is the end.
      if (events.length === 0) break;
      since = events[events.length - 1][0];
    }
    replaying = false;
    for (const l of buffered.splice(0)) print(l);
  }

  opts.onReady?.();
  return new Promise((resolve) => {
    void until.finally(() => resolve(0));
    bus.on('disconnect', () => {
      out('# the bus connection closed\n');
      resolve(1);
    });
  });
}
