// `multipath-dbus fail|reinstate|switch-group|queueing|resize|reconfigure`: the management
// methods, called over D-Bus like any client, so the bus policy and polkit decide — this
// command has no privilege of its own. On a terminal polkit may ask for a password.
import { BUS_NAME, ERROR_PREFIX, MANAGER_IFACE, MAP_IFACE, PATH_IFACE, ROOT_PATH } from '../frontends/dbus/api';
import { callMethod, DBusCallError, disconnect, type BusConnection } from '../frontends/dbus/bus/connection';
import { ClientError, fetchObjects, openClient } from './client';
import { terminalText } from './terminal-text';

export type ManageCommand =
  | { kind: 'fail' | 'reinstate'; path: string }
  | { kind: 'switch-group'; map: string; group: number }
  | { kind: 'queueing'; map: string; enabled: boolean }
  | { kind: 'resize'; map: string }
  | { kind: 'reconfigure' };

/** A path by kernel name (sdb), dev_t (8:16) or object path. */
async function findPath(bus: BusConnection, name: string): Promise<string> {
  for (const [objectPath, ifaces] of await fetchObjects(bus)) {
    const p = ifaces.get(PATH_IFACE);
    if (p && (p.Device === name || p.DevT === name || objectPath === name)) return objectPath;
  }
  throw new ClientError(`no multipath path named ${name}`);
}

/** A map by name, WWID, dm-N or object path. */
async function findMap(bus: BusConnection, name: string): Promise<string> {
  for (const [objectPath, ifaces] of await fetchObjects(bus)) {
    const m = ifaces.get(MAP_IFACE);
    if (m && (m.Name === name || m.Wwid === name || m.SysfsName === name || objectPath === name)) return objectPath;
  }
  throw new ClientError(`no multipath map named ${name}`);
}

// No options exist yet; the a{sv} is there so that they can.
const NO_OPTIONS = {};

async function plan(bus: BusConnection, c: ManageCommand): Promise<{ object: string; iface: string; member: string; signature: string; args: unknown[]; done: string }> {
  switch (c.kind) {
    case 'fail':
    case 'reinstate':
      return {
        object: await findPath(bus, c.path),
        iface: PATH_IFACE,
        member: c.kind === 'fail' ? 'Fail' : 'Reinstate',
        signature: 'a{sv}',
        args: [NO_OPTIONS],
        done: `${c.path}: ${c.kind === 'fail' ? 'failed' : 'reinstated'}`,
      };
    case 'switch-group':
      return {
        object: await findMap(bus, c.map),
        iface: MAP_IFACE,
        member: 'SwitchGroup',
        signature: 'ua{sv}',
        args: [c.group, NO_OPTIONS],
        done: `${c.map}: switched to path group ${c.group}`,
      };
    case 'queueing':
      return {
        object: await findMap(bus, c.map),
        iface: MAP_IFACE,
        member: 'SetQueueing',
        signature: 'ba{sv}',
        args: [c.enabled, NO_OPTIONS],
        done: `${c.map}: queueing ${c.enabled ? 'restored' : 'disabled'}`,
      };
    case 'resize':
      return { object: await findMap(bus, c.map), iface: MAP_IFACE, member: 'Resize', signature: 'a{sv}', args: [NO_OPTIONS], done: `${c.map}: resized` };
    case 'reconfigure':
      return { object: ROOT_PATH, iface: MANAGER_IFACE, member: 'Reconfigure', signature: 'a{sv}', args: [NO_OPTIONS], done: 'multipathd reconfigured' };
  }
}

/** What went wrong, in words, from the error the service (or the bus) answered. */
function explain(e: DBusCallError, what: string): string {
  const kind = e.type.startsWith(ERROR_PREFIX) ? e.type.slice(ERROR_PREFIX.length) : e.type;
  switch (kind) {
    case 'NotAuthorized':
      return `${what}: not authorized: ${e.detail}`;
    case 'NotFound':
      return `${what}: no longer exists (${e.detail})`;
    case 'Unavailable':
      return `${what}: multipathd is not available: ${e.detail}`;
    case 'Failed':
      return `${what}: failed: ${e.detail}`;
    case 'org.freedesktop.DBus.Error.NotSupported':
      return `${what}: not supported: ${e.detail}`;
    case 'org.freedesktop.DBus.Error.AccessDenied':
      return `${what}: the D-Bus policy does not let this user call ${BUS_NAME}: ${e.detail}`;
    case 'org.freedesktop.DBus.Error.ServiceUnknown':
      return `the multipath-dbus service (${BUS_NAME}) is not running on this bus`;
    default:
      return `${what}: ${e.message}`;
  }
}

export async function manage(opts: { bus: string }, c: ManageCommand): Promise<number> {
  const bus = await openClient(opts.bus);
  try {
    const p = await plan(bus, c);
    // A password prompt needs someone to type it.
    const allowInteractive = process.stdin.isTTY === true;
    try {
      await callMethod(bus, BUS_NAME, p.object, p.iface, p.member, p.signature, p.args, {
        allowInteractive,
        timeoutMs: allowInteractive ? undefined : 120_000,
      });
    } catch (e) {
      if (e instanceof DBusCallError) {
        // The service's text can hold a map name, which comes from the storage array.
        process.stderr.write(`multipath-dbus: ${terminalText(explain(e, `${p.iface.slice(p.iface.lastIndexOf('.') + 1)}.${p.member}`))}\n`);
        return 1;
      }
      throw e;
    }
    process.stdout.write(`${terminalText(p.done)}\n`);
    return 0;
  } finally {
    disconnect(bus);
  }
}
