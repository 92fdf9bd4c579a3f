// NVMe subsystems as a sysfs tree in a directory of their own, laid out as Linux 6.1 lays out
// /sys (see src/nvme/reader.ts), so tests, the demo and the benchmarks can hand the NVMe
// reader a root with no kernel. Each subsystem is reached through `ports` target ports, one
// host controller per port; namespace i is in ANA group (i - 1) % anaGroups + 1, and a port
// reports one state per group, as an NVMe target does (nvmet: ports/N/ana_groups/G/ana_state).
// Every change writes what the kernel would write and nothing else; the uevents the kernel
// sends for controllers coming, going and reconnecting are built by controllerUevent().
// As on the kernel, paths (hidden block devices) have no dev attribute and a subsystem's
// model is blank-padded (test/fixtures/kernel-6.1/nvme-sysfs.txt is a real tree).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface NvmeSimOptions {
  subsystems?: number;
  namespaces?: number;
  ports?: number;
  anaGroups?: number;
  /** Where the tree's directory is made (default the OS temporary directory). */
  parent?: string;
}

interface SimController {
  name: string;
  subsystem: number;
  port: number;
}

const SECTORS = 2 * 1024 * 1024; // 1 GiB
// Linux 6.1 prints the identify field whole, blank-padded to its 40 bytes.
const MODEL = 'Linux'.padEnd(40);
const DEFAULTS = { subsystems: 1, namespaces: 2, ports: 2, anaGroups: 2 };

export class NvmeSysfsSim {
  readonly root: string;
  private readonly opts: Required<Omit<NvmeSimOptions, 'parent'>>;
  private readonly controllers = new Map<string, SimController>();
  /** [port][group] -> ANA state that port reports for that group. */
  private readonly portAna: string[][];
  private nextController = 0;
  private nextMinor = 0;
  private seqnum = 0;

  constructor(options: NvmeSimOptions = {}) {
    this.opts = { ...DEFAULTS, ...options };
    this.root = fs.mkdtempSync(path.join(options.parent ?? os.tmpdir(), 'nvme-sysfs-'));
    // Group g is optimized through port (g - 1) % ports and non-optimized through the others.
    this.portAna = Array.from({ length: this.opts.ports }, (_, port) =>
      Array.from({ length: this.opts.anaGroups + 1 }, (_, g) => ((g - 1) % this.opts.ports === port ? 'optimized' : 'non-optimized')),
    );
    this.write('module/nvme_core/parameters/multipath', 'Y');
    for (let s = 0; s < this.opts.subsystems; s++) {
      for (let port = 0; port < this.opts.ports; port++) this.addController(s, port);
    }
  }

  nqn(subsystem: number): string {
    return `nqn.2014-08.org.nvmexpress:sim-subsystem-${subsystem}`;
  }

  /** Controller names, nvme0 first. */
  controllerNames(): string[] {
    return [...this.controllers.keys()];
  }

  /** The port reports `state` for ANA group `group` to every controller connected through it. */
  setPortAnaState(port: number, group: number, state: string): void {
    this.portAna[port][group] = state;
    for (const c of this.controllers.values()) if (c.port === port) this.writeAnaStates(c, group);
  }

  /** One controller's paths in `group` (all groups when omitted) get `state`, the port's others not. */
  setControllerAnaState(controller: string, state: string, group?: number): void {
    const c = this.controller(controller);
    for (let ns = 1; ns <= this.opts.namespaces; ns++) {
      if (group === undefined || this.group(ns) === group) this.write(`${this.pathDir(c, ns)}/ana_state`, state);
    }
  }

  /** The controller's state attribute, e.g. `connecting` while the host reconnects. */
  setControllerState(controller: string, state: string): void {
    this.write(`${this.controllerDir(this.controller(controller))}/state`, state);
  }

  /** Connects the subsystem through `port` again: a new controller instance with a path to every namespace. */
  addController(subsystem: number, port: number): string {
    if (![...this.controllers.values()].some((o) => o.subsystem === subsystem)) this.addSubsystem(subsystem);
    const c: SimController = { name: `nvme${this.nextController++}`, subsystem, port };
    this.controllers.set(c.name, c);
    const dir = this.controllerDir(c);
    this.write(`${dir}/state`, 'live');
    this.write(`${dir}/transport`, 'tcp');
    this.write(`${dir}/address`, `traddr=127.0.0.1,trsvcid=${4420 + port},src_addr=127.0.0.1`);
    this.write(`${dir}/cntlid`, String(port + 1));
    this.write(`${dir}/subsysnqn`, this.nqn(subsystem));
    this.write(`${dir}/model`, MODEL);
    this.link(`class/nvme/${c.name}`, dir);
    this.link(`${this.subsystemDir(subsystem)}/${c.name}`, dir);
    for (let ns = 1; ns <= this.opts.namespaces; ns++) {
      const head = `${this.subsystemDir(subsystem)}/${this.headName(subsystem, ns)}`;
      if (!fs.existsSync(path.join(this.root, head))) {
        this.writeIds(head, subsystem, ns);
        this.write(`${head}/dev`, `259:${this.nextMinor++}`);
        this.link(`block/${this.headName(subsystem, ns)}`, head);
      }
      const p = this.pathDir(c, ns);
      this.writeIds(p, subsystem, ns);
      this.write(`${p}/ana_grpid`, String(this.group(ns)));
      this.write(`${p}/ana_state`, this.portAna[port][this.group(ns)]);
    }
    return c.name;
  }

  /**
   * The controller is deleted (nvme disconnect, or ctrl_loss_tmo ran out): its paths go; with
   * the subsystem's last controller go its heads and the subsystem itself.
   */
  removeController(controller: string): void {
    const c = this.controller(controller);
    this.controllers.delete(controller);
    this.remove(`class/nvme/${c.name}`);
    this.remove(`${this.subsystemDir(c.subsystem)}/${c.name}`);
    this.remove(this.controllerDir(c));
    const left = [...this.controllers.values()].some((o) => o.subsystem === c.subsystem);
    if (left) return;
    for (let ns = 1; ns <= this.opts.namespaces; ns++) this.remove(`block/${this.headName(c.subsystem, ns)}`);
    this.remove(`class/nvme-subsystem/nvme-subsys${c.subsystem}`);
    this.remove(this.subsystemDir(c.subsystem));
  }

  /**
   * The uevent the kernel sends for controller `name` (class nvme): add and remove, and the
   * change carrying NVME_EVENT=connected once a reconnect brought it back live.
   */
  controllerUevent(action: 'add' | 'remove' | 'change', name: string): Buffer {
    const devpath = `/devices/virtual/nvme-fabrics/ctl/${name}`;
    const vars: [string, string][] = [
      ['ACTION', action],
      ['DEVPATH', devpath],
      ['SUBSYSTEM', 'nvme'],
      ...(action === 'change' ? [['NVME_EVENT', 'connected'] as [string, string]] : []),
      ['NVME_TRTYPE', 'tcp'],
      ['MAJOR', '242'],
      ['MINOR', name.slice(4)],
      ['DEVNAME', name],
      ['SEQNUM', String(++this.seqnum)],
    ];
    return Buffer.from(`${action}@${devpath}\0${vars.map(([k, v]) => `${k}=${v}\0`).join('')}`, 'latin1');
  }

  /** Deletes the whole tree. */
  destroy(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  private addSubsystem(s: number): void {
    const dir = this.subsystemDir(s);
    this.write(`${dir}/subsysnqn`, this.nqn(s));
    this.write(`${dir}/model`, MODEL);
    this.write(`${dir}/serial`, `sim${s.toString(16).padStart(13, '0')}`);
    this.write(`${dir}/firmware_rev`, '6.1.0');
    this.write(`${dir}/iopolicy`, 'numa');
    this.write(`${dir}/subsystype`, 'nvm');
    this.link(`class/nvme-subsystem/nvme-subsys${s}`, dir);
  }

  private writeAnaStates(c: SimController, group: number): void {
    for (let ns = 1; ns <= this.opts.namespaces; ns++) {
      if (this.group(ns) === group) this.write(`${this.pathDir(c, ns)}/ana_state`, this.portAna[c.port][group]);
    }
  }

  private writeIds(dir: string, subsystem: number, ns: number): void {
    const uuid = `${subsystem.toString(16).padStart(8, '0')}-0000-4000-8000-${ns.toString(16).padStart(12, '0')}`;
    this.write(`${dir}/nsid`, String(ns));
    this.write(`${dir}/wwid`, `uuid.${uuid}`);
    this.write(`${dir}/uuid`, uuid);
    this.write(`${dir}/nguid`, uuid);
    this.write(`${dir}/size`, String(SECTORS));
  }

  private group(ns: number): number {
    return ((ns - 1) % this.opts.anaGroups) + 1;
  }

  private controller(name: string): SimController {
    const c = this.controllers.get(name);
    if (!c) throw new Error(`no controller ${name}`);
    return c;
  }

  private subsystemDir(s: number): string {
    return `devices/virtual/nvme-subsystem/nvme-subsys${s}`;
  }

  private headName(s: number, ns: number): string {
    return `nvme${s}n${ns}`;
  }

  private controllerDir(c: SimController): string {
    return `devices/virtual/nvme-fabrics/ctl/${c.name}`;
  }

  private pathDir(c: SimController, ns: number): string {
    return `${this.controllerDir(c)}/nvme${c.subsystem}c${c.name.slice(4)}n${ns}`;
  }

  private write(rel: string, value: string): void {
    const file = path.join(this.root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${value}\n`);
  }

  private link(rel: string, targetRel: string): void {
    const at = path.join(this.root, rel);
    fs.mkdirSync(path.dirname(at), { recursive: true });
    fs.symlinkSync(path.relative(path.dirname(at), path.join(this.root, targetRel)), at);
  }

  private remove(rel: string): void {
    fs.rmSync(path.join(this.root, rel), { recursive: true, force: true });
  }
}
