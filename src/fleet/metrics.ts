/** Fleet metrics (docs/metrics.md "Fleet"). Labels are bounded: fixed result/reason sets. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface FleetMetrics {
  connected: Gauge;
  reconnects: Counter;
  pending: Gauge<'consumer'>;
  received: Counter<'result'>;
  published: Counter<'result'>;
  dropped: Counter<'kind' | 'reason'>;
  latency: Histogram;
  orders: Counter<'kind' | 'result'>;
  policy: Counter<'result'>;
  events: Counter<'result'>;
}

export function createFleetMetrics(registers: Registry[]): FleetMetrics {
  return {
    connected: new Gauge({ name: 'bulwark_fleet_connected', help: '1 while connected to a NATS server of the fleet, else 0.', registers }),
    reconnects: new Counter({ name: 'bulwark_fleet_reconnects_total', help: 'Reconnections to the fleet NATS cluster after a lost connection.', registers }),
    pending: new Gauge({ name: 'bulwark_fleet_consumer_pending', help: 'Messages the server still holds for this host (lag), by consumer (decisions, orders).', labelNames: ['consumer'], registers }),
    received: new Counter({
      name: 'bulwark_fleet_decisions_received_total',
      help: 'Shared decisions received and what became of them (blocked, extended, covered, unblocked, never-block, alert-mode, dry-run, stale, own, failed).',
      labelNames: ['result'],
      registers,
    }),
    published: new Counter({ name: 'bulwark_fleet_decisions_published_total', help: 'Block decisions this host shared (published, rate-limit, failed, queued).', labelNames: ['result'], registers }),
    dropped: new Counter({
      name: 'bulwark_fleet_messages_dropped_total',
      help: 'Incoming fleet messages dropped, by kind (decision, order, policy) and reason (malformed, oversized, expired, other-host, unsigned, unknown-key, bad-signature, too-wide, rate-limit, not-allowed, duplicate).',
      labelNames: ['kind', 'reason'],
      registers,
    }),
    latency: new Histogram({
      name: 'bulwark_fleet_decision_latency_seconds',
      help: 'From the decision on the origin host to the block committed in this host\'s kernel set (live decisions only; includes clock skew between hosts).',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    orders: new Counter({ name: 'bulwark_fleet_orders_total', help: 'Operator orders executed, by kind (isolate, release, exclusion) and result (ok, failed, repeated).', labelNames: ['kind', 'result'], registers }),
    policy: new Counter({ name: 'bulwark_fleet_policy_updates_total', help: 'Fleet policy changes: applied, or refused (the merged configuration was rejected; the last good one stays).', labelNames: ['result'], registers }),
    events: new Counter({ name: 'bulwark_fleet_events_published_total', help: 'EVE events copied to the fleet events stream (published) or lost (dropped: not connected yet).', labelNames: ['result'], registers }),
  };
}
