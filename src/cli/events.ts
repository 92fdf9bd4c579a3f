// `multipath-dbus events`: dm-multipath and NVMe multipath events straight from the kernel, one line each.
import { parseUevent } from '../sources/uevents/parse';
import { openUeventMonitor, type UeventMonitor } from '../native/addon';
import { stopRequested } from './stop-signal';
import { terminalText } from './terminal-text';

export function events(opts: { json: boolean; receiveBuffer?: number }): Promise<number> {
  const print = (obj: Record<string, unknown>, text: string) =>
    process.stdout.write((opts.json ? JSON.stringify({ time: new Date().toISOString(), ...obj }) : `${new Date().toISOString()} ${terminalText(text)}`) + '\n');
  let monitor: UeventMonitor;
  try {
    monitor = openUeventMonitor(
      { receiveBufferBytes: opts.receiveBuffer },
      {
        onDatagram: (d) => {
          const p = parseUevent(d);
          if (p.kind === 'malformed') print({ type: 'malformed', reason: p.reason }, `malformed uevent: ${p.reason}`);
          if (p.kind !== 'event') return;
          const e = p.event;
          if (e.kind === 'path') {
            print(
              { type: e.action === 'failed' ? 'PathFailed' : 'PathReinstated', ...e },
              `${e.mapName} (${e.wwid}) path ${e.pathDevT} ${e.action}, ${e.validPaths} valid, DM_SEQNUM ${e.dmSeqnum}`,
            );
          } else if (e.kind === 'map') {
            print({ type: `map-${e.action}`, ...e }, `${e.sysfs} ${e.action}${e.mapName ? ` (${e.mapName})` : ''}`);
          } else {
            print({ type: `nvme-${e.action}`, ...e }, `${e.device} ${e.action}`);
          }
        },
        onOverflow: () => print({ type: 'overflow' }, 'OVERFLOW: the kernel dropped events (receive buffer full)'),
        onError: (err) => print({ type: 'error', message: err.message }, `error: ${err.message}`),
      },
    );
  } catch (e) {
    process.stderr.write(`multipath-dbus events: ${terminalText((e as Error).message)}\n`);
    return Promise.resolve(1);
  }
  // Before the line below: whoever reads it may signal us at once.
  const stopping = stopRequested();
  // The socket is bound: from here on no uevent is missed. On stderr, so stdout stays one
  // line per event; scripts wait for this line before they make the kernel act.
  process.stderr.write('multipath-dbus events: listening for multipath uevents; Ctrl-C stops\n');
  return stopping.then(() => {
    monitor.close();
    return 0;
  });
}
