/**
 * Operator orders, host side: bulwark.orders.<hostId> carries signed envelopes. An order is
 * executed once (its id is remembered: a re-delivery gets the first acknowledgement again), only
 * before its expiry, only for this host, only when signed by a key in fleet.operators. The
 * acknowledgement carries the kernel read-back the executor returns.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import { encodeJson, parseOrder } from './messages.js';
import type { FleetMetrics } from './metrics.js';
import { verifyEnvelope } from './sign.js';
import { subjects } from './subjects.js';
import type { DropReason, FleetConnection, FleetMsg, Order, OrderAck } from './types.js';

/** What orders do, through the existing isolation service (src/service wires it). */
export interface OrderExecutor {
  isolate(args: { forMs?: number; reason: string }): Promise<unknown>;
  release(): Promise<unknown>;
  /** Device-scope isolation exclusions: op add|edit|remove|enable|disable|list. */
  exclusion(op: string, ref: string | undefined, rule: Record<string, unknown> | undefined): Promise<unknown>;
}

export interface OrderDeps {
  conn: FleetConnection;
  clock: Clock;
  log: Logger;
  metrics: FleetMetrics;
  hostId: string;
  operators: ReadonlySet<string>;
  exec: OrderExecutor;
  /** Remembered acks (persisted by the caller), oldest first. */
  done: Map<string, OrderAck>;
  onProcessed: (seq: number) => void;
}

const MAX_DONE = 1000;
const EXCLUSION_OPS = new Set(['add', 'edit', 'remove', 'enable', 'disable', 'list']);

function optString(v: unknown, max: number): string | undefined {
  return typeof v === 'string' && v.length <= max ? v : undefined;
}

export class OrderHandler {
  /** One order at a time, whatever the delivery does: the idempotency check needs it. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly d: OrderDeps) {}

  onMessage(m: FleetMsg): Promise<void> {
    const run = async (): Promise<void> => {
      try {
        await this.handle(m);
      } finally {
        this.d.onProcessed(m.seq);
      }
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private drop(reason: DropReason, detail?: string): void {
    this.d.metrics.dropped.inc({ kind: 'order', reason });
    this.d.log.warn({ reason, detail }, 'fleet order dropped');
  }

  private async handle(m: FleetMsg): Promise<void> {
    const v = verifyEnvelope(m.data, this.d.operators);
    if (!v.ok) {
      this.drop(v.reason, m.subject);
      return;
    }
    const p = parseOrder(v.body, this.d.hostId, this.d.clock.now());
    if (!p.ok) {
      this.drop(p.reason, p.detail);
      return;
    }
    const o = p.value;
    const prev = this.d.done.get(o.id);
    if (prev) {
      this.d.metrics.orders.inc({ kind: o.kind, result: 'repeated' });
      this.reply(prev);
      return;
    }
    let ack: OrderAck;
    try {
      const result = await this.execute(o, v.key);
      ack = { v: 1, orderId: o.id, host: this.d.hostId, ok: true, result, at: this.d.clock.now() };
      this.d.metrics.orders.inc({ kind: o.kind, result: 'ok' });
      this.d.log.warn({ order: o.id, kind: o.kind, by: v.key, args: o.args }, `fleet order executed: ${o.kind}`);
    } catch (e) {
      ack = { v: 1, orderId: o.id, host: this.d.hostId, ok: false, error: errorMessage(e), at: this.d.clock.now() };
      this.d.metrics.orders.inc({ kind: o.kind, result: 'failed' });
      this.d.log.error({ order: o.id, kind: o.kind, err: errorMessage(e) }, 'fleet order failed');
    }
    this.d.done.set(o.id, ack);
    while (this.d.done.size > MAX_DONE) this.d.done.delete(this.d.done.keys().next().value!);
    this.reply(ack);
  }

  private reply(ack: OrderAck): void {
    try {
      this.d.conn.publish(subjects.acks(this.d.hostId, ack.orderId), encodeJson(ack));
    } catch (e) {
      this.d.log.warn({ err: errorMessage(e), order: ack.orderId }, 'order acknowledgement not sent');
    }
  }

  private async execute(o: Order, by: string): Promise<unknown> {
    const a = o.args;
    switch (o.kind) {
      case 'isolate': {
        const forMs = a.forMs;
        if (forMs !== undefined && (typeof forMs !== 'number' || !Number.isInteger(forMs) || forMs <= 0)) throw new Error('forMs must be a positive integer');
        const reason = optString(a.reason, 500) ?? `fleet order ${o.id} by ${by.slice(0, 12)}…`;
        return this.d.exec.isolate({ reason, ...(typeof forMs === 'number' ? { forMs } : {}) });
      }
      case 'release':
        return this.d.exec.release();
      case 'exclusion': {
        const op = optString(a.op, 16);
        if (op === undefined || !EXCLUSION_OPS.has(op)) throw new Error(`exclusion op must be one of ${[...EXCLUSION_OPS].join(', ')}`);
        const rule = a.rule;
        if (rule !== undefined && (typeof rule !== 'object' || rule === null || Array.isArray(rule))) throw new Error('rule must be an object');
        return this.d.exec.exclusion(op, optString(a.ref, 64), rule as Record<string, unknown> | undefined);
      }
    }
  }
}
