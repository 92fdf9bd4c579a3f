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
  /** Map names in order (an alias, or the WWID without user_friendly_names); default mpatha, mpathb, … */
  names?: string[];
  /** The configuration's no_path_retry (default: unset, as multipath.conf leaves it). */
  noPathRetry?: NoPathRetry;
}

/** multipathd's no_path_retry: unset, "fail", "queue", or a number of checker intervals. */
export type NoPathRetry = 'undef' | 'fail' | 'queue' | number;

export interface SimPath {
  dev: string;
  devT: string;
  failed: boolean;
  failCount: number;
  /** 1-based path group. */
  group: number;
}

export interface SimMap {
  name: string;
  wwid: string;
  minor: number;
  groups: number;
  paths: SimPath[];
  /** The group dm-mpath is using; 0 when none (no usable path, or switch_group before the next I/O). */
  activeGroup: number;
  /** The group dm-mpath will use next (after switch_group); 0 when it just keeps its current one. */
  nextGroup: number;
  /** The map's no_path_retry as multipathd holds it (disablequeueing makes it "fail"). */
  noPathRetry: NoPathRetry;
  /** dm-mpath's queue_if_no_path flag: the table's features. */
  queueIfNoPath: boolean;
  sizeSectors: number;
  /** What the member disks report (they may have grown since the map was loaded). */
  diskSectors: number;
  mapLoads: number;
  dmSeqnum: number;
  /** The dm device's event counter: table events move it (a path failed or reinstated, switch_group); a reload does not. */
  eventNr: number;
  diskseq: number;
  pathFaults: number;
  present: boolean;
}

const DM_MAJOR = 254;
const SIZE_SECTORS = 16384;
// What libdevmapper's udev synchronisation puts on the add/remove it triggers (as recorded).
const DM_COOKIE = '6291456';

export class SimTopology {
  readonly maps: SimMap[] = [];
  /** device-mapper's global event (dm_issue_global_event): a table event, a reload, a device created or removed. */
  onDmEvent: () => void = () => undefined;
  vendor: string;
  product: string;
  /** Times multipathd was told to reconfigure. */
  reconfigures = 0;
  /** no_path_retry as multipathd loaded it (restorequeueing brings it back). */
  private noPathRetry: NoPathRetry;
  /** no_path_retry as multipath.conf says it now: multipathd loads it at `reconfigure`. */
  private confNoPathRetry: NoPathRetry;
  private kernelSeqnum = 1000;
  private lastDiskseq: number;

  constructor(o: SimTopologyOptions) {
    this.vendor = o.vendor ?? 'Linux';
    this.product = o.product ?? 'scsi_debug';
    this.noPathRetry = o.noPathRetry ?? 'undef';
    this.confNoPathRetry = this.noPathRetry;
    const groups = Math.max(1, Math.min(o.groupsPerMap ?? 2, o.pathsPerMap));
    let disk = 0;
    for (let m = 0; m < o.maps; m++) {
      const paths: SimPath[] = [];
      for (let p = 0; p < o.pathsPerMap; p++) {
        const i = disk++;
        paths.push({ dev: sdName(i), devT: sdDevT(i), failed: false, failCount: 0, group: Math.floor((p * groups) / o.pathsPerMap) + 1 });
      }
      this.maps.push({
        name: o.names?.[m] ?? mpathName(m),
        wwid: simWwid(m),
        minor: m,
        groups,
        paths,
        activeGroup: 1,
        nextGroup: 0,
        noPathRetry: this.noPathRetry,
        queueIfNoPath: queues(this.noPathRetry),
        sizeSectors: SIZE_SECTORS,
        diskSectors: SIZE_SECTORS,
        mapLoads: 1,
        dmSeqnum: 0,
        eventNr: 0,
        diskseq: 0,
        pathFaults: 0,
        present: true,
      });
    }
    // The disks were numbered first, the dm devices after them, as at boot.
    this.lastDiskseq = disk;
    for (const map of this.maps) map.diskseq = ++this.lastDiskseq;
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
    this.chooseGroup(map);
    map.dmSeqnum++;
    this.tableEvent(map);
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

  /**
   * Remove or re-create a map, with the datagrams the kernel sends for it (recorded:
   * add then change on creation, two removes on removal; none carries DM_UUID).
   * A re-created map is a new dm device: all paths usable, counters and DM_SEQNUM from zero.
   */
  setPresent(name: string, present: boolean): Buffer[] {
    const map = this.findMap(name);
    if (!map || map.present === present) return [];
    map.present = present;
    this.onDmEvent();
    if (!present) return [this.datagram('remove', map, { DM_COOKIE }), this.datagram('remove', map, {})];
    for (const p of map.paths) {
      p.failed = false;
      p.failCount = 0;
    }
    Object.assign(map, {
      activeGroup: 1,
      nextGroup: 0,
      noPathRetry: this.noPathRetry,
      queueIfNoPath: queues(this.noPathRetry),
      sizeSectors: map.diskSectors,
      mapLoads: 1,
      dmSeqnum: 0,
      eventNr: 0,
      pathFaults: 0,
      diskseq: ++this.lastDiskseq,
    });
    return [this.datagram('add', map, {}), this.datagram('change', map, { DM_COOKIE })];
  }

  /**
   * `switchgroup map M group N` as multipathd 0.9.4 does it: the dm message "switch_group N".
   * dm-mpath drops its current group and names N next until I/O picks it; it sends no uevent
   * for this (only a dm table event: the map's event counter moves). false: no such group (EINVAL).
   */
  switchGroup(map: SimMap, group: number): boolean {
    if (!Number.isInteger(group) || group < 1 || group > map.groups) return false;
    map.activeGroup = 0;
    map.nextGroup = group;
    this.tableEvent(map);
    return true;
  }

  /**
   * A path's SCSI device was deleted (echo 1 > /sys/block/sdX/device/delete): multipathd
   * reloads its map without it. The resume is announced by a change event carrying
   * libdevmapper's cookie; the map's event counter does not move (a reload is no table event).
   */
  deletePath(dev: string): Buffer[] {
    const hit = this.findPath(dev);
    if (!hit) return [];
    const { map, path } = hit;
    map.paths = map.paths.filter((p) => p !== path);
    // multipathd builds the groups again: one left empty is gone, and those after it move up.
    if (!map.paths.some((p) => p.group === path.group)) {
      const renumber = (g: number) => (g === path.group ? 0 : g > path.group ? g - 1 : g);
      for (const p of map.paths) p.group = renumber(p.group);
      map.groups--;
      map.activeGroup = renumber(map.activeGroup);
      map.nextGroup = renumber(map.nextGroup);
    }
    this.chooseGroup(map);
    return this.reload(map);
  }

  /**
   * disablequeueing: no_path_retry becomes "fail" and dm-mpath gets "fail_if_no_path";
   * restorequeueing: the configured no_path_retry again, queue_if_no_path if it queues.
   * Both are dm messages: no uevent.
   */
  setQueueing(map: SimMap, restore: boolean): void {
    map.noPathRetry = restore ? this.noPathRetry : 'fail';
    map.queueIfNoPath = queues(map.noPathRetry);
  }

  /** The member disks now report this many sectors (a LUN grown on the array, then rescanned). */
  setDiskSize(map: SimMap, sectors: number): void {
    map.diskSectors = sectors;
  }

  /** An admin edited multipath.conf's no_path_retry; nothing changes until `reconfigure`. */
  editConfig(noPathRetry: NoPathRetry): void {
    this.confNoPathRetry = noPathRetry;
  }

  /**
   * `reconfigure`: multipathd loads multipath.conf and sets every map up with it again, which
   * also ends a disablequeueing (setup_map() clears it on a map with paths). A map whose
   * queue_if_no_path changes is reloaded (select_action()'s "no_path_retry change"), which
   * the kernel announces with a change event carrying libdevmapper's cookie.
   */
  reconfigure(): Buffer[] {
    this.reconfigures++;
    this.noPathRetry = this.confNoPathRetry;
    const reloaded: Buffer[] = [];
    for (const map of this.maps) {
      if (!map.present) continue;
      map.noPathRetry = this.noPathRetry;
      if (map.queueIfNoPath === queues(map.noPathRetry)) continue;
      map.queueIfNoPath = !map.queueIfNoPath;
      reloaded.push(...this.reload(map));
    }
    return reloaded;
  }

  /**
   * `resize map M`: nothing when the paths report the map's size already; otherwise the
   * table is reloaded at the new size and resumed, which the kernel announces with a change
   * event carrying libdevmapper's cookie.
   */
  resize(map: SimMap): Buffer[] {
    if (map.diskSectors === map.sizeSectors) return [];
    map.sizeSectors = map.diskSectors;
    return this.reload(map);
  }

  /** A new table loaded and resumed: dm_swap_table's global event, and the resume's change event. */
  private reload(map: SimMap): Buffer[] {
    map.mapLoads++;
    this.onDmEvent();
    return [this.datagram('change', map, { DM_COOKIE })];
  }

  /** dm_table_event(): the map's event counter moves, and device-mapper's global one. */
  private tableEvent(map: SimMap): void {
    map.eventNr++;
    this.onDmEvent();
  }

  /**
   * dm-mpath keeps using its group while it has a usable path (failback is multipathd's
   * business, and `failback manual` never does it); otherwise it takes the first group
   * with one, or none.
   */
  private chooseGroup(map: SimMap): void {
    const usable = (g: number) => map.paths.some((p) => p.group === g && !p.failed);
    // The I/O that follows takes the group switch_group named, if it can.
    if (map.nextGroup && usable(map.nextGroup)) {
      map.activeGroup = map.nextGroup;
      map.nextGroup = 0;
      return;
    }
    if (map.activeGroup && usable(map.activeGroup)) return;
    map.activeGroup = 0;
    for (let g = 1; g <= map.groups; g++) {
      if (usable(g)) {
        map.activeGroup = g;
        return;
      }
    }
  }

  private datagram(action: string, map: SimMap, extra: Record<string, string>): Buffer {
    const devpath = `/devices/virtual/block/dm-${map.minor}`;
    const vars: Record<string, string> = {
      ACTION: action,
      DEVPATH: devpath,
      SUBSYSTEM: 'block',
      ...extra,
      MAJOR: String(DM_MAJOR),
      MINOR: String(map.minor),
      DEVNAME: `dm-${map.minor}`,
      DEVTYPE: 'disk',
      DISKSEQ: String(map.diskseq),
      SEQNUM: String(++this.kernelSeqnum),
    };
    let text = `${action}@${devpath}\0`;
    for (const k in vars) text += `${k}=${vars[k]}\0`;
    return Buffer.from(text, 'latin1');
  }

  private members(map: SimMap, group: number): SimPath[] {
    return map.paths.filter((p) => p.group === group);
  }

  dmTable(map: SimMap): string {
    const parts = [features(map), '1 alua', String(map.groups), '1'];
    for (let g = 1; g <= map.groups; g++) {
      const members = this.members(map, g);
      parts.push(`service-time 0 ${members.length} 2`, ...members.map((p) => `${p.devT} 1 1`));
    }
    return parts.join(' ');
  }

  dmStatus(map: SimMap): string {
    const parts = ['2 0 1', '0', String(map.groups), String(map.nextGroup || map.activeGroup || 1)];
    for (let g = 1; g <= map.groups; g++) {
      const members = this.members(map, g);
      parts.push(`${g === map.activeGroup ? 'A' : 'E'} 0 ${members.length} 2`, ...members.map((p) => `${p.devT} ${p.failed ? 'F' : 'A'} ${p.failCount} 0 1`));
    }
    return parts.join(' ');
  }

  /** `show status`: only the checker states some path is in, as multipathd prints them. */
  showStatus(): string {
    const paths = this.maps.filter((m) => m.present).flatMap((m) => m.paths);
    const down = paths.filter((p) => p.failed).length;
    const line = (state: string, n: number) => (n ? `${state.padEnd(20)}${n}\n` : '');
    return `path checker states:\n${line('down', down)}${line('up', paths.length - down)}\npaths: ${paths.length}\nbusy: False\n`;
  }

  /** `show maps json`, byte for byte in multipathd 0.9.4's layout. */
  showMapsJson(): string {
    const maps = this.maps.filter((m) => m.present).map((m) => this.mapJson(m));
    return `{\n   "major_version": 0,\n   "minor_version": 1,\n   "maps": [${maps.join(',')}]\n}\n`;
  }

  private mapJson(m: SimMap): string {
    const groups: string[] = [];
    for (let g = 1; g <= m.groups; g++) {
      const members = this.members(m, g);
      // A path keeps its priority when it fails; its group's is the mean over usable paths.
      const pathPri = g === 1 ? 50 : 10;
      const groupPri = members.some((p) => !p.failed) ? pathPri : 0;
      const paths = members.map(
        (p) => `{
            "dev" : "${p.dev}",
            "dev_t" : "${p.devT}",
            "dm_st" : "${p.failed ? 'failed' : 'active'}",
            "dev_st" : "running",
            "chk_st" : "${p.failed ? 'faulty' : 'ready'}",
            "checker" : "tur",
            "pri" : ${pathPri},
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
         "pri" : ${groupPri},
         "dm_st" : "${g === m.activeGroup ? 'active' : 'enabled'}",
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
      "queueing" : "${queueingField(m.noPathRetry)}",
      "paths" : ${m.paths.filter((p) => !p.failed).length},
      "write_prot" : "rw",
      "dm_st" : "active",
      "features" : "${features(m)}",
      "hwhandler" : "1 alua",
      "action" : "create",
      "path_faults" : ${m.pathFaults},
      "vend" : "${this.vendor}",
      "prod" : "${this.product}",
      "rev" : "0191",
      "switch_grp" : 0,
      "map_loads" : ${m.mapLoads},
      "total_q_time" : 0,
      "q_timeouts" : 0,
      "path_groups": [${groups.join(',')}]
   }`;
  }
}

const queues = (n: NoPathRetry) => n === 'queue' || typeof n === 'number';

/** The table's features as dm-mpath prints them (and multipathd repeats). */
const features = (m: SimMap) => (m.queueIfNoPath ? '1 queue_if_no_path' : '0');

/** multipathd's "queueing" column: '-' unset, "off", "on", or the retries left ("N chk"). */
function queueingField(n: NoPathRetry): string {
  if (n === 'undef') return '-';
  if (n === 'fail') return 'off';
  if (n === 'queue') return 'on';
  return `${n} chk`;
}
