// One rendering of the topology for every command that prints it: `snapshot` builds the
// objects from its own reading, `show` gets them from the service; both print the same way.
import { MAP_IFACE, PATH_GROUP_IFACE, PATH_IFACE } from '../frontends/dbus/api';
import type { Props } from '../frontends/dbus/bus/object-server';
import { terminalText } from './terminal-text';

export type ObjectTree = ReadonlyMap<string, ReadonlyMap<string, Props>>;

export interface TreeMap {
  map: Props;
  groups: { group: Props; paths: Props[] }[];
}

/** Nest the flat object list: maps, their groups in order, the groups' paths in order. */
export function assemble(objects: ObjectTree): TreeMap[] {
  const props = (path: string, iface: string) => objects.get(path)?.get(iface);
  const out: TreeMap[] = [];
  for (const ifaces of objects.values()) {
    const map = ifaces.get(MAP_IFACE);
    if (!map) continue;
    const groups = (map.PathGroups as string[]).flatMap((gp) => {
      const group = props(gp, PATH_GROUP_IFACE);
      if (!group) return [];
      const paths = (group.Paths as string[]).flatMap((pp): Props[] => {
        const p = props(pp, PATH_IFACE);
        return p ? [p] : [];
      });
      return [{ group, paths }];
    });
    out.push({ map, groups });
  }
  return out.sort((a, b) => String(a.map.Name).localeCompare(String(b.map.Name)));
}

function humanSize(bytes: bigint): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P'];
  let v = Number(bytes);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}` : `${v.toFixed(1)}${units[i]}`;
}

/**
 * Like `multipath -ll`, plus the health multipath never states. An NVMe namespace shows what
 * `nvme list-subsys` would: its subsystem and I/O policy, its ANA groups, and each path's
 * controller, transport, address, controller state and ANA state.
 */
export function renderTree(maps: TreeMap[]): string {
  const lines: string[] = [];
  for (const { map, groups } of maps) {
    const nvme = map.Kind === 'nvme';
    const vp = `${map.ValidPaths}/${map.NumPaths}`;
    const size = `size=${humanSize(BigInt(map.Size as bigint))}`;
    lines.push(`${map.Name} (${map.Wwid}) ${map.SysfsName} ${nvme ? 'NVMe' : map.Vendor},${map.Product} [${map.Health}, ${vp} paths valid]`);
    lines.push(nvme ? `${size} subsystem=${map.SubsystemNqn} iopolicy=${map.IoPolicy}` : `${size} features='${map.Features}' hwhandler='${map.HardwareHandler}' wp=${map.WriteProtect}`);
    groups.forEach(({ group, paths }, gi) => {
      const lastGroup = gi === groups.length - 1;
      lines.push(`${lastGroup ? '`' : '|'}-+- ${nvme ? `ana-group=${group.Number}` : `policy='${group.Selector}' prio=${group.Priority}`} status=${group.DmState}`);
      paths.forEach((p, pi) => {
        const lead = lastGroup ? '  ' : '| ';
        const branch = pi === paths.length - 1 ? '`-' : '|-';
        const dmState = p.DmState === 'failed' ? 'failed' : 'active';
        lines.push(
          nvme
            ? `${lead}${branch} ${p.Device} ${p.Controller} ${p.Transport} ${p.Address} ${dmState} ${p.ControllerState} ${p.AnaState || '-'}`
            : `${lead}${branch} ${p.Device} ${String(p.DevT).padEnd(6)} ${dmState} ${p.CheckerState || '-'} ${p.DeviceState || '-'}`,
        );
      });
    });
  }
  return lines.map(terminalText).join('\n') + (lines.length ? '\n' : '');
}

/** JSON whose keys are the D-Bus property names; object paths stay where they help a script. */
export function toJson(maps: TreeMap[]): unknown {
  const plain = (p: Props) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]));
  return maps.map(({ map, groups }) => ({
    ...plain(map),
    PathGroups: groups.map(({ group, paths }) => ({ ...plain(group), Paths: paths.map(plain) })),
    Paths: groups.flatMap(({ paths }) => paths.map((p) => p.Device)),
  }));
}
