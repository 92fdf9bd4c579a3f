// The Manager's own methods and the management methods as D-Bus binds them: the D-Bus names
// and argument positions of each core command, the object path mapped to the model identity
// it names (naming.ts), and the core's typed errors mapped to D-Bus error names. A second
// front end would bind the same commands with its own names.
import { CommandError, type CommandErrorKind, type Commands } from '../../core/commands/commands';
import type { CommandArgs, CommandName } from '../../core/commands/table';
import type { Engine } from '../../core/engine';
import { ERROR_PREFIX, MANAGER_IFACE, MAP_IFACE, PATH_IFACE } from './api';
import { DBusError, type MethodCall, type MethodHandler, type ObjectServer } from './bus/object-server';
import { align8, sizeOf } from './bus/wire';
import type { MapSummaries } from './map-summaries';
import { eventData, eventObject, type ObjectNames } from './naming';

/** Objects per GetManagedObjectsPage call at most, as events per GetEvents call. */
const MAX_OBJECTS_PER_PAGE = 1000;
/** Maps per GetMapSummaries call at most: about as many bytes as a page of objects. */
const MAX_SUMMARIES_PER_PAGE = 10_000;

export interface ManagedMethod {
  iface: string;
  name: string;
  command: CommandName;
  /** The arguments before the options, by position. */
  args(positional: unknown[]): CommandArgs;
}

const none = () => ({});

export const MANAGED_METHODS: readonly ManagedMethod[] = [
  { iface: PATH_IFACE, name: 'Fail', command: 'fail-path', args: none },
  { iface: PATH_IFACE, name: 'Reinstate', command: 'reinstate-path', args: none },
  { iface: MAP_IFACE, name: 'SwitchGroup', command: 'switch-group', args: ([group]) => ({ group: group as number }) },
  { iface: MAP_IFACE, name: 'SetQueueing', command: 'set-queueing', args: ([enabled]) => ({ enabled: enabled as boolean }) },
  { iface: MAP_IFACE, name: 'Resize', command: 'resize', args: none },
  { iface: MANAGER_IFACE, name: 'Reconfigure', command: 'reconfigure', args: none },
];

const ERROR_NAMES: Record<CommandErrorKind, string> = {
  'not-found': `${ERROR_PREFIX}NotFound`,
  'not-authorized': `${ERROR_PREFIX}NotAuthorized`,
  unavailable: `${ERROR_PREFIX}Unavailable`,
  failed: `${ERROR_PREFIX}Failed`,
  invalid: 'org.freedesktop.DBus.Error.InvalidArgs',
  'not-supported': 'org.freedesktop.DBus.Error.NotSupported',
};

/** The management methods' handlers: each call charged to its caller (see BudgetLimits.managementCallBytes) before anything is asked. */
export function managementHandlers(commands: Commands, names: ObjectNames, charge: (call: MethodCall) => void): Record<string, MethodHandler> {
  return Object.fromEntries(
    MANAGED_METHODS.map((m) => [
      `${m.iface}.${m.name}`,
      async (call: MethodCall) => {
        charge(call);
        const options = call.args[call.args.length - 1] as Record<string, unknown>;
        // Counted, not named: the keys are the caller's text, and this message is logged.
        const unknown = Object.keys(options).length;
        const named = names.identity(call.path);
        try {
          await commands.run({
            command: m.command,
            target: named?.kind === 'group' ? undefined : named,
            args: m.args(call.args.slice(0, -1)),
            method: `${m.iface.slice(m.iface.lastIndexOf('.') + 1)}.${m.name}`,
            object: call.path,
            sender: call.sender,
            allowInteractive: call.allowInteractive,
            invalid: unknown > 0 ? `${m.name} takes no options; got ${unknown}` : undefined,
          });
        } catch (e) {
          throw e instanceof CommandError ? new DBusError(ERROR_NAMES[e.kind], e.message) : e;
        }
        return [];
      },
    ]),
  );
}

/** The Manager's readers: GetEvents, Refresh, GetManagedObjectsPage, GetMapSummaries. */
export function managerHandlers(engine: Engine, server: () => ObjectServer, summaries: MapSummaries): Record<string, MethodHandler> {
  return {
    [`${MANAGER_IFACE}.GetEvents`]: (call) => getEvents(engine, server(), call),
    [`${MANAGER_IFACE}.Refresh`]: async (call) => {
      try {
        await engine.refresh(call.uid === 0);
      } catch {
        // Reported where the read failed; the caller is told, and the recovery read follows.
        throw new DBusError('org.freedesktop.DBus.Error.Failed', 'the read failed; the service logged why and reads again');
      }
      return [];
    },
    [`${MANAGER_IFACE}.GetManagedObjectsPage`]: (call) => {
      const [after, max] = call.args as [string, number];
      const page = server().page(after, max === 0 || max > MAX_OBJECTS_PER_PAGE ? MAX_OBJECTS_PER_PAGE : max);
      return [page.objects, page.next];
    },
    [`${MANAGER_IFACE}.GetMapSummaries`]: (call) => {
      const [after, max, options] = call.args as [string, number, Record<string, unknown>];
      // Counted, not named: the keys are the caller's text.
      const unknown = Object.keys(options).length;
      if (unknown > 0) throw new DBusError('org.freedesktop.DBus.Error.InvalidArgs', `GetMapSummaries takes no options; got ${unknown}`);
      const page = summaries.page(after, max === 0 || max > MAX_SUMMARIES_PER_PAGE ? MAX_SUMMARIES_PER_PAGE : max, server().replyBudget);
      return [page.maps, page.next, page.serial];
    },
  };
}

/** A page of the history, cut short where the message size limit would be reached (the caller asks again from its last serial). */
function getEvents(engine: Engine, server: ObjectServer, call: MethodCall): unknown[] {
  const [since, max] = call.args as [bigint, number];
  const { complete, events } = engine.eventsSince(since, max);
  const out: unknown[] = [];
  let bytes = 8;
  for (const e of events) {
    const entry = [e.serial, e.name, eventObject(e), eventData(e)];
    bytes += align8(sizeOf('(tsoa{sv})', entry));
    if (bytes > server.replyBudget) break;
    out.push(entry);
  }
  if (out.length === 0 && events.length > 0) {
    throw new DBusError('org.freedesktop.DBus.Error.LimitsExceeded', `event ${events[0].serial} alone is larger than the message size limit`);
  }
  return [complete, out];
}
