// Kernel uevent datagrams -> the few events this service acts on. The kernel sends
// "action@devpath\0KEY=VALUE\0..." for every device in the system; only dm-N block devices
// matter here (among them dm-mpath's PATH_FAILED / PATH_REINSTATED change events), and NVMe
// subsystems, controllers and multipath heads, whose events only say "read sysfs again".
import { U32_MAX } from '../../model/value-limits';
import type { KernelEvent } from '../../model/readings';
import { fail, ok, quoteSnippet, type Result } from '../../util/result';


export type UeventParse = { kind: 'event'; event: KernelEvent } | { kind: 'ignored' } | { kind: 'malformed'; reason: string };

// The kernel's environment buffer is 2 KiB (UEVENT_BUFFER_SIZE); a datagram far larger than
// that is not a kernel uevent, and bounding it bounds everything below.
const MAX_DATAGRAM = 64 * 1024;
// udev re-broadcasts events with this binary header; only the kernel's own messages count.
const LIBUDEV_MAGIC = Buffer.from('libudev\0', 'latin1');
const MPATH_UUID_PREFIX = 'mpath-';
const DEV_T = /^\d{1,10}:\d{1,10}$/;
const DM_SYSFS = /^dm-\d{1,10}$/;
const NVME_CONTROLLER = /^nvme\d{1,9}$/;
const NVME_SUBSYSTEM = /^nvme-subsys\d{1,9}$/;
const NVME_HEAD = /^nvme\d{1,9}n\d{1,9}$/;

export function splitUevent(datagram: Buffer): Result<{ header: string; vars: Map<string, string> }> {
  if (datagram.length === 0) return fail('empty datagram');
  if (datagram.length > MAX_DATAGRAM) return fail(`datagram of ${datagram.length} bytes is larger than any uevent (${MAX_DATAGRAM})`);
  // Decoded once, then split: NUL is never part of a UTF-8 sequence, so this reads each entry
  // exactly as decoding it on its own would, at a fraction of the cost in a storm.
  const entries = datagram.toString('utf8').split('\0');
  if (entries.length === 1) return fail('no NUL after the "action@devpath" header');
  const header = entries[0];
  const at = header.indexOf('@');
  if (at <= 0 || at === header.length - 1) return fail(`header ${quoteSnippet(header)} is not "action@devpath"`);

  const vars = new Map<string, string>();
  for (let i = 1; i < entries.length; i++) {
    const entry = entries[i];
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) return fail(`entry ${quoteSnippet(entry)} is not KEY=VALUE`);
    const key = entry.slice(0, eq);
    if (vars.has(key)) return fail(`key ${key} appears twice`);
    vars.set(key, entry.slice(eq + 1));
  }
  return ok({ header, vars });
}

export function parseUevent(datagram: Buffer): UeventParse {
  if (datagram.length >= LIBUDEV_MAGIC.length && datagram.subarray(0, LIBUDEV_MAGIC.length).equals(LIBUDEV_MAGIC)) {
    return { kind: 'ignored' };
  }
  const split = splitUevent(datagram);
  if (!split.ok) return malformed(split.error);
  const { header, vars } = split.value;
  const at = header.indexOf('@');
  const headerAction = header.slice(0, at);
  const devpath = header.slice(at + 1);
  const action = vars.get('ACTION');
  if (action === undefined) return malformed('no ACTION');
  if (action !== headerAction) return malformed(`ACTION ${quoteSnippet(action)} differs from the header's ${quoteSnippet(headerAction)}`);
  const varDevpath = vars.get('DEVPATH');
  if (varDevpath !== undefined && varDevpath !== devpath) {
    return malformed(`DEVPATH ${quoteSnippet(varDevpath)} differs from the header's ${quoteSnippet(devpath)}`);
  }

  const subsystem = vars.get('SUBSYSTEM');
  const device = devpath.slice(devpath.lastIndexOf('/') + 1);
  if (subsystem === 'nvme' || subsystem === 'nvme-subsystem') return nvmeEvent(vars, action, device, subsystem === 'nvme' ? NVME_CONTROLLER : NVME_SUBSYSTEM);
  if (subsystem !== 'block') return { kind: 'ignored' };
  const sysfs = vars.get('DEVNAME') ?? device;
  if (NVME_HEAD.test(sysfs)) return nvmeEvent(vars, action, sysfs, NVME_HEAD);
  if (!DM_SYSFS.test(sysfs)) return { kind: 'ignored' };

  return vars.has('DM_ACTION') ? pathEvent(vars, sysfs) : mapEvent(vars, action, sysfs);
}

function pathEvent(vars: Map<string, string>, sysfs: string): UeventParse {
  // Only dm-mpath sends DM_ACTION today; another target's actions are none of our business.
  if (vars.get('DM_TARGET') !== 'multipath') return { kind: 'ignored' };
  const dmAction = vars.get('DM_ACTION');
  const action = dmAction === 'PATH_FAILED' ? 'failed' : dmAction === 'PATH_REINSTATED' ? 'reinstated' : undefined;
  if (!action) return { kind: 'ignored' };

  const uuid = vars.get('DM_UUID');
  if (uuid === undefined) return malformed('path event without DM_UUID');
  // A multipath table set up by hand (no mpath- uuid) is not a map multipathd or we track.
  if (!uuid.startsWith(MPATH_UUID_PREFIX) || uuid.length === MPATH_UUID_PREFIX.length) return { kind: 'ignored' };
  const mapName = vars.get('DM_NAME');
  if (mapName === undefined) return malformed('path event without DM_NAME');
  const pathDevT = vars.get('DM_PATH');
  if (pathDevT === undefined) return malformed('path event without DM_PATH');
  if (!DEV_T.test(pathDevT)) return malformed(`DM_PATH ${quoteSnippet(pathDevT)} is not major:minor`);

  const nums = readNumbers(vars, ['DM_NR_VALID_PATHS', 'DM_SEQNUM', 'SEQNUM', 'MAJOR', 'MINOR']);
  if (!nums.ok) return malformed(nums.error);
  const [validPaths, dmSeqnum, seqnum, major, minor] = nums.value;
  // dm-mpath prints both with %u; a larger value could not be published as D-Bus's u either.
  if (validPaths > U32_MAX || dmSeqnum > U32_MAX) return malformed(`DM_NR_VALID_PATHS or DM_SEQNUM is above 2^32 - 1`);
  return {
    kind: 'event',
    event: {
      kind: 'path',
      action,
      wwid: uuid.slice(MPATH_UUID_PREFIX.length),
      mapName,
      sysfs,
      mapDevT: `${major}:${minor}`,
      pathDevT,
      validPaths,
      dmSeqnum,
      seqnum,
    },
  };
}

function mapEvent(vars: Map<string, string>, action: string, sysfs: string): UeventParse {
  if (action !== 'add' && action !== 'remove' && action !== 'change') return { kind: 'ignored' };
  const nums = readNumbers(vars, ['SEQNUM', 'MAJOR', 'MINOR']);
  if (!nums.ok) return malformed(nums.error);
  const [seqnum, major, minor] = nums.value;
  const event: KernelEvent = { kind: 'map', action, sysfs, mapDevT: `${major}:${minor}`, seqnum };
  // The kernel's own add/remove carry neither; udev-processed or dm change events may.
  const name = vars.get('DM_NAME');
  if (name) event.mapName = name;
  const uuid = vars.get('DM_UUID');
  if (uuid && uuid.startsWith(MPATH_UUID_PREFIX) && uuid.length > MPATH_UUID_PREFIX.length) event.wwid = uuid.slice(MPATH_UUID_PREFIX.length);
  return { kind: 'event', event };
}

/** A subsystem, controller (NVME_EVENT=connected is a change) or head came, went or changed. */
function nvmeEvent(vars: Map<string, string>, action: string, device: string, name: RegExp): UeventParse {
  if (action !== 'add' && action !== 'remove' && action !== 'change') return { kind: 'ignored' };
  if (!name.test(device)) return { kind: 'ignored' };
  const nums = readNumbers(vars, ['SEQNUM']);
  if (!nums.ok) return malformed(nums.error);
  return { kind: 'event', event: { kind: 'nvme', action, device, seqnum: nums.value[0] } };
}

function readNumbers(vars: Map<string, string>, keys: string[]): Result<number[]> {
  const out: number[] = [];
  for (const key of keys) {
    const raw = vars.get(key);
    if (raw === undefined) return fail(`no ${key}`);
    const n = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n)) return fail(`${key} ${quoteSnippet(raw)} is not a non-negative integer`);
    out.push(n);
  }
  return ok(out);
}

function malformed(reason: string): UeventParse {
  return { kind: 'malformed', reason };
}
