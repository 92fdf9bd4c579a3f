// Management: validate -> authorize -> multipathd's command -> wait until the published state
// shows the effect. It never edits the model: the model changes only from what the kernel
// and multipathd report, so a command's success is the same state every client already sees.
// A front end names the target by the model's identity and maps the typed errors to its own.
import type { AuditRecord, Authority, Caller, CommandChannel, Timers } from '../ports';
import type { ShownState } from './shown-state';
import { COMMANDS, type CommandArgs, type CommandName, type Target } from './table';

export type CommandErrorKind = 'not-found' | 'invalid' | 'not-supported' | 'not-authorized' | 'unavailable' | 'failed';

/** Why a command was not done; anything else a command throws is a bug or the front end's own refusal. */
export class CommandError extends Error {
  constructor(
    readonly kind: CommandErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface CommandRequest {
  command: CommandName;
  /** What the front end's name for the target stands for now; undefined: it names nothing. */
  target: Target | undefined;
  args: CommandArgs;
  /** The call as its front end names it, for messages and the audit: "Path.Fail", and the target's name. */
  method: string;
  object: string;
  /** The caller's address on its transport. */
  sender: string;
  /** The caller allows a password prompt (polkit may ask one). */
  allowInteractive: boolean;
  /** The front end found the call invalid before the core saw it (why, in words). */
  invalid?: string;
}

export interface CommandsDeps {
  multipathd: CommandChannel;
  shown: ShownState;
  authority: Authority;
  /** A read of every source that starts after this call; resolves once its result is published. */
  reread(options: { settings: boolean }): Promise<void>;
  /** Whether the kernel's uevents reach the model now (KernelEventsAvailable). */
  kernelEvents(): boolean;
  audit: (r: AuditRecord) => void;
  timers: Timers;
  /** How long an effect may take to show before the call fails with a timeout. */
  timeoutMs: number;
  /** How long a change the kernel announces may go unannounced before a read is asked to confirm it. */
  confirmAfterMs: number;
}

/** A channel failure that says multipathd is not there (rather than one it may still have acted on). */
export type Unreachable = (e: unknown) => boolean;

// multipathd answers "ok" when it did it, "fail" (or a reason) when it did not.
const OK = /^ok\s*$/;

export class Commands {
  constructor(
    private readonly deps: CommandsDeps,
    private readonly unreachable: Unreachable,
  ) {}

  async run(req: CommandRequest): Promise<void> {
    const row = COMMANDS.get(req.command)!;
    let caller: Caller | undefined;
    let command: string | undefined;
    const audit = (outcome: AuditRecord['outcome'], detail?: string) =>
      this.deps.audit({ method: req.method, object: req.object, sender: req.sender, caller, outcome, command, detail });
    try {
      // Validate: the target and the arguments, before anyone is asked anything.
      if (req.invalid !== undefined) throw new CommandError('invalid', req.invalid);
      const asked = req.target && row.prepare(req.target, this.deps.shown.topology, req.args);
      if (asked === undefined) throw new CommandError('not-found', `no such object: ${req.object}`);
      // multipathd's commands act on dm-multipath maps only; native NVMe multipath has no such controls.
      if (req.target!.kind !== 'manager' && this.deps.shown.topology.get(req.target!.wwid)?.kind === 'nvme') {
        throw new CommandError('not-supported', `${req.method} has no meaning for an NVMe namespace: the kernel's native multipath chooses its paths, and multipathd does not manage it`);
      }
      if (typeof asked === 'string') throw new CommandError('invalid', asked);

      // Authorize.
      try {
        caller = await this.deps.authority.identify(req.sender);
      } catch (e) {
        throw new CommandError('not-authorized', `cannot tell who ${req.sender} is: ${(e as Error).message}`);
      }
      const verdict = await this.deps.authority.authorize(caller, row.permission, req.allowInteractive);
      if (!verdict.ok) throw new CommandError('not-authorized', verdict.reason);

      // An interactive authorization can take minutes, and by then dm-N or a kernel name may
      // be another device's: the command is written for the target as it is now.
      const prepared = row.prepare(req.target!, this.deps.shown.topology, req.args);
      if (prepared === undefined) throw new CommandError('not-found', `${req.object} went away while the call was being authorized`);
      if (typeof prepared === 'string') throw new CommandError('invalid', prepared);
      if (prepared.identity !== asked.identity) {
        throw new CommandError('failed', `${req.object} names another device (${prepared.identity}) than when the call was made (${asked.identity}); nothing was done`);
      }
      if (typeof prepared.command !== 'string') throw new CommandError('failed', prepared.command.refused);

      // Apply, through multipathd, which keeps its own view in step.
      command = prepared.command;
      let answer: string;
      try {
        answer = await this.deps.multipathd.request(command);
      } catch (e) {
        throw new CommandError(this.unreachable(e) ? 'unavailable' : 'failed', `multipathd: ${(e as Error).message}`);
      }
      if (!OK.test(answer)) throw new CommandError('failed', `multipathd refused "${command}": ${firstLine(answer)}`);

      // Wait until clients are shown it. Effects only multipathd knows of (queueing, size)
      // come with no uevent: the re-read is what makes them visible. A path's failure or
      // reinstatement the kernel announces itself: while its uevents arrive, a read would
      // race the uevent and publish the change without the kernel's DM_SEQNUM.
      // (A read that threw is a bug the engine logs; here it only means "not seen".)
      const reread = () => this.deps.reread({ settings: prepared.rereadSettings === true }).then(() => true, () => false);
      const { visible } = prepared;
      const { shown, confirmAfterMs, timeoutMs } = this.deps;
      let seen: boolean;
      if (visible && prepared.announcedByKernel === true && this.deps.kernelEvents()) {
        // No uevent soon: it was lost, or the kernel's state and multipathd's disagree. A read
        // tells which, and the call answers from what it shows rather than wait for nothing.
        seen = (await shown.until(visible, confirmAfterMs)) || ((await this.within(reread(), timeoutMs)) && visible(shown.topology));
        if (!seen) {
          throw new CommandError(
            'failed',
            `multipathd accepted "${command}", but the kernel did not announce it within ${confirmAfterMs} ms and a read of multipathd and device-mapper afterwards does not show it`,
          );
        }
      } else if (visible) {
        void reread();
        seen = await shown.until(visible, timeoutMs);
      } else {
        seen = await this.within(reread(), timeoutMs);
      }
      if (!seen) throw new CommandError('failed', `timeout: multipathd accepted "${command}" but its effect did not show within ${timeoutMs} ms`);
      audit('done');
    } catch (e) {
      // Refused before authorization: the record still says who asked (the transport's answer is cached).
      caller ??= await this.deps.authority.identify(req.sender).catch(() => undefined);
      audit(e instanceof CommandError && e.kind === 'not-authorized' ? 'denied' : 'failed', (e as Error).message);
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
