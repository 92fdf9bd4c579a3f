// Native NVMe multipath as maps: each namespace (its head nvmeXnY) is a map keyed by its WWID,
// each path through a controller (nvmeXcYnZ) a path keyed by that name (hidden devices have no
// dev_t), and the ANA groups its paths are in are its groups. A path carries I/O when its
// controller is live and its ANA state lets I/O through (the kernel's own rule, multipath.c
// __nvme_find_path: optimized first, non-optimized when no optimized path is left).
import type { NvmeController, NvmeNamespace, NvmePath, NvmeReading, NvmeSubsystem } from './nvme-reading';
import { sameInputs, type Built } from './built-from';
import type { RepairWarn } from './clean-values';
import type { GroupDmState, GroupState, MapState, PathState, Topology } from './topology';

const USABLE_ANA = new Set(['optimized', 'non-optimized']);

/** Whether the kernel sends I/O down this path (a controller without ANA reports no ANA state). */
export function nvmePathUsable(path: Pick<NvmePath, 'anaState' | 'anaGroup'>, controller: Pick<NvmeController, 'state'> | undefined): boolean {
  if (controller?.state !== 'live') return false;
  return path.anaGroup === undefined || USABLE_ANA.has(path.anaState);
}

/** The group number of a path: its ANA group id, or 1 on a controller without ANA (one group). */
const groupOf = (p: NvmePath): number => p.anaGroup ?? 1;

/**
 * Every namespace that has a WWID, as a map; a WWID seen twice is published once (`warn`). A
 * namespace whose reading, controllers and subsystem values are the very ones its map was
 * built from keeps that map (the source replaces only what a poll found changed).
 */
export function buildNvmeMaps(reading: NvmeReading, previous: Topology, warn: RepairWarn): Built[] {
  const out = new Map<string, Built>();
  for (const subsystem of reading.subsystems) {
    const controllers = new Map(subsystem.controllers.map((c) => [c.name, c]));
    for (const ns of subsystem.namespaces) {
      if (!ns.wwid) {
        warn(`NVMe namespace ${ns.name} of ${subsystem.name} has no readable WWID: not published`);
        continue;
      }
      const taken = out.get(ns.wwid);
      if (taken) {
        warn(`NVMe namespaces ${taken.map.name} and ${ns.name} report WWID ${ns.wwid}: publishing ${taken.map.name} only`);
        continue;
      }
      const from = [ns, subsystem.controllers, subsystem.nqn, subsystem.model, subsystem.firmwareRev, subsystem.ioPolicy];
      const prev = previous.get(ns.wwid);
      out.set(ns.wwid, prev && sameInputs(prev, from) ? { map: prev } : { map: namespaceMap(subsystem, ns, controllers, prev), from });
    }
  }
  return [...out.values()];
}

function namespaceMap(subsystem: NvmeSubsystem, ns: NvmeNamespace, controllers: Map<string, NvmeController>, prev: MapState | undefined): MapState {
  const paths = new Map<string, PathState>();
  for (const p of ns.paths) {
    const c = controllers.get(p.controller);
    paths.set(p.name, {
      devT: '',
      device: p.name,
      dmState: nvmePathUsable(p, c) ? 'active' : 'failed',
      deviceState: '',
      checkerState: '',
      checker: '',
      priority: 0,
      hostWwnn: '',
      hostWwpn: '',
      targetWwnn: '',
      targetWwpn: '',
      hostAdapter: '',
      lun: '',
      marginal: false,
      failCount: 0,
      group: groupOf(p),
      anaState: p.anaGroup === undefined ? '' : p.anaState,
      controller: p.controller,
      controllerState: c?.state ?? 'unknown',
      transport: c?.transport ?? '',
      address: c?.address ?? '',
    });
  }
  const numbers = [...new Set(ns.paths.map(groupOf))].sort((a, b) => a - b);
  const groups = numbers.map((number): GroupState => {
    const members = [...paths.values()].filter((p) => p.group === number);
    return { number, selector: '', priority: 0, dmState: groupState(members), marginal: false, paths: members.map((p) => p.device) };
  });
  return {
    kind: 'nvme',
    wwid: ns.wwid,
    name: ns.name,
    // Until the kernel adds the head (the first usable path), there is no block device.
    sysfsName: ns.headPresent ? ns.name : '',
    devT: ns.devT,
    size: ns.sizeSectors !== undefined ? BigInt(ns.sizeSectors) * 512n : (prev?.size ?? 0n),
    vendor: '',
    product: subsystem.model,
    revision: subsystem.firmwareRev,
    features: '',
    hardwareHandler: '',
    writeProtect: '',
    dmState: '',
    failback: '',
    queueing: '',
    pathFaults: 0,
    switchGroup: 0,
    mapLoads: 0,
    queueTimeouts: 0,
    subsystemNqn: subsystem.nqn,
    ioPolicy: subsystem.ioPolicy,
    groups,
    nextGroup: 0,
    paths,
    dmSeqnum: undefined,
  };
}

/**
 * An ANA group as a path group: active while it has an optimized path the kernel uses (that is
 * where I/O goes), enabled with only non-optimized ones (used when no optimized path is left),
 * disabled with none usable.
 */
function groupState(members: PathState[]): GroupDmState {
  const usable = members.filter((p) => p.dmState === 'active');
  if (usable.some((p) => p.anaState === 'optimized' || p.anaState === '')) return 'active';
  return usable.length > 0 ? 'enabled' : 'disabled';
}
