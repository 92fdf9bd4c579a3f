// `multipath-dbus monitor`: the service's signals as they happen, one line each; with
// --since, the history first, and a plain warning when part of it is gone. Only the
// service's own signals, each event once and in order (service-feed.ts).
import { MAP_IFACE, PATH_IFACE } from '../frontends/dbus/api';
import { disconnect, type BusConnection } from '../frontends/dbus/bus/connection';
import { fetchObjects, openClient } from './client';
import { ServiceFeed } from './service-feed';
import { terminalText } from './terminal-text';
import { stopRequested } from './stop-signal';

interface Line {
  serial?: bigint;
  name: string;
  object: string;
  data: Record<string, unknown>;
}

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
  const print = (l: Line) => {
    if (opts.json) {
      out(JSON.stringify({ ...l, serial: l.serial?.toString(), target: label(l.object) }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
      return;
    }
    // An empty field says nothing (an NVMe path has no dev_t).
    const details = Object.entries(l.data)
      .filter(([, v]) => v !== '')
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

  const note = (text: string) => out(`${terminalText(text)}\n`);
  const feed = new ServiceFeed(bus, {
    event: print,
    signal: (m) => {
      if (m.member === 'InterfacesAdded') {
        const [path, ifaces] = m.args as [string, Record<string, Record<string, unknown>>];
        remember(path, ifaces);
        print({ name: 'Added', object: path, data: { Interfaces: Object.keys(ifaces).map((i) => i.split('.').pop()) } });
      } else if (m.member === 'InterfacesRemoved') {
        print({ name: 'Removed', object: m.args[0] as string, data: {} });
      }
    },
    incomplete: (after) => note(`# history after ${after} is incomplete: some events were dropped; re-read the state`),
    owner: async (change) => {
      if (change === 'left') return note('# the service left the bus');
      note('# the service restarted: its events from the first');
      for (const [path, ifaces] of await fetchObjects(bus)) remember(path, ifaces);
    },
    failed: (e) => note(`# cannot read the service's history: ${e.message}`),
  });
  await feed.subscribe();
  for (const [path, ifaces] of await fetchObjects(bus)) remember(path, ifaces);
  await feed.start(opts.since);

  opts.onReady?.();
  return new Promise((resolve) => {
    void until.finally(() => resolve(0));
    bus.on('disconnect', () => {
      out('# the bus connection closed\n');
      resolve(1);
    });
  });
}
