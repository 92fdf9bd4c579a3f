// Management: validate -> authorize -> multipathd's command -> wait until the published state
// shows the effect. It never edits the model: the model changes only from what the kernel
// and multipathd report, so a method's success is the same state every client already sees.
import { ERROR_PREFIX } from '../../frontends/dbus/api';
import { DBusError, type MethodCall, type MethodHandler } from '../../frontends/dbus/bus/object-server';
import { MultipathdError } from '../../sources/multipathd/client';
import type { Timers } from '../coalescer';
import type { MultipathdLike } from '../engine';
import type { AuditRecord } from '../../outputs/journal/audit';
import type { Authority } from '../../frontends/dbus/polkit/authority';
import type { Caller } from './caller';
import { MANAGED_METHODS, type ManagedMethod } from './table';
import type { PublishedState } from './shown-state';

export interface ManagementDeps {
  multipathd: MultipathdLike;
  published: PublishedState;
  authority: Authority;
  /** A read of every source that starts after this call; resolves once its result is published. */
  reread(options: { settings: boolean }): Promise<void>;
  /** Whether the kernel's uevents reach the model now (KernelEventsAvailable). */
  kernelEvents(): boolean;
  audit: (r: AuditRecord) => void;
  /** Every management call is charged to its caller's budget (see BudgetLimits.managementCallBytes) before anything is asked. */
  charge(call: MethodCall): void;
  timers: Timers;
  /** How long an effect may take to show before the call fails with a timeout. */
  timeoutMs: number;
  /** How long a change the kernel announces may go unannounced before a read is asked to confirm it. */
  confirmAfterMs: number;
}

const err = (kind: 'NotAuthorized' | 'NotFound' | 'Unavailable' | 'Failed', msg: string) => new DBusError(`${ERROR_PREFIX}${kind}`, msg);
const INVALID_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs';

// multipathd answers "ok" when it did it, "fail" (or a reason) when it did not.
const OK = /^ok\s*$/;

export class Management {
  constructor(private readonly deps: ManagementDeps) {}

  /** The object server's handlers, one per row of the table. */
  handlers(): Record<string, MethodHandler> {
    return Object.fromEntries(MANAGED_METHODS.map((m) => [`${m.iface}.${m.name}`, (call: MethodCall) => this.handle(m, call)]));
  }

  private async handle(m: ManagedMethod, call: MethodCall): Promise<unknown[]> {
    const method = `${m.iface.slice(m.iface.lastIndexOf('.') + 1)}.${m.name}`;
    let caller: Caller | undefined;
    let command: string | undefined;
    const audit = (outcome: AuditRecord['outcome'], detail?: string) =>
      this.deps.audit({ method, object: call.path, sender: call.sender, caller, outcome, command, detail });
    try {
      this.deps.charge(call);
      // Validate: the object and the arguments, before anyone is asked anything.
      const options = call.args[call.args.length - 1] as Record<string, unknown>;
      // Counted, not named: the keys are the caller's text, and this message is logged.
      const unknown = Object.keys(options).length;
      if (unknown > 0) throw new DBusError(INVALID_ARGS, `${m.name} takes no options; got ${unknown}`);
      const args = call.args.slice(0, -1);
      const asked = m.prepare(call.path, this.deps.published.topology, args);
      if (asked === undefined) throw err('NotFound', `no such object: ${call.path}`);
      if (typeof asked === 'string') throw new DBusError(INVALID_ARGS, asked);

      // Authorize.
      try {
        caller = await this.deps.authority.identify(call.sender);
      } catch (e) {
        throw err('NotAuthorized', `cannot tell who ${call.sender} is: ${(e as Error).message}`);
      }
      const verdict = await this.deps.authority.authorize(caller, m.action, call.allowInteractive);
      if (!verdict.ok) throw err('NotAuthorized', verdict.reason);

      // An interactive authorization can take minutes, and by then dm-N or a kernel name may
      // be another device's: the command is written for the object as it is now.
      const prepared = m.prepare(call.path, this.deps.published.topology, args);
      if (prepared === undefined) throw err('NotFound', `${call.path} went away while the call was being authorized`);
      if (typeof prepared === 'string') throw new DBusError(INVALID_ARGS, prepared);
      if (prepared.identity !== asked.identity) {
        throw err('Failed', `${call.path} names another device (${prepared.identity}) than when the call was made (${asked.identity}); nothing was done`);
      }
      if (typeof prepared.command !== 'string') throw err('Failed', prepared.command.refused);

      // Apply, through multipathd, which keeps its own view in step.
      command = prepared.command;
      let answer: string;
      try {
        answer = await this.deps.multipathd.request(command);
      } catch (e) {
        const down = e instanceof MultipathdError && (e.kind === 'not-running' || e.kind === 'refused' || e.kind === 'closed');
        throw err(down ? 'Unavailable' : 'Failed', `multipathd: ${(e as Error).message}`);
      }
      if (!OK.test(answer)) throw err('Failed', `multipathd refused "${command}": ${firstLine(answer)}`);

      // Wait until clients are shown it. Effects only multipathd knows of (queueing, size)
      // come with no uevent: the re-read is what makes them visible. A path's failure or
      // reinstatement the kernel announces itself: while its uevents arrive, a read would
      // race the uevent and publish the change without the kernel's DM_SEQNUM.
      // (A read that threw is a bug the service logs; here it only means "not seen".)
      const reread = () => this.deps.reread({ settings: prepared.rereadSettings === true }).then(() => true, () => false);
      const { visible } = prepared;
      let seen: boolean;
      if (visible && prepared.announcedByKernel === true && this.deps.kernelEvents()) {
        // No uevent soon: it was lost, or the kernel's state and multipathd's disagree. A read
        // tells which, and the call answers from what it shows rather than wait for nothing.
        seen =
          (await this.deps.published.until(visible, this.deps.confirmAfterMs)) ||
          ((await this.within(reread(), this.deps.timeoutMs)) && visible(this.deps.published.topology));
        if (!seen) {
          throw err('Failed', `multipathd accepted "${command}", but the kernel did not announce it within ${this.deps.confirmAfterMs} ms and a read of multipathd and device-mapper afterwards does not show it`);
        }
      } else if (visible) {
        void reread();
        seen = await this.deps.published.until(visible, this.deps.timeoutMs);
      } else {
        seen = await this.within(reread(), this.deps.timeoutMs);
      }
      if (!seen) throw err('Failed', `timeout: multipathd accepted "${command}" but its effect did not show within ${this.deps.timeoutMs} ms`);
      audit('done');
      return [];
    } catch (e) {
      // Refused before authorization: the record still says who asked (the bus daemon's answer is cached).
      caller ??= await this.deps.authority.identify(call.sender).catch(() => undefined);
      if (e instanceof DBusError) audit(e.errorName.endsWith('NotAuthorized') ? 'denied' : 'failed', e.message);
      else audit('failed', (e as Error).message);
      throw e;
    }
  }

  private within(p: Promise<boolean>, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = this.deps.timers.setTimeout(() => resolve(false), ms);
      void p.then((ok) => {
        this.deps.timers.clearTimeout(timer);
        resolve(ok);
      });
    });
  }
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  const clean = line.replace(/[^\x20-\x7e]/g, '?');
  return clean ? JSON.stringify(clean.slice(0, 200)) : 'an empty answer';
}
