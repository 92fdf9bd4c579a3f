// What the kernel changes in a multipath map with no uevent: a path group switched
// (`multipathd switchgroup`, `dmsetup message … switch_group`: dm-mpath raises a table
// event, which moves the map's event counter and sends nothing) and a map reloaded (a
// path's device deleted and multipathd loading the map without it: dm_swap_table moves
// only device-mapper's global event counter). Where the kernel can (Linux 4.13+), the
// global counter is watched (DM_DEV_ARM_POLL, then poll on /dev/mapper/control, as
// multipathd's dmevents.c does): nothing runs while nothing changes, and each wakeup lists
// the devices once (DM_LIST_DEVICES, which carries each one's event counter) to tell
// whether a multipath map is concerned. Elsewhere that list is taken every
// `kernel_poll_interval` seconds (it sees counters and maps coming and going, not reloads).
import type { Timers } from '../../core/ports';
import type { DmDeviceInfo, DmEventWatch } from '../../native/addon';
import type { Logger } from '../../util/log';
import type { DmSource } from './reader';

export interface DmChangeWatchOptions {
  timers: Timers;
  /** Between two lists where the global counter cannot be watched; 0: not polled. */
  pollIntervalMs: number;
  log: Logger;
}

const isMultipath = (uuid: string | undefined) => uuid?.startsWith('mpath-') ?? false;

export class DmChangeWatch {
  /** Lists taken so far (each one DM_LIST_DEVICES), beside the source's reads: the whole cost while maps are quiet. */
  lists = 0;
  /** The devices as last listed, in the kernel's order. */
  private last: DmDeviceInfo[] = [];
  private watch: DmEventWatch | undefined;
  private timer: unknown;
  private stopped = false;

  constructor(
    private readonly dm: DmSource,
    private readonly options: DmChangeWatchOptions,
    /** Multipath maps changed: read these again (their names), or every one (undefined: which is not known). */
    private readonly changed: (maps: Set<string> | undefined) => void,
  ) {}

  /** What the source's read listed: the state it published, which later lists are compared with. */
  seen(devices: DmDeviceInfo[]): void {
    this.last = devices;
  }

  start(): void {
    if (this.dm.watchEvents) {
      try {
        this.watch = this.dm.watchEvents(
          () => this.wake(),
          (e) => this.fallBack(`stopped (${e.message})`),
        );
        return;
      } catch (e) {
        // ENOTTY or EINVAL: a kernel before 4.13.
        this.fallBack(`cannot be watched (${(e as Error).message})`);
        return;
      }
    }
    this.schedulePoll();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.close();
    this.watch = undefined;
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The global counter moved. A reload moves nothing a list shows: a wakeup no listed change explains may be one. */
  private wake(): void {
    const diff = this.compare();
    if (diff.multipath.size > 0) this.changed(diff.multipath);
    else if (!diff.any && this.last.some((d) => isMultipath(d.uuid))) this.changed(undefined);
  }

  private poll(): void {
    this.timer = undefined;
    const diff = this.compare();
    if (diff.multipath.size > 0) this.changed(diff.multipath);
    this.schedulePoll();
  }

  private fallBack(why: string): void {
    this.watch?.close();
    this.watch = undefined;
    const seconds = this.options.pollIntervalMs / 1000;
    this.options.log.warning(
      `device-mapper's event counter ${why}: ${seconds > 0 ? `listing its devices every ${seconds} s instead` : 'not polled (kernel_poll_interval = 0)'}`,
    );
    this.schedulePoll();
  }

  private schedulePoll(): void {
    if (this.stopped || this.options.pollIntervalMs <= 0) return;
    this.timer = this.options.timers.setTimeout(() => this.poll(), this.options.pollIntervalMs);
  }

  /**
   * What changed since the last list: the multipath maps (by name), and whether anything at
   * all did. The kernel lists its devices in the same order while none comes or goes: the two
   * lists are compared side by side, and by name only when they are not alike.
   */
  private compare(): { multipath: Set<string>; any: boolean } {
    const multipath = new Set<string>();
    const now = this.list();
    if (!now) return { multipath, any: false };
    const before = this.last;
    this.last = now;
    let any = false;
    const differ = (name: string, was: DmDeviceInfo | undefined, is: DmDeviceInfo | undefined) => {
      if (was?.uuid === is?.uuid && was?.devT === is?.devT && was?.eventNr === is?.eventNr) return;
      any = true;
      if (isMultipath(was?.uuid) || isMultipath(is?.uuid)) multipath.add(name);
    };
    if (before.length === now.length && now.every((d, i) => d.name === before[i].name)) {
      for (let i = 0; i < now.length; i++) differ(now[i].name, before[i], now[i]);
      return { multipath, any };
    }
    const [was, is] = [byName(before), byName(now)];
    for (const name of new Set([...was.keys(), ...is.keys()])) differ(name, was.get(name), is.get(name));
    return { multipath, any };
  }

  /** undefined when device-mapper cannot be listed now (the source's read says so). */
  private list(): DmDeviceInfo[] | undefined {
    this.lists++;
    try {
      return this.dm.dmListDevices();
    } catch {
      return undefined;
    }
  }
}

const byName = (devices: DmDeviceInfo[]) => new Map(devices.map((d) => [d.name, d]));
