// polkit's recent refusals, remembered for a few seconds per caller connection and action (and
// whether the caller allowed a password prompt), so a caller repeating a refused call is
// answered here and polkit is asked once. Only refusals: a grant is asked for every time, and
// an error (polkit busy or gone) is not an answer to remember. A unique bus name is never
// reused, so an entry cannot outlive the caller it describes into another's.
import type { Verdict } from '../../../core/ports';

export interface DenialOptions {
  /** How long a refusal stands. */
  ms: number;
  /** Entries at most; the oldest go first. */
  max: number;
  now(): number;
}

export class RecentDenials {
  /** key -> refusal and when it expires, in the order remembered (so oldest first: one duration for all). */
  private readonly entries = new Map<string, { verdict: Verdict; until: number }>();

  constructor(private readonly options: DenialOptions) {}

  static key(sender: string, action: string, allowInteractive: boolean): string {
    return `${sender} ${action} ${allowInteractive ? 'interactive' : 'plain'}`;
  }

  get(key: string): Verdict | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.until > this.options.now()) return e.verdict;
    this.entries.delete(key);
    return undefined;
  }

  remember(key: string, verdict: Verdict): void {
    const now = this.options.now();
    for (const [k, e] of this.entries) {
      if (e.until > now && this.entries.size < this.options.max) break;
      this.entries.delete(k);
    }
    this.entries.delete(key);
    this.entries.set(key, { verdict, until: now + this.options.ms });
  }
}
