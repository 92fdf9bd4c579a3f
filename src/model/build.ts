// Merge the three sources into one map snapshot. multipathd gives the rich view (names,
// vendor, checker state); the kernel's dm status is the truth for path and group state and
// is all we have when multipathd is down; the previous snapshot fills what neither says now.
import { cleanText } from './value-limits';
import { cleanMap, type RepairWarn } from './clean-values';
import { buildNvmeMaps } from './build-nvme';
import { builtFrom, madeFrom, type Built } from './built-from';
import { pathKey, type GroupDmState, type GroupState, type MapState, type PathState, type Topology } from './topology';
import type { DmMapView, MpdGroup, MpdMap, MpdPath, SourceReadings } from './readings';

function wwidFromDmUuid(uuid: string): string | undefined {
  return uuid.startsWith('mpath-') ? uuid.slice('mpath-'.length) : undefined;
}

/**
 * The topology one reading describes. Every value is made to fit (clean-values.ts), and each object
 * gets exactly one owner: a WWID listed twice, or a path device (or dev_t) named by two maps,
 * is published once and reported through `warn`. A WWID goes to the map already published under
 * it (a newcomer repeating it is ignored), else to the first map listed; a path to the first map.
 */
export function buildTopology(readings: SourceReadings, previous: Topology, warn: RepairWarn = () => undefined): Map<string, MapState> {
  if (readings.multipathd === undefined && readings.dm === undefined && readings.nvme === undefined) {
    const same = new Map(previous);
    if (unshared.has(previous)) unshared.add(same);
    return same;
  }
  // A source not read this time leaves its kind of map as it was.
  const previousOf = (kind: MapState['kind']) => {
    const kept: Built[] = [];
    for (const map of previous.values()) if (map.kind === kind) kept.push({ map });
    return kept;
  };
  const dmRead = readings.multipathd !== undefined || readings.dm !== undefined;
  const dm = dmRead ? buildDmMaps(readings, previous, warn) : previousOf('dm-multipath');
  const nvme = readings.nvme ? buildNvmeMaps(readings.nvme, previous, warn) : previousOf('nvme');
  const maps = [...dm, ...nvme];
  return asBefore(maps, previous, warn) ?? owned(maps, warn);
}

/** Topologies in which no object had two claimants: each map's paths are its own. */
const unshared = new WeakSet<Topology>();

/**
 * `maps` each given its objects in order, the first claimant of a WWID or a path keeping it.
 * A map kept as it was is clean already; one built now is made to fit.
 */
function owned(maps: Built[], warn: RepairWarn): Map<string, MapState> {
  const next = new Map<string, MapState>();
  const owners = new Map<string, string>();
  let shared = false;
  const conflict: RepairWarn = (m) => {
    shared = true;
    warn(m);
  };
  for (const { map, from } of maps) {
    if (next.has(map.wwid)) {
      conflict(`WWID ${map.wwid} is both dm-multipath map ${next.get(map.wwid)!.name} and NVMe namespace ${map.name}: publishing ${next.get(map.wwid)!.name}`);
      continue;
    }
    const kept = from === undefined ? map : madeFrom(claimPaths(cleanMap(map, warn), owners, conflict), from);
    if (from === undefined) claimPaths(kept, owners, conflict);
    next.set(map.wwid, kept);
  }
  if (!shared) unshared.add(next);
  return next;
}

/**
 * The common read, where a few maps' states moved: the same maps as `previous`, each built one
 * with the paths it had. When no object had two claimants before, none has now, and who owns
 * what is not worked out again over every path (8,000 claims at 1,000 x 4, most of such a
 * read's cost). undefined: anything else (a map came or went, a path was renamed or moved).
 */
function asBefore(maps: Built[], previous: Topology, warn: RepairWarn): Map<string, MapState> | undefined {
  if (!unshared.has(previous) || maps.length !== previous.size) return undefined;
  const next = new Map<string, MapState>();
  // What cleaning repaired is reported once, by whichever of the two ways builds the topology.
  const repaired: string[] = [];
  for (const { map, from } of maps) {
    const prev = previous.get(map.wwid);
    if (!prev || next.has(map.wwid)) return undefined;
    if (from === undefined) {
      next.set(map.wwid, map);
      continue;
    }
    const clean = cleanMap(map, (m) => repaired.push(m));
    if (!sameClaims(pathClaims(clean), pathClaims(prev))) return undefined;
    next.set(map.wwid, madeFrom(clean, from));
  }
  for (const m of repaired) warn(m);
  unshared.add(next);
  return next;
}

/**
 * The dm-multipath maps that multipathd's and device-mapper's readings describe. A map whose
 * device-mapper view is the one it was built from, read without multipathd or with the same
 * multipathd entry, is kept as it was: a read of the few maps whose kernel state moved leaves
 * the other views as they were, and costs those maps nothing.
 */
function buildDmMaps(readings: SourceReadings, previous: Topology, warn: RepairWarn): Built[] {
  const mpdByWwid = new Map<string, MpdMap>();
  for (const m of readings.multipathd ?? []) if (m.wwid) keepOne(mpdByWwid, cleanText(m.wwid), m, previous, 'multipathd', warn);
  const dmByWwid = new Map<string, DmMapView>();
  for (const d of readings.dm ?? []) {
    const raw = wwidFromDmUuid(d.uuid);
    if (raw) keepOne(dmByWwid, cleanText(raw), d, previous, 'device-mapper', warn);
  }

  let wwids: Iterable<string>;
  if (readings.dm !== undefined) {
    // The kernel decides which maps exist; multipathd may list a map a moment before or after.
    wwids = new Set([...dmByWwid.keys(), ...(readings.multipathd ? mpdByWwid.keys() : [])]);
  } else {
    wwids = mpdByWwid.keys();
  }

  const maps: Built[] = [];
  for (const wwid of wwids) {
    const [mpd, dm, prev] = [mpdByWwid.get(wwid), dmByWwid.get(wwid), previous.get(wwid)];
    const was = prev && builtFrom(prev);
    if (prev && dm && was?.[1] === dm && (readings.multipathd === undefined || was[0] === mpd)) {
      maps.push({ map: prev });
      continue;
    }
    const map = buildMap(wwid, mpd, dm, prev);
    if (map) maps.push({ map, from: [mpd, dm] });
  }
  return maps;
}

/** Record `m` under `wwid` unless another map holds it; the map published under it last time keeps it. */
function keepOne<M extends { name: string }>(byWwid: Map<string, M>, wwid: string, m: M, previous: Topology, source: string, warn: RepairWarn): void {
  const first = byWwid.get(wwid);
  if (!first) {
    byWwid.set(wwid, m);
    return;
  }
  const [kept, ignored] = previous.get(wwid)?.name === m.name ? [m, first] : [first, m];
  warn(`${source} lists WWID ${wwid} twice: publishing map ${kept.name}, ignoring map ${ignored.name}`);
  byWwid.set(wwid, kept);
}

/**
 * Drop each repeated path group, and each path whose object (its device name, or its dev_t without one) or whose dev_t
 * another path already claimed: one object, one owner. `owners` maps a claim to its map.
 */
function claimPaths(map: MapState, owners: Map<string, string>, warn: RepairWarn): MapState {
  const dropped = new Set<string>();
  const all = pathClaims(map);
  let i = 0;
  for (const p of map.paths.values()) {
    const claims = all[i++];
    let taken: string | undefined;
    for (const c of claims) if (taken === undefined && owners.has(c)) taken = c;
    if (taken) {
      dropped.add(pathKey(p));
      warn(`${taken} is listed by map ${owners.get(taken)} and by map ${map.name}: published under ${owners.get(taken)} only`);
      continue;
    }
    for (const c of claims) owners.set(c, map.name);
  }
  // Group objects are named by number: multipathd's list could repeat one.
  const numbers = new Set<number>();
  const unique = map.groups.filter((g) => {
    if (numbers.has(g.number)) {
      warn(`map ${map.name} lists path group ${g.number} twice: publishing the first`);
      return false;
    }
    numbers.add(g.number);
    return true;
  });
  if (dropped.size === 0 && unique.length === map.groups.length) return map;
  const paths = new Map([...map.paths].filter(([key]) => !dropped.has(key)));
  const groups = unique.map((g) => (g.paths.some((k) => dropped.has(k)) ? { ...g, paths: g.paths.filter((k) => !dropped.has(k)) } : g));
  return { ...map, paths, groups };
}

/** Each path's claims, by map snapshot: a map kept as it was makes none again at every read (4,000 at 1,000 x 4). */
const claimsOf = new WeakMap<MapState, readonly (readonly string[])[]>();

/** What each of `map`'s paths claims, in order: its object (its device name, or its dev_t without one) and its dev_t. */
function pathClaims(map: MapState): readonly (readonly string[])[] {
  let claims = claimsOf.get(map);
  if (!claims) {
    claims = [...map.paths.values()].map((p) => [`object ${p.device || p.devT}`, ...(p.devT ? [`dev_t ${p.devT}`] : [])]);
    claimsOf.set(map, claims);
  }
  return claims;
}

function sameClaims(a: readonly (readonly string[])[], b: readonly (readonly string[])[]): boolean {
  return a.length === b.length && a.every((claims, i) => claims.length === b[i].length && claims.every((c, j) => c === b[i][j]));
}

const GROUP_STATE: Record<string, GroupDmState> = { active: 'active', enabled: 'enabled', disabled: 'disabled' };

function buildMap(wwid: string, mpd: MpdMap | undefined, dm: DmMapView | undefined, prev: MapState | undefined): MapState | undefined {
  if (!mpd && !dm) return undefined;
  const mpdPaths = new Map<string, MpdPath>();
  for (const g of mpd?.groups ?? []) for (const p of g.paths) mpdPaths.set(p.devT, p);

  const groups: GroupState[] = [];
  const paths = new Map<string, PathState>();
  const addPath = (devT: string, group: number, dmActive: boolean | undefined, failCount: number | undefined) => {
    const rich = mpdPaths.get(devT);
    const old = prev?.paths.get(devT);
    paths.set(devT, {
      devT,
      device: rich?.dev || old?.device || dm?.resolveName?.(devT) || '',
      dmState: dmActive !== undefined ? (dmActive ? 'active' : 'failed') : rich ? pathDmState(rich.dmState, old) : (old?.dmState ?? 'active'),
      deviceState: rich?.devState ?? old?.deviceState ?? '',
      checkerState: rich?.checkerState ?? old?.checkerState ?? '',
      checker: rich?.checker ?? old?.checker ?? '',
      priority: rich?.priority ?? old?.priority ?? 0,
      hostWwnn: rich?.hostWwnn ?? old?.hostWwnn ?? '',
      hostWwpn: rich?.hostWwpn ?? old?.hostWwpn ?? '',
      targetWwnn: rich?.targetWwnn ?? old?.targetWwnn ?? '',
      targetWwpn: rich?.targetWwpn ?? old?.targetWwpn ?? '',
      hostAdapter: rich?.hostAdapter ?? old?.hostAdapter ?? '',
      lun: rich?.lun ?? old?.lun ?? '',
      marginal: rich?.marginal ?? old?.marginal ?? false,
      failCount: failCount ?? old?.failCount ?? 0,
      group,
      anaState: '',
      controller: '',
      controllerState: '',
      transport: '',
      address: '',
    });
  };

  if (dm) {
    dm.table.groups.forEach((tg, i) => {
      const number = i + 1;
      const sg = dm.status.groups[i];
      const richGroup = findGroup(mpd?.groups, number) ?? prev?.groups[i];
      for (const [j, tp] of tg.paths.entries()) {
        const sp = sg?.paths[j];
        addPath(tp.devT, number, sp?.active, sp?.failCount);
      }
      groups.push({
        number,
        selector: tg.selector,
        priority: richGroup?.priority ?? 0,
        dmState: sg?.state ?? 'enabled',
        marginal: richGroup?.marginal ?? false,
        paths: tg.paths.map((p) => p.devT),
      });
    });
  } else if (mpd) {
    for (const g of mpd.groups) {
      for (const p of g.paths) addPath(p.devT, g.number, undefined, undefined);
      groups.push({
        number: g.number,
        selector: g.selector,
        priority: g.priority,
        dmState: GROUP_STATE[g.dmState] ?? 'enabled',
        marginal: g.marginal,
        paths: g.paths.map((p) => p.devT),
      });
    }
  }

  const sysfsName = mpd?.sysfs || prev?.sysfsName || (dm ? `dm-${dm.devT.split(':')[1]}` : '');
  return {
    kind: 'dm-multipath',
    wwid,
    name: mpd?.name || dm?.name || prev?.name || wwid,
    sysfsName,
    devT: dm?.devT || prev?.devT || '',
    size: dm ? BigInt(dm.sizeSectors) * 512n : (prev?.size ?? 0n),
    vendor: mpd?.vendor ?? prev?.vendor ?? '',
    product: mpd?.product ?? prev?.product ?? '',
    revision: mpd?.revision ?? prev?.revision ?? '',
    features: dm?.table.features ?? mpd?.features ?? prev?.features ?? '',
    hardwareHandler: dm?.table.hardwareHandler ?? mpd?.hwhandler ?? prev?.hardwareHandler ?? '',
    writeProtect: mpd?.writeProt ?? prev?.writeProtect ?? '',
    dmState: mpd?.dmState ?? prev?.dmState ?? (dm ? 'active' : ''),
    failback: mpd?.failback ?? prev?.failback ?? '',
    queueing: mpd?.queueing ?? prev?.queueing ?? '',
    pathFaults: mpd?.pathFaults ?? prev?.pathFaults ?? 0,
    switchGroup: mpd?.switchGroup ?? prev?.switchGroup ?? 0,
    mapLoads: mpd?.mapLoads ?? prev?.mapLoads ?? 0,
    queueTimeouts: mpd?.qTimeouts ?? prev?.queueTimeouts ?? 0,
    subsystemNqn: '',
    ioPolicy: '',
    groups,
    nextGroup: dm ? dm.status.nextGroup : 0,
    paths,
    // DM_SEQNUM counts per dm device: a map re-created under another minor starts again at 1.
    dmSeqnum: dm && prev && prev.devT !== dm.devT ? undefined : prev?.dmSeqnum,
  };
}

function findGroup(groups: readonly MpdGroup[] | undefined, number: number): MpdGroup | undefined {
  return groups?.find((g) => g.number === number);
}

/** multipathd says 'undef' while it has not looked; keep what we knew then. */
function pathDmState(s: string, old: PathState | undefined): PathState['dmState'] {
  if (s === 'active') return 'active';
  if (s === 'failed') return 'failed';
  return old?.dmState ?? 'active';
}
