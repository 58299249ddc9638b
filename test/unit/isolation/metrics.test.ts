import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { emptyView, type KernelView } from '../../../src/isolation/kernel.js';
import { createIsolationMetrics, DropCounters } from '../../../src/isolation/metrics.js';

function view(inPackets: number | undefined): KernelView {
  const v = emptyView();
  if (inPackets !== undefined) v.counters.iso_dropped_in = { packets: inPackets, bytes: 0 };
  return v;
}

function reported(d: DropCounters): Record<string, number> {
  const out: Record<string, number> = {};
  d.report((dir, n) => {
    out[dir] = (out[dir] ?? 0) + n;
  });
  return out;
}

test('drop counters report 0 for a direction until something was dropped, then only increases', () => {
  const d = new DropCounters();
  assert.deepEqual(reported(d), { in: 0, out: 0, fwd: 0 });
  d.update(view(5));
  assert.deepEqual(reported(d), { in: 5, out: 0, fwd: 0 });
  d.update(view(7));
  assert.deepEqual(reported(d), { in: 2, out: 0, fwd: 0 });
  d.update(view(undefined)); // counter not in the view: nothing changes
  assert.deepEqual(reported(d), { out: 0, fwd: 0 });
});

test('drop counters stay monotonic when a re-created table restarts the kernel counter at 0', () => {
  const d = new DropCounters();
  d.update(view(10));
  assert.deepEqual(reported(d), { in: 10, out: 0, fwd: 0 });
  d.update(view(3)); // table re-created: kernel counter restarted
  assert.deepEqual(reported(d), { in: 3, out: 0, fwd: 0 });
  d.update(view(4));
  assert.deepEqual(reported(d), { in: 1, out: 0, fwd: 0 });
});

test('the isolation metrics read state and drops when scraped', async () => {
  const registry = new Registry();
  let active = false;
  const d = new DropCounters();
  const m = createIsolationMetrics(registry, () => active, d);
  let text = await registry.metrics();
  assert.match(text, /^bulwark_isolation_active 0$/m);
  assert.match(text, /^bulwark_isolation_reapplied_total\{reason="tamper"\} 0$/m);
  active = true;
  d.update(view(9));
  m.severed.inc(3);
  text = await registry.metrics();
  assert.match(text, /^bulwark_isolation_active 1$/m);
  assert.match(text, /^bulwark_isolation_dropped_packets_total\{direction="in"\} 9$/m);
  assert.match(text, /^bulwark_isolation_severed_connections_total 3$/m);
});
