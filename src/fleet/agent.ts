/**
 * FleetAgent: one host's side of fleet mode over a FleetConnection. Follows the decision scopes,
 * its orders and its policy keys; shares its own blocks; copies events to the events stream;
 * keeps its record in the fleet view. Everything it changes on the host goes through the
 * interfaces it is given (DecisionTarget, OrderExecutor, onPolicy): no kernel or file logic here,
 * except its own small state file (order sequence, answered orders).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { ActionMode } from '../config/types.js';
import { errorMessage } from '../errors.js';
import { DecisionSync, type DecisionTarget } from './decisions.js';
import { encodeJson } from './messages.js';
import { createFleetMetrics, type FleetMetrics } from './metrics.js';
import { OrderHandler, type OrderExecutor } from './orders.js';
import type { PolicyStore } from './policy-store.js';
import { subjects } from './subjects.js';
import { KV_HOSTS, KV_POLICY, STREAM_DECISIONS, STREAM_ORDERS, type ConnState, type FleetConnection, type FleetMsg, type FleetSub, type HostRecord, type OrderAck, type ShareScope } from './types.js';

export const AGENT_STATE_FILE = 'fleet-state.json';
/** Decisions applied concurrently during a catch-up (the blocklist batches them). */
const MAX_INFLIGHT = 256;

export interface AgentDeps {
  conn: FleetConnection;
  clock: Clock;
  log: Logger;
  registry: Registry;
  hostId: string;
  name: string;
  groups: readonly string[];
  operators: readonly string[];
  version: string;
  maxDecisionsPerMinute: number;
  heartbeatMs: number;
  stateDir: string | undefined;
  share: () => ShareScope;
  mode: () => ActionMode;
  target: DecisionTarget;
  exec: OrderExecutor;
  policy: PolicyStore;
  /** Called after the effective policy changed (live update from the KV); rejects when refused. */
  onPolicyChanged: () => Promise<void>;
  /** The parts of the host record the host knows (protection, blocks, isolation). */
  hostState: () => Pick<HostRecord, 'protection' | 'blocks' | 'isolation'>;
}

export class FleetAgent {
  readonly metrics: FleetMetrics;
  private readonly decisions: DecisionSync;
  private readonly orders: OrderHandler;
  private readonly subs: FleetSub[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private readonly done = new Map<string, OrderAck>();
  private ordersSeq = 0;
  private reconnects = 0;
  private lastError: string | undefined;
  private lastState: ConnState = 'connecting';
  private lastHeartbeat: number | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private touchTimer: NodeJS.Timeout | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private readonly pending: Record<string, number> = {};
  private eventsDropped = 0;
  private eventsPublished = 0;
  private running = false;

  constructor(private readonly d: AgentDeps) {
    this.metrics = createFleetMetrics([d.registry]);
    const ops = new Set(d.operators);
    this.decisions = new DecisionSync({
      conn: d.conn,
      clock: d.clock,
      log: d.log,
      metrics: this.metrics,
      hostId: d.hostId,
      groups: d.groups,
      operators: ops,
      maxPerMinute: d.maxDecisionsPerMinute,
      share: d.share,
      mode: d.mode,
      target: d.target,
    });
    this.orders = new OrderHandler({
      conn: d.conn,
      clock: d.clock,
      log: d.log,
      metrics: this.metrics,
      hostId: d.hostId,
      operators: ops,
      exec: d.exec,
      done: this.done,
      onProcessed: (seq) => {
        if (seq > this.ordersSeq) this.ordersSeq = seq;
        this.scheduleSave();
      },
    });
    this.metrics.connected.set(0);
    this.metrics.reconnects.inc(0);
  }

  start(): void {
    this.running = true;
    this.loadState();
    this.d.conn.onState((s, detail) => {
      this.onState(s, detail);
    });
    this.onState(this.d.conn.state);
    for (const scope of this.decisions.scopes()) {
      this.subs.push(
        this.d.conn.follow(STREAM_DECISIONS, subjects.decisionsScope(scope), 'all', (m) => this.onDecision(m)),
      );
    }
    this.subs.push(
      this.d.conn.follow(STREAM_ORDERS, subjects.orders(this.d.hostId), this.ordersSeq > 0 ? { seq: this.ordersSeq + 1 } : 'all', async (m) => {
        this.pending.orders = m.pending;
        this.metrics.pending.set({ consumer: 'orders' }, m.pending);
        await this.orders.onMessage(m);
        this.touch();
      }),
    );
    for (const key of this.d.policy.followed) {
      this.subs.push(
        this.d.conn.kvWatch(KV_POLICY, key, (e) => {
          const r = this.d.policy.set(key, e.value);
          if (r.dropped !== undefined) {
            this.metrics.dropped.inc({ kind: 'policy', reason: r.dropped });
            this.d.log.error({ key, reason: r.dropped, detail: r.detail }, 'fleet policy refused; keeping the previous one');
            return;
          }
          if (!r.changed) return;
          try {
            this.d.policy.save();
          } catch (e2) {
            this.d.log.warn({ err: errorMessage(e2) }, 'fleet policy cache not written');
          }
          this.d.onPolicyChanged().then(
            () => {
              this.metrics.policy.inc({ result: 'applied' });
            },
            () => {
              this.metrics.policy.inc({ result: 'refused' });
            },
          );
          this.touch();
        }),
      );
    }
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.d.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const s of this.subs) s.stop();
    this.subs.length = 0;
    for (const t of [this.heartbeatTimer, this.touchTimer, this.saveTimer]) if (t) clearTimeout(t);
    await Promise.allSettled([...this.inflight]);
    this.saveState();
  }

  private onState(s: ConnState, detail?: string): void {
    if (s === 'connected' && this.lastState === 'reconnecting') {
      this.reconnects++;
      this.metrics.reconnects.inc();
    }
    if (s !== this.lastState) this.d.log[s === 'connected' ? 'info' : 'warn']({ state: s, server: detail }, `fleet: ${s}`);
    this.lastState = s;
    this.metrics.connected.set(s === 'connected' ? 1 : 0);
    if (s === 'closed' && detail !== undefined) this.lastError = detail;
    if (s === 'connected' && this.running) {
      void this.decisions.flush();
      void this.heartbeat();
    }
  }

  private onDecision(m: FleetMsg): Promise<void> | undefined {
    this.pending.decisions = m.pending;
    this.metrics.pending.set({ consumer: 'decisions' }, m.pending);
    const p: Promise<void> = this.decisions.onMessage(m).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
    if (this.inflight.size >= MAX_INFLIGHT) return Promise.race(this.inflight).then(() => undefined);
    return undefined;
  }

  /** A block this host committed on a detection (from the alert bus). */
  shareBlock(address: string, expiresAt: number, reason: string, signatureId: number | undefined): void {
    this.decisions.share(address, expiresAt, reason, signatureId);
  }

  /** Copies an EVE event to bulwark.events.<hostId>.<type>. */
  publishEvent(e: Record<string, unknown>): void {
    const type = typeof e.event_type === 'string' ? e.event_type : 'event';
    try {
      this.d.conn.publish(subjects.events(this.d.hostId, type), encodeJson({ ...e, host: { id: this.d.hostId, name: this.d.name } }));
      this.eventsPublished++;
      this.metrics.events.inc({ result: 'published' });
    } catch {
      this.eventsDropped++;
      this.metrics.events.inc({ result: 'dropped' });
    }
  }

  /** Something in the host record changed: refresh it soon (debounced). */
  touch(): void {
    if (this.touchTimer || !this.running) return;
    this.touchTimer = setTimeout(() => {
      this.touchTimer = undefined;
      void this.heartbeat();
    }, 200);
    this.touchTimer.unref();
  }

  private async heartbeat(): Promise<void> {
    if (this.d.conn.state !== 'connected') return;
    const rec: HostRecord = {
      v: 1,
      hostId: this.d.hostId,
      name: this.d.name,
      groups: [...this.d.groups],
      version: this.d.version,
      ...this.d.hostState(),
      policy: this.d.policy.effective.keys,
      lastSeen: this.d.clock.now(),
    };
    try {
      await this.d.conn.kvPut(KV_HOSTS, this.d.hostId, encodeJson(rec));
      this.lastHeartbeat = rec.lastSeen;
    } catch (e) {
      this.lastError = errorMessage(e);
      this.d.log.debug({ err: this.lastError }, 'fleet heartbeat failed');
    }
  }

  status(): Record<string, unknown> {
    return {
      hostId: this.d.hostId,
      name: this.d.name,
      groups: this.d.groups,
      connection: this.d.conn.state,
      reconnects: this.reconnects,
      lastError: this.lastError ?? null,
      lastHeartbeat: this.lastHeartbeat === undefined ? null : new Date(this.lastHeartbeat).toISOString(),
      share: this.d.share(),
      decisionsQueued: this.decisions.queued,
      pending: { ...this.pending },
      ordersSeq: this.ordersSeq,
      events: { published: this.eventsPublished, dropped: this.eventsDropped },
    };
  }

  private scheduleSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.saveState();
    }, 200);
    this.saveTimer.unref();
  }

  private loadState(): void {
    if (this.d.stateDir === undefined) return;
    try {
      const s = JSON.parse(readFileSync(join(this.d.stateDir, AGENT_STATE_FILE), 'utf8')) as { ordersSeq?: unknown; done?: unknown };
      if (typeof s.ordersSeq === 'number' && Number.isInteger(s.ordersSeq) && s.ordersSeq >= 0) this.ordersSeq = s.ordersSeq;
      if (Array.isArray(s.done)) {
        for (const a of s.done as OrderAck[]) if (typeof a.orderId === 'string') this.done.set(a.orderId, a);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.d.log.warn({ err: errorMessage(e) }, `${AGENT_STATE_FILE} unreadable; orders are replayed from the stream (their ids and expiry keep that safe)`);
    }
  }

  private saveState(): void {
    if (this.d.stateDir === undefined) return;
    try {
      mkdirSync(this.d.stateDir, { recursive: true, mode: 0o750 });
      const file = join(this.d.stateDir, AGENT_STATE_FILE);
      writeFileSync(`${file}.tmp`, JSON.stringify({ version: 1, ordersSeq: this.ordersSeq, done: [...this.done.values()] }), { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    } catch (e) {
      this.d.log.warn({ err: errorMessage(e) }, `${AGENT_STATE_FILE} not written`);
    }
  }
}
