// The shipped alerting rules: promtool accepts them, and each alert fires on synthetic
// series exactly when it should (contrib/prometheus/multipath.rules.test.yml).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MetricsSink } from '../../../src/outputs/metrics/metrics-sink';
import { run } from '../../helpers/service-harness';

const CONTRIB = path.resolve(__dirname, '..', '..', '..', 'contrib');
const DIR = path.join(CONTRIB, 'prometheus');
const exported = new Set(new MetricsSink().registry.getMetricsAsArray().map((m) => m.name));
const used = (text: string) => [...new Set(text.match(/\bmultipath_\w+/g))];

describe('alerting rules', () => {
  it('promtool check rules accepts them', async () => {
    const r = await run('promtool', ['check', 'rules', path.join(DIR, 'multipath.rules.yml')]);
    expect([r.code, r.stdout]).toEqual([0, expect.stringContaining('SUCCESS: 6 rules found')]);
  });

  it('promtool test rules: every alert fires after its "for:", on the bad series only', async () => {
    const r = await run('promtool', ['test', 'rules', path.join(DIR, 'multipath.rules.test.yml')]);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('use only metrics the service exports', () => {
    const names = used(fs.readFileSync(path.join(DIR, 'multipath.rules.yml'), 'utf8'));
    expect(names.length).toBeGreaterThan(4);
    for (const n of names) expect(exported, n).toContain(n);
  });
});

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(fs.readFileSync(path.join(CONTRIB, 'grafana', 'multipath-dashboard.json'), 'utf8'));
  const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr));

  it('queries only exported metrics, in PromQL that promtool parses', async () => {
    for (const n of used(exprs.join('\n'))) expect(exported, n).toContain(n);
    // promtool parses expressions only inside rules: each query becomes a recording rule.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mpdbus-dash-'));
    const file = path.join(dir, 'queries.yml');
    const rules = exprs.map((e, i) => `      - record: dashboard_query_${i}\n        expr: ${JSON.stringify(e)}`).join('\n');
    fs.writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
    const r = await run('promtool', ['check', 'rules', file]);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${exprs.length} rules found`);
  });
});
