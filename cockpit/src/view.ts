// The tree as the page shows it: maps with their groups and paths resolved, plus the
// figures of the overview. Pure functions of the objects, so a render is a function of state.
import type { GroupProps, Health, MapProps, Objects, PathProps } from './api';

export interface PathRow extends PathProps {
  path: string;
}
export interface GroupRow extends GroupProps {
  path: string;
  paths: PathRow[];
}
export interface MapRow extends MapProps {
  path: string;
  groups: GroupRow[];
  /** Paths in group order (the map's own list when a path is in no group). */
  pathRows: PathRow[];
}

export interface Summary {
  health: Health;
  maps: number;
  byHealth: Record<Health, number>;
  paths: number;
  failedPaths: number;
}

export const HEALTH_ORDER: Record<Health, number> = { failed: 0, degraded: 1, unknown: 2, optimal: 3 };

export function mapRows(o: Objects): MapRow[] {
  const rows: MapRow[] = [];
  const path = (p: string): PathRow[] => {
    const props = o.paths.get(p);
    return props ? [{ ...props, path: p }] : [];
  };
  for (const [mapPath, m] of o.maps) {
    const groups: GroupRow[] = [];
    for (const g of m.PathGroups ?? []) {
      const props = o.groups.get(g);
      if (props) groups.push({ ...props, path: g, paths: (props.Paths ?? []).flatMap(path) });
    }
    groups.sort((a, b) => a.Number - b.Number);
    rows.push({ ...m, path: mapPath, groups, pathRows: (m.Paths ?? []).flatMap(path) });
  }
  return rows;
}

export function summarize(o: Objects, rows: MapRow[]): Summary {
  const byHealth: Record<Health, number> = { optimal: 0, degraded: 0, failed: 0, unknown: 0 };
  let paths = 0;
  let failedPaths = 0;
  for (const m of rows) {
    byHealth[m.Health in byHealth ? m.Health : 'unknown']++;
    for (const p of m.pathRows) {
      paths++;
      if (p.DmState === 'failed') failedPaths++;
    }
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

/** Queueing as multipathd prints it: "off", "-", "on", "5 chk"… */
export const queueingOn = (q: string): boolean => q !== '' && q !== '-' && q !== 'off';

/** The last element of an object path, unescaped as the service escapes it (_xx). */
export function lastElement(objectPath: string): string {
  const last = objectPath.slice(objectPath.lastIndexOf('/') + 1);
  return last.replace(/_([0-9a-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
