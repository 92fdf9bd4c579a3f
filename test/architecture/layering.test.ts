// The layering is enforced, not hoped for: dependency-cruiser checks src/ against the rules of
// .dependency-cruiser.cjs (README, Architecture), and a new import that breaks one fails here
// naming the rule, the importer and what it imported.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(__dirname, '..', '..');

interface Cruise {
  summary: { violations: { rule: { name: string }; from: string; to: string }[]; totalCruised: number };
}

function cruise(): Cruise {
  const bin = path.join(REPO, 'node_modules', '.bin', 'depcruise');
  const out = execFileSync(bin, ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 << 20 });
  return JSON.parse(out) as Cruise;
}

describe('the layering of src/', () => {
  it('breaks no rule of .dependency-cruiser.cjs', () => {
    const { summary } = cruise();
    expect(summary.totalCruised).toBeGreaterThan(50);
    expect(summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([]);
  });
});
