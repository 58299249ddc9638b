/**
 * Daemon component "topn": the top-N views for dashboards. Counts "Network attack detected"
 * events (with their folded repeats) per source address and per signature over the last
 * metrics.topWindow and exports the metrics.topN busiest of each at scrape time:
 *   bulwark_top_attacker_alerts{address}                 alerts from that source in the window
 *   bulwark_top_signature_alerts{signature_id,signature} alerts of that signature in the window
 * Cardinality: at most topN series per metric per scrape (≤ 100 by the schema); 1024 keys of each
 * kind are tracked (least recently seen dropped first, bulwark_top_evictions_total).
 */
import { Counter, Gauge } from 'prom-client';
import type { Config } from '../config/types.js';
import { WindowedTopN } from '../metrics/topn.js';
import type { Component, DaemonContext } from './types.js';

const MAX_KEYS = 1024;

export function topNComponent(ctx: DaemonContext): Component {
  let cfg: Config['metrics'] = ctx.config.metrics;
  let attackers = new WindowedTopN(cfg.topWindowMs, MAX_KEYS);
  let signatures = new WindowedTopN(cfg.topWindowMs, MAX_KEYS);
  let evictedBefore = 0; // evictions of tables replaced on reload, so the counter never goes down
  const now = (): number => ctx.clock.now();
  const registers = [ctx.registry];
  new Gauge({
    name: 'bulwark_top_attacker_alerts',
    help: 'Alerts per source address over the last metrics.topWindow, for the metrics.topN busiest sources only (bounded cardinality).',
    labelNames: ['address'],
    registers,
    collect() {
      this.reset();
      for (const t of attackers.top(cfg.topN, now())) this.set(t.labels, t.value);
    },
  });
  new Gauge({
    name: 'bulwark_top_signature_alerts',
    help: 'Alerts per signature over the last metrics.topWindow, for the metrics.topN busiest signatures only (bounded cardinality).',
    labelNames: ['signature_id', 'signature'],
    registers,
    collect() {
      this.reset();
      for (const t of signatures.top(cfg.topN, now())) this.set(t.labels, t.value);
    },
  });
  new Counter({
    name: 'bulwark_top_evictions_total',
    help: 'Keys dropped from the top-N tables (1024 sources and 1024 signatures tracked) to make room for new ones.',
    registers,
    collect() {
      this.reset();
      this.inc(evictedBefore + attackers.evicted + signatures.evicted);
    },
  });
  ctx.bus.onAlert((e) => {
    if (cfg.topN === 0) return;
    const n = Math.max(1, e.bulwark.count);
    const t = now();
    attackers.add(e.src_ip, { address: e.src_ip }, n, t);
    const id = String(e.alert.signature_id);
    signatures.add(id, { signature_id: id, signature: e.alert.signature.slice(0, 200) }, n, t);
  });
  return {
    name: 'topn',
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    reload(next) {
      if (next.metrics.topWindowMs !== cfg.topWindowMs) {
        evictedBefore += attackers.evicted + signatures.evicted;
        attackers = new WindowedTopN(next.metrics.topWindowMs, MAX_KEYS);
        signatures = new WindowedTopN(next.metrics.topWindowMs, MAX_KEYS);
      }
      cfg = next.metrics;
      return Promise.resolve();
    },
    status: () => ({ topN: cfg.topN, windowMs: cfg.topWindowMs, attackers: attackers.size, signatures: signatures.size }),
  };
}
