/** Deadline arithmetic (pure; time comes from the caller's Clock). */
import { ISOLATION_FALLBACK_MS } from '../config/types.js';
import { parseDuration, formatDurationMs, formatHuman } from '../config/units.js';
import { BulwarkError } from '../errors.js';
import { MAX_ISOLATION_MS, MIN_ISOLATION_MS } from './types.js';

export interface DurationConfig {
  autoEnd: boolean;
  durationMs: number;
}

/** "90m", "8h", "1d", "1h30m" → ms, within [1 s, 30 d]. Throws BULWARK_ERR_INVALID_ARGUMENT. */
export function parseIsolationDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `"${text}" is not a duration (examples: 90m, 8h, 1d, 30s)`);
  checkIsolationDuration(ms);
  return ms;
}

export function checkIsolationDuration(ms: number): void {
  if (!Number.isFinite(ms) || ms < MIN_ISOLATION_MS || ms > MAX_ISOLATION_MS) {
    throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `isolation duration must be between ${formatDurationMs(MIN_ISOLATION_MS)} and ${formatDurationMs(MAX_ISOLATION_MS)}`);
  }
}

/**
 * How long an isolation lasts: the per-call --for wins; else the configured duration when the
 * automatic end is on; else the 5-hour fallback (isolation never lasts forever).
 */
export function isolationLengthMs(cfg: DurationConfig, forMs: number | undefined): number {
  if (forMs !== undefined) return forMs;
  return cfg.autoEnd ? cfg.durationMs : ISOLATION_FALLBACK_MS;
}

export function deadline(nowMs: number, cfg: DurationConfig, forMs: number | undefined): number {
  return nowMs + isolationLengthMs(cfg, forMs);
}

/** Time left, never negative. */
export function timeLeftMs(endsAtMs: number, nowMs: number): number {
  return Math.max(0, endsAtMs - nowMs);
}

/**
 * Whether a stored isolation should be put back in the kernel after a restart: only with at least
 * one second left (the kernel's timeout granularity we rely on); otherwise it has expired.
 */
export function shouldReapply(endsAtMs: number, nowMs: number): boolean {
  return endsAtMs - nowMs >= MIN_ISOLATION_MS;
}

/** "2h 14m 5s" for status output (whole seconds, rounded). */
export function formatLeft(ms: number): string {
  const s = Math.round(ms / 1000);
  return s <= 0 ? '0s' : formatHuman(s * 1000, ' ');
}
