// `multipath-dbus snapshot`: read multipathd and device-mapper directly, no D-Bus.
import { kernelDm, readDmMultipathMaps } from '../sources/device-mapper/reader';
import { buildTopology } from '../model/build';
import { MultipathdClient } from '../sources/multipathd/client';
import { parseShowMaps } from '../sources/multipathd/maps-json';
import { mapObjectValues } from '../frontends/dbus/views';
import { terminalText } from './terminal-text';
import { assemble, renderTree, toJson } from './tree';
import type { SourceReadings } from '../model/readings';

export async function snapshot(opts: { socket?: string; json: boolean }): Promise<number> {
  const readings: SourceReadings = {};
  const problems: string[] = [];
  const client = new MultipathdClient({ socket: opts.socket });
  try {
    const parsed = parseShowMaps(await client.request('show maps json'));
    if (parsed.ok) readings.multipathd = parsed.value.maps;
    else problems.push(`multipathd: unreadable reply: ${parsed.error}`);
  } catch (e) {
    problems.push(`multipathd: ${(e as Error).message}`);
  } finally {
    client.close();
  }
  const dm = readDmMultipathMaps(kernelDm);
  if (dm.ok) readings.dm = dm.value.maps;
  else problems.push(`device-mapper: ${dm.error}`);

  if (!readings.multipathd && !readings.dm) {
    process.stderr.write(`multipath-dbus snapshot: cannot read multipath state\n${problems.map((p) => `  ${terminalText(p)}\n`).join('')}`);
    return 1;
  }
  for (const p of problems) process.stderr.write(`multipath-dbus snapshot: warning: ${terminalText(p)}\n`);
  const objects = new Map();
  for (const map of buildTopology(readings, new Map()).values()) for (const [k, v] of mapObjectValues(map)) objects.set(k, v);
  const maps = assemble(objects);
  process.stdout.write(opts.json ? JSON.stringify(toJson(maps), null, 2) + '\n' : renderTree(maps));
  return 0;
}
