// Who may act. Root always, at once; anyone else as polkit decides, asked about the caller's
// bus name (polkit then looks up that connection's process and user itself) — and when polkit
// is not on the bus, nobody but root. No uid can crowd the others out of polkit: the questions
// in flight are bounded overall and per uid (fair-slots.ts), and a refusal is remembered for a
// few seconds (denials.ts), so a caller repeating a refused call does not ask polkit again.
import type { Callers } from '../bus/callers';
import { callMethod, DBusCallError, type BusConnection } from '../bus/connection';
import { variant } from '../bus/values';
import type { Authority, Caller, Permission, Verdict } from '../../../core/ports';
import { ACTION_CONFIGURE, ACTION_MANAGE_PATHS } from '../api';
import { readCgroup, unitFromCgroup } from './caller-unit';
import { RecentDenials } from './denials';
import { FairSlots, type SlotLimits } from './fair-slots';

/** polkit's action for each permission (dbus/org.kernel.linux.storage.multipath1.policy). */
const ACTIONS: Record<Permission, string> = { 'manage-paths': ACTION_MANAGE_PATHS, configure: ACTION_CONFIGURE };

const POLKIT = ['org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority', 'org.freedesktop.PolicyKit1.Authority'] as const;
const ALLOW_USER_INTERACTION = 1;
const ABSENT = /ServiceUnknown|NameHasNoOwner/;

export interface PolkitAuthorityOptions {
  /** polkit may wait for a password while the caller allowed it; otherwise it answers at once. */
  interactiveTimeoutMs?: number;
  timeoutMs?: number;
  readCgroup?: (pid: number) => string;
  /** Questions to polkit in flight (default POLKIT_SLOTS). */
  slots?: SlotLimits;
  /** How long a refusal is remembered (default 5 s). */
  denialMs?: number;
  now?: () => number;
}

/** Well under the 128 replies dbus-daemon lets one connection await; a handful per uid. */
const POLKIT_SLOTS: SlotLimits = { total: 32, perUid: 4, waitingPerUid: 16 };

export class PolkitAuthority implements Authority {
  private readonly slots: FairSlots;
  private readonly denials: RecentDenials;

  constructor(
    private readonly bus: BusConnection,
    private readonly callers: Callers,
    private readonly options: PolkitAuthorityOptions = {},
  ) {
    this.slots = new FairSlots(options.slots ?? POLKIT_SLOTS);
    // Every caller's recent refusals fit: each uid has at most a few calls with polkit at a time.
    this.denials = new RecentDenials({ ms: options.denialMs ?? 5000, max: 4096, now: options.now ?? Date.now });
  }

  async identify(sender: string): Promise<Caller> {
    const creds = await this.callers.credentials(sender);
    if (creds === undefined) throw new Error(`the bus did not say which user ${sender} is`);
    const { uid, pid } = creds;
    return { sender, uid, pid, unit: pid > 0 ? unitFromCgroup((this.options.readCgroup ?? readCgroup)(pid)) : '' };
  }

  /** Throws LimitsExceeded (a DBusError) when too many of the uid's calls already wait for polkit. */
  async authorize(caller: Caller, permission: Permission, allowInteractive: boolean): Promise<Verdict> {
    if (caller.uid === 0) return { ok: true, by: 'root' };
    const action = ACTIONS[permission];
    const key = RecentDenials.key(caller.sender, action, allowInteractive);
    const remembered = this.denials.get(key);
    if (remembered) return remembered;
    const release = await this.slots.acquire(caller.uid);
    try {
      // While this call waited, polkit may have refused an earlier one of the same caller.
      const meanwhile = this.denials.get(key);
      if (meanwhile) return meanwhile;
      const { verdict, answered } = await this.ask(caller, action, allowInteractive);
      if (answered && !verdict.ok) this.denials.remember(key, verdict);
      return verdict;
    } finally {
      release();
    }
  }

  /** polkit's verdict; `answered` false when polkit gave none (absent, busy, timed out). */
  private async ask(caller: Caller, action: string, allowInteractive: boolean): Promise<{ verdict: Verdict; answered: boolean }> {
    const subject = ['system-bus-name', { name: variant('s', caller.sender) }];
    const flags = allowInteractive ? ALLOW_USER_INTERACTION : 0;
    const timeoutMs = allowInteractive ? (this.options.interactiveTimeoutMs ?? 300_000) : (this.options.timeoutMs ?? 10_000);
    let result: [boolean, boolean, Record<string, string>];
    try {
      [result] = (await callMethod(this.bus, ...POLKIT, 'CheckAuthorization', '(sa{sv})sa{ss}us', [subject, action, {}, flags, ''], { timeoutMs })) as [
        [boolean, boolean, Record<string, string>],
      ];
    } catch (e) {
      const type = e instanceof DBusCallError ? e.type : '';
      if (ABSENT.test(type)) return { verdict: { ok: false, reason: `polkit (org.freedesktop.PolicyKit1) is not running, so only root may do this` }, answered: false };
      return { verdict: { ok: false, reason: `polkit could not decide: ${(e as Error).message}` }, answered: false };
    }
    const [authorized, challenge] = result;
    const answer = (verdict: Verdict) => ({ verdict, answered: true });
    if (authorized) return answer({ ok: true, by: 'polkit' });
    if (challenge) {
      // Allowed to ask and still a challenge: polkit had no authentication agent to ask with.
      return answer(
        allowInteractive
          ? { ok: false, reason: `${action} requires authentication, and polkit has no authentication agent for the caller to ask with` }
          : { ok: false, reason: `${action} requires authentication; call again allowing interactive authorization` },
      );
    }
    return answer({ ok: false, reason: `polkit denied ${action} to uid ${caller.uid}` });
  }
}
