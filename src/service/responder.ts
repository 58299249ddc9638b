/**
 * Acting on detections (docs/response.md): each detection gets the response policy's decision,
 * is folded into "Network attack detected" events, and, when it should block, its source is
 * blocked (one request per source at a time, half-open evidence within its own cap) and the
 * attacker's established connections are destroyed. sshd login-failure findings take the same
 * path. Separate from the protection component, which owns capture, the engine and port
 * interception: this owns what happens after the engine has found something.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import type { BlockResult } from '../blocklist/types.js';
import type { Config } from '../config/types.js';
import { EventFolder, toAlertEvent } from '../engine/events.js';
import type { Detection } from '../engine/types.js';
import { errorMessage } from '../errors.js';
import type { LoginFailure } from '../respond/login/sshd.js';
import type { PolicyDecision } from '../respond/policy/types.js';
import type { BlocklistComponent } from './blocklist.js';
import { HalfOpenCap, halfOpenRefusal, SPOOFABLE } from './half-open.js';
import type { ResponsePolicy } from './response-policy.js';
import type { SocketKiller } from './sockets.js';
import type { DaemonContext } from './types.js';

export interface ResponderDeps {
  ctx: DaemonContext;
  log: Logger;
  /** Which detections block (response.policy). */
  policy: ResponsePolicy;
  /** The config in force (reloads replace it). */
  config: () => Config;
  /** How attacker connections are destroyed (chosen when protection starts). */
  killer: () => SocketKiller;
  /** The blocklist component's blocklist, when it runs. */
  blocklist: () => BlocklistComponent['blocklist'] | undefined;
}

export class Responder {
  /** Established connections of blocked attackers destroyed. */
  severedTotal = 0;
  private readonly ctx: DaemonContext;
  private readonly log: Logger;
  private readonly response: ResponsePolicy;
  private readonly folder: EventFolder;
  /** Blocks being committed, by source: a burst of detections asks once and shares the outcome. */
  private readonly blocking = new Map<string, Promise<BlockResult>>();
  private readonly halfOpenCap: HalfOpenCap;
  private readonly mHalfOpen: Counter<'outcome'>;
  private readonly mSevered: Counter;
  private readonly mAlerts: Counter<'severity' | 'kind' | 'response'>;

  constructor(private readonly d: ResponderDeps) {
    this.ctx = d.ctx;
    this.log = d.log;
    this.response = d.policy;
    const cfg = d.config();
    const reg = d.ctx.registry;
    this.folder = new EventFolder({
      windowMs: cfg.events.foldWindowMs,
      onFolded: (last, repeats) => {
        this.emitAlert(last, repeats, this.blockedUntil(last.srcIp), undefined, this.response.peek(last));
      },
    });
    this.halfOpenCap = new HalfOpenCap(cfg.response.maxHalfOpenBlocksPerMinute);
    this.mHalfOpen = new Counter({
      name: 'bulwark_half_open_blocks_total',
      help: 'Detections with half-open evidence (SYN, FIN/NULL/Xmas scans) by outcome: blocked, verified-peer (spared), cap (response.maxHalfOpenBlocksPerMinute hit), refused (never-block, alert mode...).',
      labelNames: ['outcome'],
      registers: [reg],
    });
    this.mSevered = new Counter({ name: 'bulwark_attacker_connections_severed_total', help: 'Established connections of blocked attackers destroyed.', registers: [reg] });
    this.mAlerts = new Counter({
      name: 'bulwark_alerts_total',
      help: 'Network attack detected events after folding (count includes folded repeats), by severity, kind (signature or detector kind) and response (blocked, alert, or why a block was skipped).',
      labelNames: ['severity', 'kind', 'response'],
      registers: [reg],
    });
  }

  private get cfg(): Config {
    return this.d.config();
  }

  /** The half-open cap follows a reload at once. */
  setConfig(next: Config): void {
    this.halfOpenCap.setMax(next.response.maxHalfOpenBlocksPerMinute);
  }

  /** Emits folded events whose window ended. */
  tick(now: number): void {
    this.folder.tick(now);
  }

  /** Emits every folded event now (protection stops). */
  flush(): void {
    this.folder.flush();
  }

  halfOpenStatus(): Record<string, unknown> {
    return { blocksLastMinute: this.halfOpenCap.used, maxPerMinute: this.cfg.response.maxHalfOpenBlocksPerMinute, capHits: this.halfOpenCap.hits };
  }

  private blocklist(): BlocklistComponent['blocklist'] | undefined {
    return this.d.blocklist();
  }

  private blockedUntil(addr: string): number | undefined {
    return this.blocklist()?.coveredBy(addr)?.expiresAtMs;
  }

  onDetection(d: Detection): void {
    this.ctx.bus.emitDetection(d);
    const dec = this.response.decide(d);
    // `ignore`: as if the signature had not matched (no event, no block); counted in metrics.
    if (dec.action === 'ignore') return;
    const emitNow = this.folder.offer(d);
    // Folding quiets the log, never the response: a repeat within the fold window from a source
    // that is not blocked (e.g. unblocked a minute ago) is blocked again.
    if (!emitNow && !this.wantsBlock(d, dec)) return;
    void this.respond(d, emitNow, dec).catch((e: unknown) => {
      this.log.error({ err: errorMessage(e), src: d.srcIp }, 'response failed');
      this.emitAlert(d, 1, undefined, `block failed: ${errorMessage(e)}`, dec);
    });
  }

  /**
   * sshd reported loginFailures.maxFailures failures from `addr` within the window: sshd only
   * gets to authentication over a completed TCP handshake, so the address is real (not spoofable).
   */
  onLoginFailures(addr: string, failures: number, last: LoginFailure): void {
    const d: Detection = {
      timestampMs: this.ctx.clock.now(),
      flowId: 0n,
      srcIp: addr,
      srcPort: 0,
      destIp: '',
      destPort: 22,
      proto: 'TCP',
      signatureId: LOGIN_FAILURE_SID,
      rev: 1,
      signature: 'BruteForce.SSH.LoginFailures',
      category: 'Attempted User Privilege Gain',
      severity: 'high',
      action: 'block',
      handshakeCompleted: true,
      evidence: 'login-failure',
      details: { failures, window_s: Math.round(this.cfg.loginFailures.windowMs / 1000), last_user: last.user, last_kind: last.kind },
    };
    this.ctx.bus.emitDetection(d);
    const dec: PolicyDecision = { action: 'block', rule: 'loginFailures', reason: `${failures} sshd authentication failures within loginFailures.window` };
    const emitNow = this.folder.offer(d);
    if (!emitNow && !this.wantsBlock(d, dec)) return;
    void this.respond(d, emitNow, dec).catch((e: unknown) => {
      this.log.error({ err: errorMessage(e), src: addr }, 'response failed');
      this.emitAlert(d, 1, undefined, `block failed: ${errorMessage(e)}`, dec);
    });
  }

  private wantsBlock(d: Detection, dec: PolicyDecision): boolean {
    if (dec.action !== 'block' || this.blocking.has(d.srcIp)) return false;
    if (!d.handshakeCompleted && halfOpenRefusal(d, this.cfg.response) !== undefined) return false;
    const bl = this.blocklist();
    return bl !== undefined && bl.coveredBy(d.srcIp) === undefined;
  }

  private async respond(d: Detection, emitNow: boolean, dec: PolicyDecision): Promise<void> {
    if (dec.action !== 'block') {
      this.emitAlert(d, 1, undefined, undefined, dec);
      return;
    }
    const halfOpen = !d.handshakeCompleted;
    if (halfOpen) {
      const why = halfOpenRefusal(d, this.cfg.response);
      if (why !== undefined) {
        if (d.verifiedPeer === true && why !== SPOOFABLE) this.mHalfOpen.inc({ outcome: 'verified-peer' });
        this.emitAlert(d, 1, undefined, why, dec);
        return;
      }
    }
    const bl = this.blocklist();
    if (!bl) {
      this.emitAlert(d, 1, undefined, 'blocklist unavailable', dec);
      return;
    }
    const eventId = randomUUID();
    const inFlight = this.blocking.get(d.srcIp);
    if (inFlight) {
      // Another detection from this source is being blocked: report this one with that outcome.
      const r = await inFlight;
      if (emitNow) this.emitAlert(d, 1, r.status === 'refused' ? undefined : r.entry.expiresAtMs, r.status === 'refused' ? r.reason : undefined, dec, eventId);
      return;
    }
    // Already blocked: extending it costs no half-open slot.
    const needsSlot = halfOpen && bl.coveredBy(d.srcIp) === undefined;
    if (needsSlot && !this.halfOpenCap.take(this.ctx.clock.now())) {
      this.mHalfOpen.inc({ outcome: 'cap' });
      if (emitNow) this.emitAlert(d, 1, undefined, `half-open cap: ${this.cfg.response.maxHalfOpenBlocksPerMinute} half-open-evidence blocks per minute reached`, dec, eventId);
      return;
    }
    const p = bl.block(d.srcIp, { reason: d.signature, signatureId: d.signatureId, eventId, source: 'detection', detectedAtMs: d.timestampMs });
    this.blocking.set(d.srcIp, p);
    let r: BlockResult;
    try {
      r = await p;
    } catch (e) {
      if (needsSlot) this.halfOpenCap.release();
      throw e;
    } finally {
      this.blocking.delete(d.srcIp);
    }
    if (r.status === 'refused') {
      if (needsSlot) {
        this.halfOpenCap.release();
        this.mHalfOpen.inc({ outcome: 'refused' });
      }
      if (emitNow) this.emitAlert(d, 1, undefined, r.reason, dec, eventId);
      return;
    }
    if (needsSlot) this.mHalfOpen.inc({ outcome: 'blocked' });
    this.emitAlert(d, 1, r.entry.expiresAtMs, undefined, dec, eventId);
    try {
      const n = await this.d.killer().killPeer(d.srcIp);
      this.severedTotal += n;
      this.mSevered.inc(n);
    } catch (e) {
      this.log.warn({ err: errorMessage(e), src: d.srcIp }, 'severing the attacker connections failed');
    }
  }

  private emitAlert(d: Detection, count: number, blockedUntilMs: number | undefined, skipped: string | undefined, dec: PolicyDecision, eventId: string = randomUUID()): void {
    const ev = toAlertEvent(d, {
      action: blockedUntilMs !== undefined ? 'blocked' : 'allowed',
      count,
      eventId,
      payload: this.cfg.events.payload,
      packet: this.cfg.events.packet,
      references: this.cfg.events.references,
      ...(blockedUntilMs !== undefined ? { blockedUntilMs } : {}),
      ...(skipped !== undefined ? { blockSkipped: skipped } : {}),
    });
    if (dec.action !== 'ignore') ev.bulwark.response = { action: dec.action, policy_rule: dec.rule, reason: dec.reason };
    const response = blockedUntilMs !== undefined ? 'blocked' : dec.action === 'alert' ? 'alert' : (skipped ?? 'alert').split(':')[0] ?? 'alert';
    this.mAlerts.inc({ severity: d.severity, kind: d.detector ?? 'signature', response: boundedResponse(response) }, count);
    this.ctx.bus.emitAlert(ev);
  }
}

/** alert.signature_id of login-failure findings (next to the shipped detectors' 91000xx). */
export const LOGIN_FAILURE_SID = 9100010;

const RESPONSES = new Set(['blocked', 'alert', 'spoofable evidence', 'verified peer', 'half-open cap', 'never-block', 'rate-limit', 'alert-mode', 'dry-run', 'blocklist unavailable', 'block failed']);
function boundedResponse(r: string): string {
  return RESPONSES.has(r) ? r : 'other';
}
