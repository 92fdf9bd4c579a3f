// When to tell clients multipathd is gone, and how soon to look for it again. Nobody
// listening or the connection dropping is certain at once; a timeout or garbage may be
// a blip, so it takes two in a row.
import type { MultipathdErrorKind } from './client';
import { backoffMs } from '../../util/backoff';

const CERTAIN: ReadonlySet<string> = new Set(['not-running', 'closed', 'refused', 'untrusted']);

export class MultipathdHealth {
  private failures = 0;
  available = false;
  /** Whether it has ever answered in this run. */
  everAvailable = false;

  /** Returns true when this answer brings multipathd back after it was lost. */
  succeeded(): boolean {
    const returned = !this.available && this.everAvailable;
    this.failures = 0;
    this.available = true;
    this.everAvailable = true;
    return returned;
  }

  /** Returns true when this failure makes multipathd unavailable. */
  failed(kind: MultipathdErrorKind | 'unparsable'): boolean {
    this.failures++;
    if (!this.available) return false;
    if (CERTAIN.has(kind) || this.failures >= 2) {
      this.available = false;
      return true;
    }
    return false;
  }

  /** Delay before the next attempt while multipathd is failing. */
  backoffMs(): number {
    return backoffMs(this.failures);
  }
}
