// Recorded data from a real kernel and multipathd, read the way the service reads it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseMultipathStatus, parseMultipathTable } from '../../src/sources/device-mapper/multipath-status';
import { readUeventRecording } from '../../src/sources/uevents/recording';
import { parseUevent } from '../../src/sources/uevents/parse';
import { parseShowMaps } from '../../src/sources/multipathd/maps-json';
import type { KernelEvent, DmMapView, MpdMap } from '../../src/model/readings';

export const FIXTURES = path.resolve(__dirname, '..', 'fixtures');

export function fixture(rel: string): string {
  return fs.readFileSync(path.join(FIXTURES, rel), 'utf8');
}

export function mpdMaps(rel: string): MpdMap[] {
  const r = parseShowMaps(fixture(`multipathd-0.9.4/${rel}`));
  if (!r.ok) throw new Error(`${rel}: ${r.error}`);
  return r.value.maps;
}

/** `dmsetup status` and `dmsetup table` recordings joined into device-mapper views. */
export function dmViews(statusFile: string, tableFile = 'dmsetup-table.txt', uuids: Record<string, string>, devTs: Record<string, string>): DmMapView[] {
  const lines = (f: string) =>
    new Map(
      fixture(`kernel-6.1/${f}`)
        .trim()
        .split('\n')
        .map((l) => {
          const [name, rest] = l.split(': ');
          const [start, length, , ...params] = rest.split(' ');
          return [name, { start: Number(start), length: Number(length), params: params.join(' ') }] as const;
        }),
    );
  const status = lines(statusFile);
  const table = lines(tableFile);
  return [...status.keys()].map((name) => {
    const s = parseMultipathStatus(status.get(name)!.params);
    const t = parseMultipathTable(table.get(name)!.params);
    if (!s.ok || !t.ok) throw new Error(`${name}: ${!s.ok ? s.error : ''} ${!t.ok ? t.error : ''}`);
    return { name, uuid: `mpath-${uuids[name]}`, devT: devTs[name], sizeSectors: table.get(name)!.length, status: s.value, table: t.value };
  });
}

export function recordedDatagrams(): Buffer[] {
  return readUeventRecording(fs.readFileSync(path.join(FIXTURES, 'kernel-6.1/uevents.bin')));
}

export function recordedEvents(): KernelEvent[] {
  return recordedDatagrams().flatMap((d) => {
    const p = parseUevent(d);
    return p.kind === 'event' ? [p.event] : [];
  });
}
