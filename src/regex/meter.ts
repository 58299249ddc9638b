/**
 * Running regexes under an inspection budget. The match limit bounds one match; a packet can
 * still run many (candidate signatures × retries × pending re-verifications), so the engine runs
 * every regex through a RegexMeter: it applies the configured limits, counts outcomes (limit hits
 * per signature, bounded) and, once a packet has spent its regex time, or the engine its regex
 * time of the current second, skips the remaining regex checks (counted) so later packets and the
 * control socket are served. Time comes from an injected monotonic clock.
 */
import type { Regex } from './regex.js';
import { DEFAULT_LIMITS, REGEX_ERROR, REGEX_LIMIT, REGEX_NOMATCH, REGEX_SKIPPED, type RegexLimits } from './types.js';

export interface RegexMeter {
  /**
   * Regex.exec under the meter's limits (`override`: the Suricata `O` limits), or REGEX_SKIPPED
   * when the budget is spent. `owner` is the signature id the regex belongs to (for counters).
   */
  exec(re: Regex, subject: Uint8Array, start: number, end: number, ovector: Int32Array, from: number, override: boolean, owner: number): number;
}

/** No budget, default limits, no counters: tools and tests that verify one buffer. */
export const UNMETERED: RegexMeter = {
  exec: (re, subject, start, end, ovector, from) => re.exec(subject, start, end, ovector, from, DEFAULT_LIMITS),
};

export interface RegexBudgetOptions {
  limits: RegexLimits;
  /** Limits of regexes with Suricata's `O` modifier. */
  overrideLimits: RegexLimits;
  /** Regex time one packet may use, ms (0 = unbounded). */
  packetBudgetMs: number;
  /** Regex time all packets together may use per second, ms (0 = unbounded). */
  secondBudgetMs: number;
  /** Monotonic milliseconds (performance.now in the daemon; tests inject one). */
  now: () => number;
  /** Signatures whose limit hits are counted one by one; the others are counted together. Default 256. */
  maxTrackedSignatures?: number;
  /** Called the first time a tracked signature hits a limit (a log line; bounded by maxTrackedSignatures). */
  onFirstLimitHit?: (signatureId: number, source: string) => void;
}

export interface RegexCounters {
  /** Regex matches run. */
  executions: number;
  matches: number;
  noMatches: number;
  /** Matches stopped by the match, depth, heap or JIT stack limit (no match, like Suricata). */
  limitHits: number;
  /** Other matching errors (no match). */
  errors: number;
  /** Regex checks not run because a budget was spent. */
  skipped: number;
  /** Packets whose regex budget ran out. */
  packetBudgetExhausted: number;
  /** Seconds whose regex budget ran out. */
  secondBudgetExhausted: number;
  /** Regex time spent, ms. */
  timeMs: number;
}

export interface RegexStats extends RegexCounters {
  /** Limit hits per signature id (the top ones, at most 20), most first. */
  limitHitsBySignature: { signatureId: number; limitHits: number }[];
  /** Limit hits of signatures past the tracked bound. */
  limitHitsUntracked: number;
}

export class RegexBudget implements RegexMeter {
  readonly counters: RegexCounters = {
    executions: 0,
    matches: 0,
    noMatches: 0,
    limitHits: 0,
    errors: 0,
    skipped: 0,
    packetBudgetExhausted: 0,
    secondBudgetExhausted: 0,
    timeMs: 0,
  };
  private readonly o: RegexBudgetOptions;
  private readonly maxTracked: number;
  private readonly bySignature = new Map<number, number>();
  private untracked = 0;
  /**
   * Milliseconds spent (fractional). -0 makes V8 store them as doubles from the start: from the
   * small integer 0, the first regex run changed the fields' representation, and with it this
   * object's shape, which deoptimized every function optimized with the old one (the engine's
   * processPacket, which inlines beginPacket).
   */
  private packetSpent = -0;
  private packetExhausted = false;
  private secondStart = -Infinity;
  private secondSpent = -0;
  private secondExhausted = false;

  constructor(o: RegexBudgetOptions) {
    this.o = o;
    this.maxTracked = o.maxTrackedSignatures ?? 256;
  }

  /** A new packet: its budget starts afresh (the per-second one continues). */
  beginPacket(): void {
    this.packetSpent = 0;
    this.packetExhausted = false;
  }

  exec(re: Regex, subject: Uint8Array, start: number, end: number, ovector: Int32Array, from: number, override: boolean, owner: number): number {
    const o = this.o;
    const t0 = o.now();
    if (t0 - this.secondStart >= 1000) {
      this.secondStart = t0;
      this.secondSpent = 0;
      this.secondExhausted = false;
    }
    if (this.packetExhausted || this.secondExhausted) {
      this.counters.skipped++;
      return REGEX_SKIPPED;
    }
    const rc = re.exec(subject, start, end, ovector, from, override ? o.overrideLimits : o.limits);
    const spent = o.now() - t0;
    const c = this.counters;
    c.executions++;
    c.timeMs += spent;
    this.packetSpent += spent;
    this.secondSpent += spent;
    if (o.packetBudgetMs > 0 && this.packetSpent >= o.packetBudgetMs) {
      this.packetExhausted = true;
      c.packetBudgetExhausted++;
    }
    if (o.secondBudgetMs > 0 && this.secondSpent >= o.secondBudgetMs) {
      this.secondExhausted = true;
      c.secondBudgetExhausted++;
    }
    if (rc > 0) c.matches++;
    else if (rc === REGEX_NOMATCH) c.noMatches++;
    else if (rc === REGEX_LIMIT) this.limitHit(owner, re);
    else if (rc === REGEX_ERROR) c.errors++;
    return rc;
  }

  private limitHit(owner: number, re: Regex): void {
    this.counters.limitHits++;
    const n = this.bySignature.get(owner);
    if (n !== undefined) this.bySignature.set(owner, n + 1);
    else if (this.bySignature.size < this.maxTracked) {
      this.bySignature.set(owner, 1);
      this.o.onFirstLimitHit?.(owner, re.source);
    } else this.untracked++;
  }

  stats(): RegexStats {
    const top = [...this.bySignature.entries()]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, 20)
      .map(([signatureId, limitHits]) => ({ signatureId, limitHits }));
    return { ...this.counters, limitHitsBySignature: top, limitHitsUntracked: this.untracked };
  }
}

export { REGEX_SKIPPED };
