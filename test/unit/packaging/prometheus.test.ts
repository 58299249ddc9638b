/**
 * The shipped Prometheus rules and Grafana dashboard: `promtool test rules` (the alerts fire on
 * what they name), and every dashboard query parses in Prometheus with Grafana's variables
 * substituted (promtool 2.42 has no `promql` command: the queries are checked as a temporary
 * rules file). test/e2e/prometheus.test.ts checks the names against a live daemon's metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { dashboardQueries, metricNames, substituteGrafana } from './promql.js';

const root = new URL('../../../', import.meta.url).pathname;

function promtool(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', cwd: root });
  assert.equal(r.error, undefined, 'promtool is not installed (Makefile SYSTEM_PACKAGES: prometheus)');
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('promtool check rules and promtool test rules pass on the shipped rules', () => {
  const c = promtool(['check', 'rules', 'packaging/prometheus/bulwark.rules.yml']);
  assert.equal(c.status, 0, c.out);
  const t = promtool(['test', 'rules', 'packaging/prometheus/bulwark.rules.test.yml']);
  assert.equal(t.status, 0, t.out);
  assert.match(t.out, /SUCCESS/);
  // Every alert of the rules file has at least one test where it fires.
  const rules = readFileSync(join(root, 'packaging/prometheus/bulwark.rules.yml'), 'utf8');
  const tests = readFileSync(join(root, 'packaging/prometheus/bulwark.rules.test.yml'), 'utf8');
  for (const m of rules.matchAll(/- alert: (\w+)/g)) assert.ok(new RegExp(`alertname: ${m[1]!}\\n\\s+exp_alerts:\\n\\s+- exp_labels`).test(tests), `${m[1]!} is never shown firing`);
});

test('every Grafana panel query parses in Prometheus; only bulwark metrics (and up) are read', () => {
  const dash = JSON.parse(readFileSync(join(root, 'packaging/grafana/bulwark.json'), 'utf8')) as { panels: []; templating: { list: { name: string }[] } };
  const queries = dashboardQueries(dash);
  assert.ok(queries.length >= 40, `only ${queries.length} queries`);
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-dash-'));
  try {
    const file = join(dir, 'queries.rules.yml');
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: substituteGrafana(q.expr) })) }] }));
    const r = promtool(['check', 'rules', file]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, new RegExp(`SUCCESS: ${queries.length} rules found`));
    // A broken query is caught (the check is not vacuous).
    writeFileSync(file, stringify({ groups: [{ name: 'd', rules: [{ record: 'x', expr: 'sum by (a (rate(bulwark_packets_total[5m]))' }] }] }));
    assert.notEqual(promtool(['check', 'rules', file]).status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const q of queries) {
    const names = metricNames(substituteGrafana(q.expr));
    assert.ok(names.length > 0, `${q.panel}: no metric in ${q.expr}`);
    for (const n of names) assert.ok(n === 'up' || n.startsWith('bulwark_'), `${q.panel}: ${n}`);
    // Every query is scoped by the dashboard's job/instance variables.
    assert.match(q.expr, /instance=~"\$instance"/, `${q.panel}: not filtered by $instance`);
  }
  // Fleet panels only in the collapsed fleet row, so the dashboard reads the same without fleet.
  for (const q of queries) if (q.expr.includes('bulwark_fleet_')) assert.match(q.row, /^Fleet/, q.panel);
  assert.deepEqual(dash.templating.list.map((v) => v.name), ['datasource', 'job', 'instance']);
  assert.deepEqual(metricNames('sum by (le) (rate(a_bucket{x="y"}[5m] offset 1d)) / on (i) group_left () b + 1e-9 * time()'), ['a_bucket', 'b']);
});
