// `multipath-dbus status`: one line per map; the exit code says whether all is well.
import { disconnect } from '../frontends/dbus/bus/connection';
import { fetchMaps, openClient } from './client';
import { terminalText } from './terminal-text';

export async function status(opts: { bus: string; json: boolean }): Promise<number> {
  const bus = await openClient(opts.bus);
  try {
    const maps = await fetchMaps(bus);
    const rows = maps.map(({ map }) => ({
      Name: String(map.Name),
      Wwid: String(map.Wwid),
      Health: String(map.Health),
      ValidPaths: Number(map.ValidPaths),
      NumPaths: Number(map.NumPaths),
    }));
    if (opts.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    else {
      const shown = rows.map((r) => ({ ...r, Name: terminalText(r.Name), Wwid: terminalText(r.Wwid), Health: terminalText(r.Health) }));
      const w = Math.max(4, ...shown.map((r) => r.Name.length));
      const ww = Math.max(4, ...shown.map((r) => r.Wwid.length));
      for (const r of shown) {
        process.stdout.write(`${r.Name.padEnd(w)}  ${r.Wwid.padEnd(ww)}  ${r.Health.padEnd(8)}  ${r.ValidPaths}/${r.NumPaths} paths\n`);
      }
      if (rows.length === 0) process.stdout.write('no multipath maps\n');
    }
    return rows.some((r) => r.Health === 'degraded' || r.Health === 'failed') ? 1 : 0;
  } finally {
    disconnect(bus);
  }
}
