// The simulated host's state, and how the kernel and multipathd would each describe it:
// uevent datagrams, dm status/table lines, and `show maps json` printed as multipathd
// 0.9.4 prints it — strings unescaped, so a quote in a product breaks the JSON as it really does.
import { mpathName, sdDevT, sdName, simWwid } from './naming';

export interface SimTopologyOptions {
  maps: number;
  pathsPerMap: number;
  groupsPerMap?: number;
  vendor?: string;
  product?: string;
}

export interface SimPath {
  dev: string;
  devT: string;
  host: number;
  failed: boolean;
  failCount: number;
  group: number;
}

export interface SimMap {
  name: string;
  wwid: string;
  minor: number;
  groups: number;
  paths: SimPath[];
  dmSeqnum: number;
  pathFaults: number;
  present: boolean;
}

const DM_MAJOR = 254;
const SIZE_SECTORS = 16384;

export class SimTopology {
  readonly maps: SimMap[] = [];
  vendor: string;
  product: string;
  private kernelSeqnum = 1000;

  constructor(o: SimTopologyOptions) {
    this.vendor = o.vendor ?? 'Linux';
    this.product = o.product ?? 'scsi_debug';
    const groups = Math.max(1, Math.min(o.groupsPerMap ?? 2, o.pathsPerMap));
    let disk = 0;
    for (let m = 0; m < o.maps; m++) {
      const paths: SimPath[] = [];
      for (let p = 0; p < o.pathsPerMap; p++) {
        const i = disk++;
        paths.push({ dev: sdName(i), devT: sdDevT(i), host: p, failed: false, failCount: 0, group: Math.floor((p * groups) / o.pathsPerMap) + 1 });
      }
      this.maps.push({ name: mpathName(m), wwid: simWwid(m), minor: m, groups, paths, dmSeqnum: 0, pathFaults: 0, present: true });
    }
  }

  findPath(dev: string): { map: SimMap; path: SimPath } | undefined {
    for (const map of this.maps) {
      if (!map.present) continue;
      const path = map.paths.find((p) => p.dev === dev || p.devT === dev);
      if (path) return { map, path };
    }
    return undefined;
  }

  findMap(name: string): SimMap | undefined {
    return this.maps.find((m) => m.name === name || m.wwid === name || `dm-${m.minor}` === name);
  }

  /** Fail or reinstate a path; the kernel says nothing when the state does not change. */
  setPath(dev: string, failed: boolean): Buffer[] {
    const hit = this.findPath(dev);
    if (!hit || hit.path.failed === failed) return [];
    const { map, path } = hit;
    path.failed = failed;
    if (failed) {
      path.failCount++;
      map.pathFaults++;
    }
    map.dmSeqnum++;
    const valid = map.paths.filter((p) => !p.failed).length;
    return [
      this.datagram('change', map, {
        DM_TARGET: 'multipath',
        DM_ACTION: failed ? 'PATH_FAILED' : 'PATH_REINSTATED',
        DM_SEQNUM: String(map.dmSeqnum),
        DM_PATH: path.devT,
        DM_NR_VALID_PATHS: String(valid),
        DM_NAME: map.name,
        DM_UUID: `mpath-${map.wwid}`,
      }),
    ];
  }

  /** Remove or re-create a map; like the kernel, add/remove uevents carry no DM_UUID. */
  setPresent(name: string, present: boolean): Buffer[] {
    const map = this.findMap(name);
    if (!map || map.present === present) return [];
    map.present = present;
    // A new dm device: the kernel's per-device DM_SEQNUM starts again.
    if (present) map.dmSeqnum = 0;
    return [this.datagram(present ? 'add' : 'remove', map, {})];
  }

  private datagram(action: string, map: SimMap, dm: Record<string, string>): Buffer {
    const devpath = `/devices/virtual/block/dm-${map.minor}`;
    const vars: Record<string, string> = {
      ACTION: action,
      DEVPATH: devpath,
      SUBSYSTEM: 'block',
      ...dm,
      MAJOR: String(DM_MAJOR),
      MINOR: String(map.minor),
      DEVNAME: `dm-${map.minor}`,
      DEVTYPE: 'disk',
      SEQNUM: String(++this.kernelSeqnum),
    };
    return Buffer.from(`${action}@${devpath}\0${Object.entries(vars).map(([k, v]) => `${k}=${v}\0`).join('')}`, 'latin1');
  }

  /** The group dm-mpath would use now: the first with a usable path. */
  activeGroup(map: SimMap): number {
    for (let g = 1; g <= map.groups; g++) if (map.paths.some((p) => p.group === g && !p.failed)) return g;
    return 0;
  }

  dmTable(map: SimMap): string {
    const parts = ['0', '1 alua', String(map.groups), '1'];
    for (let g = 1; g <= map.groups; g++) {
      const members = map.paths.filter((p) => p.group === g);
      parts.push(`service-time 0 ${members.length} 2`, ...members.map((p) => `${p.devT} 1 1`));
    }
    return parts.join(' ');
  }

  dmStatus(map: SimMap): string {
    const active = this.activeGroup(map);
    const parts = ['2 0 1', '0', String(map.groups), String(active || 1)];
    for (let g = 1; g <= map.groups; g++) {
      const members = map.paths.filter((p) => p.group === g);
      parts.push(`${g === active ? 'A' : 'E'} 0 ${members.length} 2`, ...members.map((p) => `${p.devT} ${p.failed ? 'F' : 'A'} ${p.failCount} 0 1`));
    }
    return parts.join(' ');
  }

  get sizeSectors(): number {
    return SIZE_SECTORS;
  }

  /** `show maps json`, byte for byte in multipathd 0.9.4's layout. */
  showMapsJson(): string {
    const present = this.maps.filter((m) => m.present);
    const maps = present.map((m) => this.mapJson(m));
    return `{\n   "major_version": 0,\n   "minor_version": 1,\n   "maps": [${maps.join(',')}]\n}\n`;
  }

  private mapJson(m: SimMap): string {
    const active = this.activeGroup(m);
    const groups: string[] = [];
    for (let g = 1; g <= m.groups; g++) {
      const members = m.paths.filter((p) => p.group === g);
      const healthy = members.some((p) => !p.failed);
      const pri = healthy ? (g === 1 ? 50 : 10) : 0;
      const paths = members.map(
        (p) => `{
            "dev" : "${p.dev}",
            "dev_t" : "${p.devT}",
            "dm_st" : "${p.failed ? 'failed' : 'active'}",
            "dev_st" : "running",
            "chk_st" : "${p.failed ? 'faulty' : 'ready'}",
            "checker" : "tur",
            "pri" : ${p.failed ? 0 : pri},
            "host_wwnn" : "[undef]",
            "target_wwnn" : "[undef]",
            "host_wwpn" : "[undef]",
            "target_wwpn" : "[undef]",
            "host_adapter" : "[undef]",
            "lun_hex" : "0x${m.minor.toString(16).padStart(4, '0')}000000000000",
            "marginal_st" : "normal"
         }`,
      );
      groups.push(`{
         "selector" : "service-time 0",
         "pri" : ${pri},
         "dm_st" : "${g === active ? 'active' : 'enabled'}",
         "marginal_st" : "normal",
         "group" : ${g},
         "paths": [${paths.join(',')}]
      }`);
    }
    return `{
      "name" : "${m.name}",
      "uuid" : "${m.wwid}",
      "sysfs" : "dm-${m.minor}",
      "failback" : "-",
      "queueing" : "-",
      "paths" : ${m.paths.filter((p) => !p.failed).length},
      "write_prot" : "rw",
      "dm_st" : "active",
      "features" : "0",
      "hwhandler" : "1 alua",
      "action" : "create",
      "path_faults" : ${m.pathFaults},
      "vend" : "${this.vendor}",
      "prod" : "${this.product}",
      "rev" : "0191",
      "switch_grp" : 0,
      "map_loads" : 1,
      "total_q_time" : 0,
      "q_timeouts" : 0,
      "path_groups": [${groups.join(',')}]
   }`;
  }
}
