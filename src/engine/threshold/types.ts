/**
 * Alert filtering after a signature matched, before it alerts: Suricata's global thresholds
 * (threshold.config: `suppress`, `threshold` / `event_filter`, `rate_filter`) together with the
 * rule's own `threshold` / `detection_filter` keyword. docs/response.md "threshold.config".
 *
 * The detect stage calls AlertFilter.check() once per match that would alert, after the match's
 * side effects (flowbits) were applied: a suppressed or thresholded match still sets its flowbits,
 * as in Suricata.
 */
import type { RateFilter } from '../../signatures/types.js';

/** How matches are counted: per source, per destination, per rule, or per address pair. */
export type TrackBy = 'by_src' | 'by_dst' | 'by_rule' | 'by_both' | 'by_flow';

interface EntryBase {
  /** Line of the entry in the file (the first line of a continued entry). */
  line: number;
  /** 0 = every generator (only with sid 0). */
  gid: number;
  /** 0 = every signature (of `gid`, or of every generator when gid is 0). */
  sid: number;
}

/** `threshold` / `event_filter` (an alias): replaces the rule's own threshold for that sid. */
export interface ThresholdEntry extends EntryBase {
  kind: 'threshold';
  keyword: 'threshold' | 'event_filter';
  type: 'limit' | 'threshold' | 'both';
  track: TrackBy;
  count: number;
  seconds: number;
}

/** Suricata new_action values; `log` and `sdrop` are parsed but, as in Suricata, change nothing. */
export type NewAction = 'alert' | 'drop' | 'reject' | 'pass' | 'log' | 'sdrop';

/** `rate_filter`: once `count` matches arrive within `seconds`, the action becomes `newAction` for `timeout` seconds. */
export interface RateFilterEntry extends EntryBase {
  kind: 'rate_filter';
  track: TrackBy;
  count: number;
  seconds: number;
  newAction: NewAction;
  timeout: number;
}

/** An address set of a suppress entry (Suricata address syntax, variables resolved). */
export interface AddressMatcher {
  /** The expression as written. */
  readonly text: string;
  has(address: string): boolean;
}

/** `suppress`: without `track` the rule never alerts; with it, not for the listed addresses. */
export interface SuppressEntry extends EntryBase {
  kind: 'suppress';
  track?: 'by_src' | 'by_dst' | 'by_either';
  ip?: AddressMatcher;
}

export type ThresholdConfigEntry = ThresholdEntry | RateFilterEntry | SuppressEntry;

/** A parsed threshold.config, entries in file order (order matters: see filter.ts). */
export interface ThresholdConfig {
  file: string;
  entries: readonly ThresholdConfigEntry[];
}

/** One match about to alert. */
export interface AlertCandidate {
  gid: number;
  sid: number;
  /** The rule's own `threshold` / `detection_filter` keyword, if any. */
  ruleFilter: RateFilter | undefined;
  srcIp: string;
  destIp: string;
  /** Packet time of the match (ms since the epoch). */
  tsMs: number;
  /** The flow of the match (track by_flow); absent for matches outside a flow. */
  flowId?: bigint;
}

/** Why a match did not alert. */
export type FilteredReason = 'suppress' | 'threshold' | 'detection_filter';

export type AlertVerdict =
  | {
      alert: true;
      /** An active rate_filter changed the action (drop/reject → block; alert/pass → alert only). */
      newAction?: { action: 'alert' | 'block'; source: string };
    }
  | { alert: false; reason: FilteredReason; source: string };

export interface AlertFilterStats {
  /** Matches that did not alert, by reason. */
  filtered: Record<FilteredReason, number>;
  /** Matches whose action a rate_filter changed, by new_action. */
  rateFilterActions: Record<'alert' | 'drop' | 'reject' | 'pass', number>;
  /** Tracking entries held (bounded). */
  entries: number;
  /** Tracking entries evicted by the bound (their counting starts over). */
  evictions: number;
}

/** What the detect stage calls per match that would alert. */
export interface AlertFilter {
  check(c: AlertCandidate): AlertVerdict;
  stats(): AlertFilterStats;
  /** Forgets every tracking entry (a new ruleset or configuration starts counting afresh). */
  clear(): void;
}
