/**
 * Shared blocks, host side (docs/fleet.md "Shared blocks"):
 * - out: a detection that blocked here becomes a decision on bulwark.decisions.<scope>.<addr>.<hostId>
 *   (scope from `share`: the fleet, each of the host's groups, or nobody), capped per minute;
 *   published again when NATS comes back (bounded queue, newest kept);
 * - in: decisions of other hosts and operators, applied with the time left through the blocklist
 *   service (which keeps the never-block list authoritative), newest stream sequence per address
 *   wins; hosts may not unblock, operator decisions must carry a valid signature.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { BlockResult } from '../blocklist/types.js';
import type { Clock } from '../clock.js';
import type { ActionMode } from '../config/types.js';
import { errorMessage } from '../errors.js';
import { encodeJson, parseDecision } from './messages.js';
import type { FleetMetrics } from './metrics.js';
import { verifyEnvelope } from './sign.js';
import { originOf, scopeToken, subjects } from './subjects.js';
import { OPERATOR_ORIGIN, type Decision, type DropReason, type FleetConnection, type FleetMsg, type ShareScope } from './types.js';

/** What decisions need from the blocklist service (src/blocklist via src/service). */
export interface DecisionTarget {
  block(address: string, o: { durationMs: number; reason: string; signatureId?: number; eventId: string }): Promise<BlockResult>;
  unblock(address: string, reason: string): Promise<number>;
  /** Kernel read-back for acknowledgements: is the address in the kernel's blocked set? */
  kernelHas(address: string): Promise<boolean>;
}

export interface DecisionDeps {
  conn: FleetConnection;
  clock: Clock;
  log: Logger;
  metrics: FleetMetrics;
  hostId: string;
  groups: readonly string[];
  operators: ReadonlySet<string>;
  maxPerMinute: number;
  share: () => ShareScope;
  mode: () => ActionMode;
  target: DecisionTarget;
}

/** Longest block applied from a shared decision (the schema's bound on blockDuration). */
export const MAX_SHARED_MS = 30 * 86_400_000;
/** Bounds: remembered addresses, queued outgoing decisions. */
const MAX_TRACKED = 200_000;
const MAX_QUEUE = 10_000;
/** Operator unblocks older than this are applied without an acknowledgement (catch-up replay). */
const ACK_WINDOW_MS = 5 * 60_000;

class MinuteWindow {
  private readonly times = new Map<string, number[]>();
  constructor(private readonly limit: number) {}
  allow(key: string, now: number): boolean {
    let t = this.times.get(key);
    if (!t) {
      if (this.times.size > 10_000) this.times.clear();
      t = [];
      this.times.set(key, t);
    }
    while (t.length > 0 && t[0]! <= now - 60_000) t.shift();
    if (t.length >= this.limit) return false;
    t.push(now);
    return true;
  }
}

export class DecisionSync {
  /** address → newest stream sequence seen for a block / an unblock (newest wins). */
  private readonly lastBlock = new Map<string, number>();
  private readonly lastUnblock = new Map<string, number>();
  /** address → expiry last published by this host (repeats of the same block are not re-sent). */
  private readonly published = new Map<string, number>();
  private readonly queue = new Map<string, { subject: string; d: Decision }>();
  private readonly inRate: MinuteWindow;
  private readonly outRate: MinuteWindow;
  private flushing = false;

  constructor(private readonly d: DecisionDeps) {
    this.inRate = new MinuteWindow(d.maxPerMinute);
    this.outRate = new MinuteWindow(d.maxPerMinute);
  }

  /** Scopes this host follows: the fleet and each of its groups. */
  scopes(): string[] {
    return [scopeToken(undefined), ...this.d.groups.map((g) => scopeToken(g))];
  }

  // ------------------------------------------------------------ out

  /** A block committed here on a detection: share it (unless share: none). */
  share(address: string, expiresAt: number, reason: string, signatureId: number | undefined): void {
    const scope = this.d.share();
    if (scope === 'none') return;
    const now = this.d.clock.now();
    if ((this.published.get(address) ?? 0) >= expiresAt) return;
    if (!this.outRate.allow('self', now)) {
      this.d.metrics.published.inc({ result: 'rate-limit' });
      return;
    }
    this.published.set(address, expiresAt);
    if (this.published.size > MAX_TRACKED) this.published.clear();
    const d: Decision = { v: 1, id: randomUUID(), kind: 'block', address, origin: this.d.hostId, reason: reason.slice(0, 512), decidedAt: now, expiresAt };
    if (signatureId !== undefined) d.signatureId = signatureId;
    const scopes = scope === 'fleet' ? [scopeToken(undefined)] : this.d.groups.map((g) => scopeToken(g));
    for (const s of scopes) this.enqueue(subjects.decision(s, address, this.d.hostId), d);
    void this.flush();
  }

  private enqueue(subject: string, d: Decision): void {
    if (this.queue.size >= MAX_QUEUE) {
      const oldest = this.queue.keys().next().value;
      if (oldest !== undefined) this.queue.delete(oldest);
      this.d.metrics.published.inc({ result: 'failed' });
    }
    this.queue.delete(subject);
    this.queue.set(subject, { subject, d });
  }

  /** Publishes what is queued; stops at the first failure (retried on reconnect). */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.size > 0 && this.d.conn.state === 'connected') {
        const [key, item] = this.queue.entries().next().value!;
        if (item.d.expiresAt <= this.d.clock.now()) {
          this.queue.delete(key);
          continue;
        }
        try {
          await this.d.conn.publishStream(item.subject, encodeJson(item.d), { msgId: `${item.d.id}:${item.subject}`, timeoutMs: 3000 });
          if (this.queue.get(key) === item) this.queue.delete(key);
          this.d.metrics.published.inc({ result: 'published' });
        } catch (e) {
          this.d.metrics.published.inc({ result: 'queued' });
          this.d.log.warn({ err: errorMessage(e), queued: this.queue.size }, 'sharing a block decision failed; kept for retry');
          break;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  get queued(): number {
    return this.queue.size;
  }

  // ------------------------------------------------------------ in

  private drop(reason: DropReason, detail?: string, subject?: string): void {
    this.d.metrics.dropped.inc({ kind: 'decision', reason });
    this.d.log.debug({ reason, detail, subject }, 'fleet decision dropped');
  }

  /** One message from a decisions consumer. Never throws. */
  async onMessage(m: FleetMsg): Promise<void> {
    const now = this.d.clock.now();
    const origin = originOf(m.subject);
    let body: Uint8Array | string = m.data;
    if (origin === OPERATOR_ORIGIN) {
      const v = verifyEnvelope(m.data, this.d.operators);
      if (!v.ok) {
        this.drop(v.reason, undefined, m.subject);
        return;
      }
      body = v.body;
    }
    const p = parseDecision(body, now);
    if (!p.ok) {
      this.drop(p.reason, p.detail, m.subject);
      return;
    }
    const dec = p.value;
    // The subject's origin token is what server permissions enforce: the body must agree.
    if (dec.origin !== origin) {
      this.drop('not-allowed', `origin ${dec.origin} on a subject of ${origin}`, m.subject);
      return;
    }
    if (dec.kind === 'unblock' && origin !== OPERATOR_ORIGIN) {
      this.drop('not-allowed', 'only operators unblock fleet-wide', m.subject);
      return;
    }
    if (origin === this.d.hostId) {
      this.d.metrics.received.inc({ result: 'own' });
      return;
    }
    if (origin !== OPERATOR_ORIGIN && !this.inRate.allow(origin, now)) {
      this.drop('rate-limit', origin, m.subject);
      return;
    }
    if (this.lastBlock.size + this.lastUnblock.size > MAX_TRACKED) {
      this.lastBlock.clear();
      this.lastUnblock.clear();
    }
    if (dec.kind === 'unblock') await this.applyUnblock(dec, m.seq, now);
    else await this.applyBlock(dec, m.seq, now, m.pending);
  }

  private async applyBlock(dec: Decision, seq: number, now: number, pending: number): Promise<void> {
    if ((this.lastUnblock.get(dec.address) ?? 0) > seq) {
      this.d.metrics.received.inc({ result: 'stale' });
      return;
    }
    this.lastBlock.set(dec.address, Math.max(seq, this.lastBlock.get(dec.address) ?? 0));
    const mode = this.d.mode();
    if (mode !== 'block') {
      this.d.metrics.received.inc({ result: mode === 'alert' ? 'alert-mode' : 'dry-run' });
      return;
    }
    const durationMs = Math.min(dec.expiresAt - now, MAX_SHARED_MS);
    if (durationMs < 1000) {
      this.d.metrics.received.inc({ result: 'stale' });
      return;
    }
    try {
      const r = await this.d.target.block(dec.address, {
        durationMs,
        reason: `fleet: ${dec.reason} (from ${dec.origin})`,
        ...(dec.signatureId !== undefined ? { signatureId: dec.signatureId } : {}),
        eventId: dec.id,
      });
      const result = r.status === 'refused' ? r.reason : r.status;
      this.d.metrics.received.inc({ result });
      // Catch-up replays (pending > 0 or old decisions) would distort the live latency.
      if (r.status === 'blocked' && pending === 0 && now - dec.decidedAt < 60_000) this.d.metrics.latency.observe((this.d.clock.now() - dec.decidedAt) / 1000);
      if (r.status === 'blocked') this.d.log.info({ addr: dec.address, origin: dec.origin, expiresAt: new Date(dec.expiresAt).toISOString(), reason: dec.reason }, 'fleet decision applied: host blocked');
      else if (r.status === 'refused') this.d.log.info({ addr: dec.address, origin: dec.origin, refused: r.reason }, 'fleet decision not applied');
    } catch (e) {
      this.d.metrics.received.inc({ result: 'failed' });
      this.d.log.error({ err: errorMessage(e), addr: dec.address }, 'applying a fleet decision failed');
    }
  }

  private async applyUnblock(dec: Decision, seq: number, now: number): Promise<void> {
    if ((this.lastBlock.get(dec.address) ?? 0) > seq) {
      this.d.metrics.received.inc({ result: 'stale' });
      return;
    }
    this.lastUnblock.set(dec.address, Math.max(seq, this.lastUnblock.get(dec.address) ?? 0));
    let removed = 0;
    let error: string | undefined;
    try {
      removed = await this.d.target.unblock(dec.address, 'fleet unblock');
      this.d.metrics.received.inc({ result: 'unblocked' });
      if (removed > 0) this.d.log.info({ addr: dec.address, by: 'operator' }, 'fleet unblock applied');
    } catch (e) {
      error = errorMessage(e);
      this.d.metrics.received.inc({ result: 'failed' });
      this.d.log.error({ err: error, addr: dec.address }, 'applying a fleet unblock failed');
    }
    // Acknowledged whatever the connection state says: the message just arrived over it, and a
    // core publish while the client reconnects is buffered and sent once it is back (a host that
    // skipped the ack here was reported missing although it had applied the unblock).
    if (now - dec.decidedAt > ACK_WINDOW_MS || this.d.conn.state === 'closed') return;
    let inKernel: boolean | undefined;
    try {
      inKernel = await this.d.target.kernelHas(dec.address);
    } catch {
      inKernel = undefined;
    }
    const ack = { v: 1, orderId: dec.id, host: this.d.hostId, ok: error === undefined && inKernel === false, ...(error !== undefined ? { error } : {}), result: { address: dec.address, removed, inKernel }, at: this.d.clock.now() };
    try {
      this.d.conn.publish(subjects.acks(this.d.hostId, dec.id), encodeJson(ack));
    } catch {
      // connection closed for good: the operator sees no ack from this host and says so
    }
  }
}
