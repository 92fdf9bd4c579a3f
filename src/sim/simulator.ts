// A multipathd impostor for tests, the demo and the benchmarks: multipathd's framing on a
// socket bound the way multipathd binds it (exact-length abstract name), a mutable
// topology, a device-mapper view consistent with it, and the kernel datagrams each change
// would produce. It can be told to hang or to die.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { listenUnixStream, NativeError, type DmDeviceInfo, type DmEventWatch, type DmTargetLine } from '../native/addon';
import { encodeFrame, FrameReader } from '../sources/multipathd/framing';
import { parseCommand } from './commands';
import { SIM_SHOW_CONFIG } from './show-config';
import { SimTopology, type NoPathRetry, type SimTopologyOptions } from './topology';

export type { SimTopologyOptions };

export interface SimMapView {
  name: string;
  wwid: string;
  sysfs: string;
  devT: string;
  /** The path group dm-mpath is using, 1-based; 0 when none (no usable path, or switched and no I/O yet). */
  activeGroup: number;
  /** The group switch_group named, until I/O takes it; 0 otherwise. */
  nextGroup: number;
  features: string;
  sizeSectors: number;
  paths: { dev: string; devT: string; failed: boolean; group: number }[];
}

const SMALL: SimTopologyOptions = { maps: 2, pathsPerMap: 2, groupsPerMap: 2 };

export class MultipathdSimulator {
  readonly requests: string[] = [];
  /** Datagrams produced by changes made through the socket (`fail path` etc.). */
  readonly emitted: Buffer[] = [];
  private readonly topo: SimTopology;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private stalled = false;
  private kernelSilent = false;
  private hangUps = 0;
  private delayed = 0;
  private accepted = 0;
  private readonly dmWatchers = new Set<() => void>();
  private dmEventPending = false;

  constructor(
    private readonly options: {
      socket: string;
      topology?: SimTopologyOptions | 'small';
      onUevent?: (d: Buffer) => void;
      /**
       * Make the world slower than the reply: uevents reach onUevent this long after the
       * command that caused them, and `show`/`list` answers take this long (a big host).
       */
      latency?: { ueventMs?: number; readMs?: number };
    },
  ) {
    const t = options.topology;
    this.topo = new SimTopology(t === undefined || t === 'small' ? SMALL : t);
    // As the kernel wakes a poller: after the change, several changes in one turn waking it once.
    this.topo.onDmEvent = () => {
      if (this.dmEventPending || this.dmWatchers.size === 0) return;
      this.dmEventPending = true;
      setImmediate(() => {
        this.dmEventPending = false;
        for (const w of [...this.dmWatchers]) w();
      });
    };
  }

  /** The simulated host itself, for tests that rearrange it (move a device, repeat a WWID). */
  get topology(): SimTopology {
    return this.topo;
  }

  /** Connections accepted so far: tells a test whether a client reconnected. */
  get connections(): number {
    return this.accepted;
  }

  get socket(): string {
    return this.options.socket;
  }

  async listen(): Promise<void> {
    if (!this.options.socket.startsWith('@')) fs.rmSync(this.options.socket, { force: true });
    const fd = listenUnixStream(this.options.socket);
    const server = net.createServer((s) => this.serve(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd }, () => resolve());
    });
    this.server = server;
  }

  async close(): Promise<void> {
    await this.die();
  }

  /** multipathd crashed: the socket goes away and every connection drops. */
  async die(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
    if (!this.options.socket.startsWith('@')) fs.rmSync(this.options.socket, { force: true });
  }

  async restart(): Promise<void> {
    await this.die();
    await this.listen();
  }

  /** Accept and read, but never answer (a hung multipathd). */
  stall(on: boolean): void {
    this.stalled = on;
  }

  /**
   * Changes made through the socket still happen, but the kernel's uevents for them never
   * arrive (lost, or the kernel's state and multipathd's disagree); `emitted` still has them.
   */
  silenceKernel(on: boolean): void {
    this.kernelSilent = on;
  }

  /** The next `count` requests are read, then the connection is closed unanswered (multipathd died on them). */
  hangUp(count = 1): void {
    this.hangUps = count;
  }

  setVendorProduct(vendor: string, product: string): void {
    this.topo.vendor = vendor;
    this.topo.product = product;
  }

  failPath(dev: string): Buffer[] {
    return this.topo.setPath(dev, true);
  }

  reinstatePath(dev: string): Buffer[] {
    return this.topo.setPath(dev, false);
  }

  /** The LUN behind map `name` grew (or shrank) on the array: its paths now report `sectors`. */
  setDiskSize(name: string, sectors: number): void {
    const map = this.topo.findMap(name);
    if (map) this.topo.setDiskSize(map, sectors);
  }

  /** multipath.conf now says no_path_retry `n`; multipathd applies it at the next `reconfigure`. */
  editConfig(change: { noPathRetry: NoPathRetry }): void {
    this.topo.editConfig(change.noPathRetry);
  }

  /** Uevents the latency still holds back: a test waits for none before it stops multipathd. */
  get ueventsInFlight(): number {
    return this.delayed;
  }

  /** Times `reconfigure` was received. */
  get reconfigures(): number {
    return this.topo.reconfigures;
  }

  /** The SCSI device behind path `dev` was deleted: multipathd reloads its map without it. */
  deletePath(dev: string): Buffer[] {
    return this.topo.deletePath(dev);
  }

  removeMap(name: string): Buffer[] {
    return this.topo.setPresent(name, false);
  }

  addMap(name: string): Buffer[] {
    return this.topo.setPresent(name, true);
  }

  maps(): SimMapView[] {
    return this.topo.maps
      .filter((m) => m.present)
      .map((m) => ({
        name: m.name,
        wwid: m.wwid,
        sysfs: `dm-${m.minor}`,
        devT: `254:${m.minor}`,
        activeGroup: m.activeGroup,
        nextGroup: m.nextGroup,
        features: m.queueIfNoPath ? '1 queue_if_no_path' : '0',
        sizeSectors: m.sizeSectors,
        paths: m.paths.map((p) => ({ dev: p.dev, devT: p.devT, failed: p.failed, group: p.group })),
      }));
  }

  showMapsJson(): string {
    return this.topo.showMapsJson();
  }

  // The device-mapper view, shaped like the addon's reader.
  dmListDevices(): DmDeviceInfo[] {
    return this.topo.maps.filter((m) => m.present).map((m) => ({ name: m.name, uuid: `mpath-${m.wwid}`, devT: `254:${m.minor}`, eventNr: m.eventNr }));
  }

  /** device-mapper's global event, as the addon's openDmEventWatch reports it. */
  watchEvents(onEvent: () => void): DmEventWatch {
    this.dmWatchers.add(onEvent);
    return { close: () => this.dmWatchers.delete(onEvent) };
  }

  dmTableStatus(name: string, table: boolean): DmTargetLine[] {
    const map = this.topo.maps.find((m) => m.name === name && m.present);
    if (!map) throw new NativeError(`ioctl DM_TABLE_STATUS ${name}: No such device or address`, 6, 'ENXIO', 'ioctl');
    return [{ start: 0, length: map.sizeSectors, targetType: 'multipath', params: table ? this.topo.dmTable(map) : this.topo.dmStatus(map) }];
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    this.accepted++;
    // multipathd drops a client whose command is longer than its 512-byte buffer.
    const reader = new FrameReader(512);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (d) => {
      for (const f of reader.push(d)) {
        if (f.kind !== 'frame') return void socket.destroy();
        this.requests.push(f.text);
        if (this.hangUps > 0) {
          this.hangUps--;
          return void socket.destroy();
        }
        if (this.stalled) continue;
        const reply = encodeFrame(this.answer(f.text));
        const delay = /^\s*(show|list)\b/.test(f.text) ? (this.options.latency?.readMs ?? 0) : 0;
        if (delay > 0) setTimeout(() => socket.write(reply), delay);
        else socket.write(reply);
      }
    });
  }

  private answer(command: string): string {
    const c = parseCommand(command);
    if (!c.ok) return c.reply;
    // multipathd takes "/dev/sda" for "sda", "/dev/dm-0" for "dm-0".
    const arg = c.param.replace(/^\/dev\//, '');
    const kernel = (ds: Buffer[]) => {
      for (const d of ds) {
        this.emitted.push(d);
        const deliver = this.kernelSilent ? undefined : this.options.onUevent;
        const delay = this.options.latency?.ueventMs ?? 0;
        if (deliver && delay > 0) {
          this.delayed++;
          setTimeout(() => {
            this.delayed--;
            deliver(d);
          }, delay);
        } else deliver?.(d);
      }
      return 'ok\n';
    };
    const map = this.topo.findMap(arg);
    const live = map?.present;
    switch (c.shape) {
      case 'LIST MAPS JSON':
        return this.topo.showMapsJson();
      case 'LIST MAPS':
        return columns([['name', 'sysfs', 'uuid'], ...this.maps().map((m) => [m.name, m.sysfs, m.wwid])]);
      case 'LIST CONFIG':
        return SIM_SHOW_CONFIG;
      case 'LIST STATUS':
        return this.topo.showStatus();
      case 'LIST DAEMON':
        return `pid ${process.pid} idle\n`;
      case 'FAIL PATH':
        return this.topo.findPath(arg) ? kernel(this.failPath(arg)) : 'fail\n';
      case 'REINSTATE PATH':
        return this.topo.findPath(arg) ? kernel(this.reinstatePath(arg)) : 'fail\n';
      case 'DEL MAP':
        return live ? kernel(this.removeMap(arg)) : 'fail\n';
      case 'ADD MAP':
        return live === undefined ? 'fail\n' : kernel(this.addMap(arg));
      // multipathd 0.9.4 answers "fail" for a map it does not know and for a failed dm message.
      case 'SWITCH MAP GROUP': {
        // cli_switch_group() passes the name to dm_switchgroup() unlooked-up: only a dm name works.
        const named = this.topo.maps.find((m) => m.present && m.name === arg);
        return named && this.topo.switchGroup(named, parseGroup(c.params.GROUP)) ? 'ok\n' : 'fail\n';
      }
      case 'DISABLEQ MAP':
      case 'RESTOREQ MAP':
        if (!live) return 'fail\n';
        this.topo.setQueueing(map!, c.shape === 'RESTOREQ MAP');
        return 'ok\n';
      case 'RESIZE MAP':
        return live ? kernel(this.topo.resize(map!)) : 'fail\n';
      case 'RECONFIGURE':
        return kernel(this.topo.reconfigure());
    }
  }
}

/** multipathd reads the group with atoi(): digits, or 0 (which dm-mpath refuses). */
function parseGroup(word: string | undefined): number {
  return /^\d{1,9}$/.test(word ?? '') ? Number(word) : 0;
}

/** multipathd's plain listings: columns as wide as their widest cell, one space apart. */
function columns(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join(' ').trimEnd() + '\n').join('');
}
