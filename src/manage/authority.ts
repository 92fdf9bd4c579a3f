// Who may act. Root always; anyone else as polkit decides, asked about the caller's bus name
// (polkit then looks up that connection's process and user itself) — and when polkit is not
// on the bus, nobody but root.
import type { Callers } from '../dbus/callers';
import { callMethod, DBusCallError, type BusConnection } from '../dbus/connection';
import { variant } from '../dbus/values';
import { readCgroup, unitFromCgroup, type Caller } from './caller';

export type Verdict = { ok: true; by: 'root' | 'polkit' } | { ok: false; reason: string };

export interface Authority {
  identify(sender: string): Promise<Caller>;
  authorize(caller: Caller, action: string, allowInteractive: boolean): Promise<Verdict>;
}

const POLKIT = ['org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority', 'org.freedesktop.PolicyKit1.Authority'] as const;
const ALLOW_USER_INTERACTION = 1;
const ABSENT = /ServiceUnknown|NameHasNoOwner/;

export interface PolkitAuthorityOptions {
  /** polkit may wait for a password while the caller allowed it; otherwise it answers at once. */
  interactiveTimeoutMs?: number;
  timeoutMs?: number;
  readCgroup?: (pid: number) => string;
}

export class PolkitAuthority implements Authority {
  constructor(
    private readonly bus: BusConnection,
    private readonly callers: Callers,
    private readonly options: PolkitAuthorityOptions = {},
  ) {}

  async identify(sender: string): Promise<Caller> {
    const creds = await this.callers.credentials(sender);
    if (creds === undefined) throw new Error(`the bus did not say which user ${sender} is`);
    const { uid, pid } = creds;
    return { sender, uid, pid, unit: pid > 0 ? unitFromCgroup((this.options.readCgroup ?? readCgroup)(pid)) : '' };
  }

  async authorize(caller: Caller, action: string, allowInteractive: boolean): Promise<Verdict> {
    if (caller.uid === 0) return { ok: true, by: 'root' };
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
      if (ABSENT.test(type)) return { ok: false, reason: `polkit (org.freedesktop.PolicyKit1) is not running, so only root may do this` };
      return { ok: false, reason: `polkit could not decide: ${(e as Error).message}` };
    }
    const [authorized, challenge] = result;
    if (authorized) return { ok: true, by: 'polkit' };
    if (challenge) {
      // Allowed to ask and still a challenge: polkit had no authentication agent to ask with.
      return allowInteractive
        ? { ok: false, reason: `${action} requires authentication, and polkit has no authentication agent for the caller to ask with` }
        : { ok: false, reason: `${action} requires authentication; call again allowing interactive authorization` };
    }
    return { ok: false, reason: `polkit denied ${action} to uid ${caller.uid}` };
  }
}
