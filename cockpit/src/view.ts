// The tree as the page shows it: maps, the groups and paths of a map shown expanded, and the
// figures of the overview. Pure functions of the objects, so a render is a function of state.
// On a host with thousands of maps a render must stay cheap: a map's row is made once per
// version of its properties, and everything about the paths comes from the map's own
// counts (NumPaths, ValidPaths, Paths), so that no path object is needed until a map is
// expanded.
import type { GroupProps, Health, MapProps, Objects, PathProps } from './api';

export interface PathRow extends PathProps {
  path: string;
}
export interface GroupRow extends GroupProps {
  path: string;
  /** The group's paths that were read (all of them once the map's paths are loaded). */
  paths: PathRow[];
}
export interface MapRow extends MapProps {
  path: string;
}

export interface Summary {
  health: Health;
  maps: number;
  byHealth: Record<Health, number>;
  paths: number;
  failedPaths: number;
}

export const HEALTH_ORDER: Record<Health, number> = { failed: 0, degraded: 1, unknown: 2, optimal: 3 };

/** Rows by the identity of the properties they were made from (the store replaces them on a change). */
const rowOf = new WeakMap<MapProps, MapRow>();

export function mapRows(o: Objects): MapRow[] {
  const rows: MapRow[] = [];
  for (const [path, m] of o.maps) {
    let row = rowOf.get(m);
    if (!row || row.path !== path) {
      row = { ...m, path };
      rowOf.set(m, row);
    }
    rows.push(row);
  }
  return rows;
}

/** An expanded map's groups in order, each with the paths read so far. */
export function mapGroups(o: Objects, m: MapRow): GroupRow[] {
  const path = (p: string): PathRow[] => {
    const props = o.paths.get(p);
    return props ? [{ ...props, path: p }] : [];
  };
  const groups: GroupRow[] = [];
  for (const g of m.PathGroups ?? []) {
    const props = o.groups.get(g);
    if (props) groups.push({ ...props, path: g, paths: (props.Paths ?? []).flatMap(path) });
  }
  return groups.sort((a, b) => a.Number - b.Number);
}

/** Whether the map's own properties, groups and paths were read (else its details wait for them). */
export const detailsLoaded = (o: Objects, m: MapRow): boolean =>
  m.PathGroups !== undefined && m.PathGroups.every((g) => o.groups.has(g)) && (m.Paths ?? []).every((p) => o.paths.has(p));

export function summarize(o: Objects, rows: MapRow[]): Summary {
  const byHealth: Record<Health, number> = { optimal: 0, degraded: 0, failed: 0, unknown: 0 };
  let paths = 0;
  let failedPaths = 0;
  for (const m of rows) {
    byHealth[m.Health in byHealth ? m.Health : 'unknown']++;
    paths += m.NumPaths ?? 0;
    failedPaths += Math.max(0, (m.NumPaths ?? 0) - (m.ValidPaths ?? 0));
  }
  return { health: o.manager?.Health ?? 'unknown', maps: rows.length, byHealth, paths, failedPaths };
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

/** A native NVMe multipath namespace: the kernel's own, which multipathd does not manage. */
export const isNvme = (m: MapProps): boolean => m.Kind === 'nvme';

/** Queueing as multipathd prints it: "off", "-", "on", "5 chk"… */
export const queueingOn = (q: string): boolean => q !== '' && q !== '-' && q !== 'off';

/** The last element of an object path, unescaped as the service escapes it (_xx). */
export function lastElement(objectPath: string): string {
  const last = objectPath.slice(objectPath.lastIndexOf('/') + 1);
  return last.replace(/_([0-9a-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
