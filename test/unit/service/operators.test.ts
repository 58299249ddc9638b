/** Top-N views (bounded cardinality) and scheduled rule updates, with fakes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { WindowedTopN } from '../../../src/metrics/topn.js';
import { topNComponent } from '../../../src/service/topn.js';
import { createRulesComponent } from '../../../src/service/rules.js';
import { createBus } from '../../../src/service/bus.js';
import { silentLogger } from '../../../src/log/index.js';
import { ManualClock } from '../../../src/clock.js';
import { defaultConfig, type Config } from '../../../src/config/types.js';
import { BulwarkError, isBulwarkError } from '../../../src/errors.js';
import type { Component, DaemonContext } from '../../../src/service/types.js';
import type { AlertEvent } from '../../../src/engine/types.js';
import type { UpdateReport } from '../../../src/rules/update.js';

function ctxOf(config: Config, components: Record<string, Component> = {}): { ctx: DaemonContext; clock: ManualClock; registry: Registry } {
  const clock = new ManualClock(Date.parse('2026-12-02T00:00:00Z'));
  const registry = new Registry();
  const ctx: DaemonContext = {
    config,
    configPath: undefined,
    log: silentLogger(),
    registry,
    clock,
    commands: { register: () => undefined },
    bus: createBus(silentLogger()),
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the DaemonContext contract
    get: <T extends Component>(n: string) => components[n] as T | undefined,
  };
  return { ctx, clock, registry };
}

test('windowed top-N: counts age out of the window; keys are bounded and evictions counted', () => {
  const t = new WindowedTopN(60_000, 3);
  t.add('a', { k: 'a' }, 5, 0);
  t.add('b', { k: 'b' }, 2, 10_000);
  t.add('c', { k: 'c' }, 9, 59_000);
  assert.deepEqual(t.top(2, 59_000).map((x) => [x.labels.k, x.value]), [['c', 9], ['a', 5]]);
  // 61 s later "a" (slot 0) is out of the window; "b" still in.
  assert.deepEqual(t.top(5, 61_000).map((x) => x.labels.k), ['c', 'b']);
  t.add('d', { k: 'd' }, 1, 61_000);
  t.add('e', { k: 'e' }, 1, 61_000);
  assert.ok(t.size <= 3);
  assert.ok(t.evicted >= 1);
});

function alert(src: string, sid: number, count = 1): AlertEvent {
  return {
    timestamp: '',
    flow_id: '1',
    event_type: 'alert',
    src_ip: src,
    src_port: 1,
    dest_ip: '198.51.100.11',
    dest_port: 80,
    proto: 'TCP',
    alert: { action: 'blocked', signature_id: sid, rev: 1, signature: `Sig.${sid}`, category: 'x', severity: 1 },
    bulwark: { event: 'Network attack detected', event_id: 'e', attack: `Sig.${sid}`, severity: 'high', count },
  };
}

test('top-N metrics export at most topN series per scrape, from alerts with their folded counts', async () => {
  const config = defaultConfig();
  config.metrics.topN = 3;
  const { ctx, registry, clock } = ctxOf(config);
  const c = topNComponent(ctx);
  await c.start();
  for (let i = 0; i < 50; i++) ctx.bus.emitAlert(alert(`203.0.113.${i}`, 9000000 + (i % 7), i === 7 ? 40 : 1));
  const text = await registry.metrics();
  const attackers = text.split('\n').filter((l) => l.startsWith('bulwark_top_attacker_alerts{'));
  const sigs = text.split('\n').filter((l) => l.startsWith('bulwark_top_signature_alerts{'));
  assert.equal(attackers.length, 3);
  assert.equal(sigs.length, 3);
  assert.equal(attackers[0], 'bulwark_top_attacker_alerts{address="203.0.113.7"} 40');
  assert.match(sigs[0]!, /signature_id="9000000",signature="Sig.9000000"} 47/);
  clock.advance(2 * 60 * 60 * 1000);
  assert.ok(!(await registry.metrics()).includes('bulwark_top_attacker_alerts{'), 'old alerts left the window');
});

function report(changed: boolean): UpdateReport {
  return { file: '/x', changed, reloaded: changed, sources: [], stats: {} as UpdateReport['stats'], compile: { loaded: 1, skipped: {}, compileMs: 1, signaturesTotal: 1 }, warnings: [], version: 'v' };
}

test('scheduled rule updates: every updateInterval, reload through the database component, failures counted', async () => {
  const config = defaultConfig();
  config.rules.updateIntervalMs = 3_600_000;
  let reloads = 0;
  const db = { name: 'database', start: () => Promise.resolve(), stop: () => Promise.resolve(), reloadDatabases: () => { reloads++; return Promise.resolve(); } } as unknown as Component;
  const { ctx, registry } = ctxOf(config, { database: db });
  const timers: { fn: () => void; ms: number }[] = [];
  const outcomes: (() => Promise<UpdateReport>)[] = [];
  const c = createRulesComponent({
    setTimer: (fn, ms) => {
      timers.push({ fn, ms });
      return {};
    },
    clearTimer: () => undefined,
    update: async (deps) => {
      const next = outcomes.shift()!;
      const r = await next();
      if (r.changed) await deps.reload?.();
      return r;
    },
  })(ctx);
  await c.start();
  assert.equal(timers.length, 1);
  assert.equal(timers[0]!.ms, 3_600_000);
  const tick = async (): Promise<void> => {
    timers.shift()!.fn();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  };
  outcomes.push(() => Promise.resolve(report(true)), () => Promise.reject(new BulwarkError('BULWARK_ERR_DATABASE', 'unreachable')), () => Promise.resolve(report(false)));
  await tick();
  await tick();
  await tick();
  assert.equal(reloads, 1);
  const text = await registry.metrics();
  assert.match(text, /bulwark_rules_updates_total\{result="success"\} 1/);
  assert.match(text, /bulwark_rules_updates_total\{result="failure"\} 1/);
  assert.match(text, /bulwark_rules_updates_total\{result="unchanged"\} 1/);
  assert.equal((c.status?.() as { last: { result: string } }).last.result, 'unchanged');
  assert.equal(timers.length, 1, 'the next one is scheduled');
  await c.stop();
  // Below an hour is refused (a reload keeps the old config).
  const bad = defaultConfig();
  bad.rules.updateIntervalMs = 60_000;
  await assert.rejects(Promise.resolve().then(() => c.reload?.(bad)), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CONFIG'));
});
