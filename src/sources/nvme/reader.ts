// Native NVMe multipath state from a sysfs tree (the real /sys, or a simulated one in tests),
// laid out as Linux 6.1 makes it:
//   class/nvme-subsystem/nvme-subsysN -> devices/virtual/nvme-subsystem/nvme-subsysN, holding
//     the subsystem's attributes, its multipath heads nvmeNnY (block devices, children of the
//     subsystem) and a link nvmeC to each of its controllers (core.c nvme_init_subsystem);
//   class/nvme/nvmeC -> the controller's device (devices/virtual/nvme-fabrics/ctl/nvmeC for
//     fabrics, under the PCI function for pcie), holding its attributes and its paths
//     nvmeNcCnY: hidden block devices, children of the controller (core.c nvme_alloc_ns), whose
//     name ties them to their head nvmeNnY (multipath.c nvme_mpath_set_disk_name). Being
//     hidden, a path has no dev_t (no dev attribute) and its add and remove raise no uevent
//     (seen on 6.1 in test/vm/scenarios/nvme-kernel.sh): the controller's uevents stand for it.
// Names are taken from directory listings only when they match these patterns, so they are
// safe to print and to join into paths; every value is validated by AttributeReader.
import * as fs from 'node:fs';
import { AttributeReader, DEV_T, TRANSPORT, UUID_TEXT, readAttribute } from './attributes';
import {
  ANA_STATES,
  CONTROLLER_STATES,
  IO_POLICIES,
  type NvmeController,
  type NvmeNamespace,
  type NvmePath,
  type NvmeReading,
  type NvmeSubsystem,
} from '../../model/nvme-reading';

const SUBSYSTEM = /^nvme-subsys(\d{1,9})$/;
const CONTROLLER = /^nvme(\d{1,9})$/;
const HEAD = /^nvme(\d{1,9})n(\d{1,9})$/;
const PATH = /^nvme(\d{1,9})c(\d{1,9})n(\d{1,9})$/;
const U32 = 0xffffffff;
// The NVMe base specification bounds an NQN at 223 bytes; model, serial and firmware revision
// are fixed-width identify fields (40, 20 and 8 bytes).
const NQN_MAX = 223;
// eui.<16 hex>, uuid.<uuid>, or nvme.<vid>-<serial hex>-<model hex>-<nsid> (core.c wwid_show).
const WWID = /^[\x21-\x7e]{1,256}$/;

/** Every subsystem, its namespaces and their paths, under `root` (default /sys). */
export function readNvme(root = '/sys'): NvmeReading {
  const problems: string[] = [];
  const multipath = readAttribute(`${root}/module/nvme_core/parameters/multipath`, 1);
  const subsystems: NvmeSubsystem[] = [];
  for (const name of listMatching(`${root}/class/nvme-subsystem`, SUBSYSTEM)) {
    const subsystem = readSubsystem(root, name, problems);
    if (subsystem) subsystems.push(subsystem);
  }
  return {
    nativeMultipath: multipath.ok && multipath.value !== undefined ? multipath.value === 'Y' : undefined,
    subsystems,
    problems,
  };
}

function readSubsystem(root: string, name: string, problems: string[]): NvmeSubsystem | undefined {
  const dir = `${root}/class/nvme-subsystem/${name}`;
  const entries = list(dir);
  if (!entries) return undefined; // gone since the listing
  const a = new AttributeReader(problems, name, dir);
  const controllers: NvmeController[] = [];
  const pathsByHead = new Map<string, { path: NvmePath; dir: string }[]>();
  for (const ctrl of sortByNumbers(entries.filter((e) => CONTROLLER.test(e)))) {
    const ctrlDir = `${root}/class/nvme/${ctrl}`;
    const ctrlEntries = list(ctrlDir);
    if (!ctrlEntries) continue;
    controllers.push(readController(ctrl, ctrlDir, problems));
    for (const p of sortByNumbers(ctrlEntries.filter((e) => PATH.test(e)))) {
      const [, subsys, , head] = PATH.exec(p)!;
      const headName = `nvme${subsys}n${head}`;
      const pathDir = `${ctrlDir}/${p}`;
      const pa = new AttributeReader(problems, `${ctrl}/${p}`, pathDir);
      const path: NvmePath = {
        name: p,
        controller: ctrl,
        anaState: pa.oneOf('ana_state', ANA_STATES),
        anaGroup: pa.uint('ana_grpid', U32),
      };
      pathsByHead.set(headName, [...(pathsByHead.get(headName) ?? []), { path, dir: pathDir }]);
    }
  }
  const heads = new Set(entries.filter((e) => HEAD.test(e)));
  const namespaces = sortByNumbers([...new Set([...heads, ...pathsByHead.keys()])]).map((head) => {
    const paths = pathsByHead.get(head) ?? [];
    const present = heads.has(head);
    // A path carries the same identifiers as its head (core.c dev_to_ns_head).
    const idDir = present ? `${dir}/${head}` : paths[0].dir;
    return readNamespace(head, present, new AttributeReader(problems, present ? `${name}/${head}` : `${paths[0].path.controller}/${paths[0].path.name}`, idDir), paths.map((p) => p.path));
  });
  return {
    name,
    nqn: a.text('subsysnqn', NQN_MAX),
    model: a.text('model', 40),
    serial: a.text('serial', 20),
    firmwareRev: a.text('firmware_rev', 8),
    ioPolicy: a.oneOf('iopolicy', IO_POLICIES),
    namespaces,
    controllers,
  };
}

function readNamespace(name: string, headPresent: boolean, a: AttributeReader, paths: NvmePath[]): NvmeNamespace {
  return {
    name,
    headPresent,
    nsid: a.uint('nsid', U32),
    wwid: a.matching('wwid', 256, WWID),
    nguid: a.matching('nguid', 36, UUID_TEXT),
    uuid: a.matching('uuid', 36, UUID_TEXT),
    sizeSectors: headPresent ? a.uint('size', Number.MAX_SAFE_INTEGER) : undefined,
    devT: headPresent ? a.matching('dev', 16, DEV_T) : '',
    paths,
  };
}

function readController(name: string, dir: string, problems: string[]): NvmeController {
  const a = new AttributeReader(problems, name, dir);
  return {
    name,
    state: a.oneOf('state', CONTROLLER_STATES),
    transport: a.matching('transport', 16, TRANSPORT),
    address: a.text('address', 256),
    cntlid: a.uint('cntlid', 0xffff),
    subsysnqn: a.text('subsysnqn', NQN_MAX),
  };
}

/**
 * The paths under one controller now (nvmeXcYnZ), in order; undefined when it is gone. The
 * kernel adds a controller's paths when it scans its namespaces, after the controller's own
 * uevents, and a path raises none: only a listing shows that the scan is done.
 */
export function controllerPaths(root: string, controller: string): string[] | undefined {
  const entries = list(`${root}/class/nvme/${controller}`);
  return entries && sortByNumbers(entries.filter((e) => PATH.test(e)));
}

function list(dir: string): string[] | undefined {
  try {
    return fs.readdirSync(dir);
  } catch {
    return undefined;
  }
}

function listMatching(dir: string, pattern: RegExp): string[] {
  return sortByNumbers((list(dir) ?? []).filter((e) => pattern.test(e)));
}

/** nvme2 before nvme10: by the numbers in the name, in order. */
function sortByNumbers(names: string[]): string[] {
  const key = (s: string) => (s.match(/\d+/g) ?? []).map(Number);
  return names
    .map((n) => ({ n, k: key(n) }))
    .sort((x, y) => {
      for (let i = 0; i < Math.max(x.k.length, y.k.length); i++) {
        const d = (x.k[i] ?? -1) - (y.k[i] ?? -1);
        if (d !== 0) return d;
      }
      return 0;
    })
    .map((e) => e.n);
}
