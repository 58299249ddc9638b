import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRegistry } from '../../../src/metrics/index.js';
import { createFoundationMetrics } from '../../../src/metrics/foundation.js';
import { parseExposition } from './exposition.js';

test('the checker refuses broken exposition text', () => {
  assert.throws(() => parseExposition('foo 1\n'), /no TYPE/);
  assert.throws(() => parseExposition('# TYPE foo counter\nfoo 1\n'), /no HELP/);
  assert.throws(() => parseExposition('# HELP foo x\n# TYPE foo counter\nfoo{a=b} 1\n'), /not "name\{labels\} value"/);
  assert.throws(() => parseExposition('# HELP foo x\n# TYPE foo counter\nfoo one\n'), /not "name/);
  assert.throws(() => parseExposition('# HELP foo x\n# TYPE foo counter\nfoo 1'), /newline/);
  const ok = parseExposition('# HELP foo x\n# TYPE foo counter\nfoo{a="b",c="d\\"e"} 1.5e3\n');
  assert.deepEqual(ok.samples, [{ name: 'foo', labels: { a: 'b', c: 'd\\"e' }, value: 1500 }]);
});

test('registry output with process, build and foundation metrics is valid exposition text', async () => {
  const registry = createRegistry('9.9.9');
  const m = createFoundationMetrics(registry);
  m.configReloads.inc({ result: 'success' });
  m.controlRequests.inc({ cmd: 'status', result: 'ok' });
  m.controlRequests.inc({ cmd: 'unknown', result: 'error' });
  const { samples, types } = parseExposition(await registry.metrics());
  const find = (name: string, labels: Record<string, string> = {}): number | undefined =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  assert.equal(find('bulwark_build_info', { version: '9.9.9' }), 1);
  assert.equal(find('bulwark_config_reloads_total', { result: 'success' }), 1);
  assert.equal(find('bulwark_control_requests_total', { cmd: 'unknown', result: 'error' }), 1);
  assert.equal(types.get('bulwark_control_requests_total'), 'counter');
  assert.ok(find('bulwark_process_cpu_user_seconds_total') !== undefined, 'process metrics missing');
  assert.ok(samples.every((s) => s.name.startsWith('bulwark_')), 'a metric without the bulwark_ prefix');
});

test('promtool check metrics accepts the registry (no "_total" gauges from prom-client)', async () => {
  const { spawnSync } = await import('node:child_process');
  const registry = createRegistry('9.9.9');
  createFoundationMetrics(registry);
  const text = await registry.metrics();
  assert.ok(text.includes('bulwark_nodejs_active_handles'), 'the labelled gauge stays');
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.error, undefined, 'promtool not installed (Makefile SYSTEM_PACKAGES: prometheus)');
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});
