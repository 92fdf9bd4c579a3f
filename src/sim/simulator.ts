// A multipathd impostor for tests, the demo and the benchmarks: multipathd's framing on a
// socket bound the way multipathd binds it (exact-length abstract name), a mutable
// topology, a device-mapper view consistent with it, and the kernel datagrams each change
// would produce. It can be told to hang or to die.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { listenUnixStream, NativeError, type DmDeviceInfo, type DmTargetLine } from '../native/addon';
import { decodeFrame, encodeFrame } from '../multipathd/framing';
import { SIM_SHOW_CONFIG } from './show-config';
import { SimTopology, type SimTopologyOptions } from './topology';

export type { SimTopologyOptions };

export interface SimMapView {
  name: string;
  wwid: string;
  sysfs: string;
  devT: string;
  paths: { dev: string; devT: string; failed: boolean }[];
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

  constructor(private readonly options: { socket: string; topology?: SimTopologyOptions | 'small'; onUevent?: (d: Buffer) => void }) {
    const t = options.topology;
    this.topo = new SimTopology(t === undefined || t === 'small' ? SMALL : t);
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
        paths: m.paths.map((p) => ({ dev: p.dev, devT: p.devT, failed: p.failed })),
      }));
  }

  showMapsJson(): string {
    return this.topo.showMapsJson();
  }

  // The device-mapper view, shaped like the addon's reader.
  dmListDevices(): DmDeviceInfo[] {
    return this.topo.maps.filter((m) => m.present).map((m) => ({ name: m.name, uuid: `mpath-${m.wwid}`, devT: `254:${m.minor}` }));
  }

  dmTableStatus(name: string, table: boolean): DmTargetLine[] {
    const map = this.topo.maps.find((m) => m.name === name && m.present);
    if (!map) throw new NativeError(`ioctl DM_TABLE_STATUS ${name}: No such device or address`, 6, 'ENXIO', 'ioctl');
    return [{ start: 0, length: this.topo.sizeSectors, targetType: 'multipath', params: table ? this.topo.dmTable(map) : this.topo.dmStatus(map) }];
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    let buf: Buffer = Buffer.alloc(0);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      for (;;) {
        const r = decodeFrame(buf, 1 << 20);
        if (r.kind === 'need-more') return;
        if (r.kind !== 'frame') return void socket.destroy();
        buf = r.rest;
        this.requests.push(r.text);
        if (this.stalled) continue;
        socket.write(encodeFrame(this.answer(r.text)));
      }
    });
  }

  private answer(command: string): string {
    const words = command.trim().split(/\s+/);
    const cmd = words.slice(0, 2).join(' ');
    const arg = words.slice(2).join(' ');
    const kernel = (ds: Buffer[]) => {
      for (const d of ds) {
        this.emitted.push(d);
        this.options.onUevent?.(d);
      }
      return 'ok\n';
    };
    switch (cmd) {
      case 'show maps':
        return arg === 'json' ? this.topo.showMapsJson() : this.maps().map((m) => `${m.name} ${m.sysfs} ${m.wwid}`).join('\n') + '\n';
      case 'show config':
        return SIM_SHOW_CONFIG;
      case 'show status': {
        const paths = this.maps().flatMap((m) => m.paths);
        const up = paths.filter((p) => !p.failed).length;
        return `path checker states:\nup                  ${up}\nfaulty              ${paths.length - up}\n\npaths: ${paths.length}\nbusy: False\n`;
      }
      case 'show version':
        return 'multipathd v0.9.4 (simulated)\n';
      case 'fail path':
        return this.topo.findPath(arg) ? kernel(this.failPath(arg)) : 'fail\n';
      case 'reinstate path':
        return this.topo.findPath(arg) ? kernel(this.reinstatePath(arg)) : 'fail\n';
      case 'del map':
        return this.topo.findMap(arg) ? kernel(this.removeMap(arg)) : 'fail\n';
      case 'add map':
        return this.topo.findMap(arg) ? kernel(this.addMap(arg)) : 'fail\n';
      default:
        return `multipathd: unknown command "${command}"\n`;
    }
  }
}
