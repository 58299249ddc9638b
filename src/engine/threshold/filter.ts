/**
 * The alert filter the detect stage calls per match (AlertFilter in ./types.ts): suppressions
 * first, then one threshold per signature, with Suricata's semantics (detect-engine-threshold.c,
 * util-threshold-config.c, detect-engine-alert.c).
 *
 * Which threshold applies to a signature (at most one, as in Suricata), entries in file order:
 * - start with the rule's own `threshold` / `detection_filter` keyword, if any;
 * - `threshold` / `event_filter` naming the sid replaces whatever is there;
 * - `rate_filter` naming the sid, and any entry with `sig_id 0`, only fill an empty place: a rule
 *   with its own threshold keeps it (Suricata logs "the signature event var is given precedence").
 *
 * Counting (packet time; a window covers [first, first + seconds], both ends included):
 * - limit N: the first N matches of a window alert;
 * - threshold N: every N-th match of a window alerts;
 * - both N: the N-th match of a window alerts, once;
 * - detection_filter N: matches after the N-th of a window alert;
 * - rate_filter N/T: every match alerts; once more than N arrive within T seconds the action
 *   becomes new_action for `timeout` seconds (drop/reject → block; alert/pass → alert only;
 *   log/sdrop change nothing, as in Suricata).
 * Tracking: per source, destination, address pair (either direction) or rule. Entries live in a
 * bounded LRU table (an evicted entry starts counting over; counted). Keys are strings: V8 hashes
 * strings with a per-process random seed, so crafted source addresses cannot aim at one bucket.
 *
 * Unlike Suricata, a match that does not alert has no other effect here: bulwark's response to a
 * match is a host block explained by an event, so a silenced match neither alerts nor blocks.
 * Flowbits are set either way (the engine applies them before calling the filter).
 */
import { LRUCache } from 'lru-cache';
import type { RateFilter } from '../../signatures/types.js';
import type {
  AlertCandidate,
  AlertFilter,
  AlertFilterStats,
  AlertVerdict,
  FilteredReason,
  RateFilterEntry,
  SuppressEntry,
  ThresholdConfig,
  ThresholdEntry,
  TrackBy,
} from './types.js';

interface Tracked {
  /** Start of the current window (ms). */
  tv1: number;
  count: number;
  /** backoff: the match number of the next alert. */
  next?: number;
  /** rate_filter: second (packet time) the new action became active; 0 = inactive. */
  activeSince: number;
}

/** What fills a signature's one threshold place. */
type Slot = { kind: 'rule'; rf: RateFilter } | ThresholdEntry | RateFilterEntry;

const ALERT: AlertVerdict = { alert: true };
const NO_ALERT = 0;
const DO_ALERT = 1;

export interface ThresholdFilterOptions {
  /** Bound of the tracking table (default 65,536 entries). */
  maxEntries?: number;
}

export class ThresholdFilter implements AlertFilter {
  private readonly table: LRUCache<string, Tracked>;
  private readonly specific = new Map<string, (ThresholdEntry | RateFilterEntry)[]>();
  private readonly wildcard: (ThresholdEntry | RateFilterEntry)[] = [];
  private readonly suppressBySig = new Map<string, SuppressEntry[]>();
  private readonly suppressWildcard: SuppressEntry[] = [];
  private evictions = 0;
  private readonly filtered: Record<FilteredReason, number> = { suppress: 0, threshold: 0, detection_filter: 0 };
  private readonly actions: AlertFilterStats['rateFilterActions'] = { alert: 0, drop: 0, reject: 0, pass: 0 };

  constructor(
    readonly config: ThresholdConfig,
    opts: ThresholdFilterOptions = {},
  ) {
    this.table = new LRUCache<string, Tracked>({
      max: opts.maxEntries ?? 65_536,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.evictions++;
      },
    });
    for (const e of config.entries) {
      const key = `${e.gid}:${e.sid}`;
      if (e.kind === 'suppress') {
        if (e.sid === 0) this.suppressWildcard.push(e);
        else push(this.suppressBySig, key, e);
      } else if (e.sid === 0) this.wildcard.push(e);
      else push(this.specific, key, e);
    }
  }

  /** Every entry that applies to a signature (for `bulwark policy explain`), in file order. */
  entriesFor(gid: number, sid: number): readonly (ThresholdEntry | RateFilterEntry | SuppressEntry)[] {
    const k = `${gid}:${sid}`;
    const all = [
      ...(this.suppressBySig.get(k) ?? []),
      ...this.suppressWildcard.filter((e) => e.gid === 0 || e.gid === gid),
      ...(this.specific.get(k) ?? []),
      ...this.wildcard.filter((e) => e.gid === 0 || e.gid === gid),
    ];
    return all.sort((a, b) => a.line - b.line);
  }

  /** The threshold that applies to a signature (see the file comment), or undefined. */
  slotFor(gid: number, sid: number, ruleFilter: RateFilter | undefined): Slot | undefined {
    let slot: Slot | undefined = ruleFilter === undefined ? undefined : { kind: 'rule', rf: ruleFilter };
    const spec = this.specific.get(`${gid}:${sid}`);
    if (spec === undefined && this.wildcard.length === 0) return slot;
    // Merge the two file-ordered lists.
    let i = 0;
    let j = 0;
    const s = spec ?? [];
    while (i < s.length || j < this.wildcard.length) {
      const a = s[i];
      const w = this.wildcard[j];
      if (a !== undefined && (w === undefined || a.line < w.line)) {
        i++;
        if (a.kind === 'threshold') slot = a;
        else slot ??= a;
      } else if (w !== undefined) {
        j++;
        if (w.gid === 0 || w.gid === gid) slot ??= w;
      }
    }
    return slot;
  }

  check(c: AlertCandidate): AlertVerdict {
    const sup = this.suppressed(c);
    if (sup !== undefined) {
      this.filtered.suppress++;
      return { alert: false, reason: 'suppress', source: `${this.config.file}:${sup.line}` };
    }
    const slot = this.slotFor(c.gid, c.sid, c.ruleFilter);
    if (slot === undefined) return ALERT;
    if (slot.kind === 'rate_filter') return this.rate(c, slot);
    const type = slot.kind === 'rule' ? slot.rf.type : slot.type;
    const track: TrackBy = slot.kind === 'rule' ? slot.rf.track : slot.track;
    const count = slot.kind === 'rule' ? slot.rf.count : slot.count;
    const seconds = slot.kind === 'rule' ? slot.rf.seconds : slot.seconds;
    // Suricata's `threshold` with count 1 alerts on every match without tracking anything.
    if (type === 'threshold' && count === 1) return ALERT;
    // by_flow outside a flow (a decode-event match): nothing to count on
    if (track === 'by_flow' && c.flowId === undefined) return ALERT;
    const key = this.key(c, track);
    const r = type === 'backoff' ? this.backoff(key, count, slot.kind === 'rule' ? (slot.rf.multiplier ?? 1) : 1) : this.count(key, type, count, seconds * 1000, c.tsMs);
    if (r === DO_ALERT) return ALERT;
    const reason: FilteredReason = type === 'detection_filter' ? 'detection_filter' : 'threshold';
    this.filtered[reason]++;
    return { alert: false, reason, source: slot.kind === 'rule' ? `rule ${type === 'detection_filter' ? 'detection_filter' : 'threshold'}` : `${this.config.file}:${slot.line}` };
  }

  stats(): AlertFilterStats {
    return { filtered: { ...this.filtered }, rateFilterActions: { ...this.actions }, entries: this.table.size, evictions: this.evictions };
  }

  clear(): void {
    this.table.clear();
  }

  private suppressed(c: AlertCandidate): SuppressEntry | undefined {
    const list = this.suppressBySig.get(`${c.gid}:${c.sid}`);
    if (list !== undefined) for (const e of list) if (suppresses(e, c)) return e;
    for (const e of this.suppressWildcard) if ((e.gid === 0 || e.gid === c.gid) && suppresses(e, c)) return e;
    return undefined;
  }

  private key(c: AlertCandidate, track: TrackBy): string {
    switch (track) {
      case 'by_src':
        return `${c.gid}:${c.sid}|s|${c.srcIp}`;
      case 'by_dst':
        return `${c.gid}:${c.sid}|d|${c.destIp}`;
      case 'by_rule':
        return `${c.gid}:${c.sid}|r`;
      case 'by_flow':
        return `${c.gid}:${c.sid}|f|${String(c.flowId)}`;
      case 'by_both':
        // Suricata's IP pair: both directions between two addresses are one pair.
        return c.srcIp < c.destIp ? `${c.gid}:${c.sid}|b|${c.srcIp}|${c.destIp}` : `${c.gid}:${c.sid}|b|${c.destIp}|${c.srcIp}`;
    }
  }

  /**
   * Suricata 8 backoff (per flow, no window): matches number n, n×m, n×m², … alert (count 1,
   * multiplier 10: the 1st, 10th, 100th…). Past 2^32 (Suricata's uint32) no more alerts.
   */
  private backoff(key: string, n: number, m: number): number {
    let e = this.table.get(key);
    if (e === undefined) {
      e = { tv1: 0, count: 0, activeSince: 0, next: n };
      this.table.set(key, e);
    }
    e.count++;
    if (e.count !== e.next) return NO_ALERT;
    const next = e.count * m;
    e.next = next > 0xffffffff || m === 1 ? Infinity : next;
    return DO_ALERT;
  }

  /** limit / threshold / both / detection_filter on one tracking entry; DO_ALERT or NO_ALERT. */
  private count(key: string, type: Exclude<RateFilter['type'], 'backoff'>, n: number, windowMs: number, ts: number): number {
    const e = this.table.get(key);
    if (e === undefined) {
      this.table.set(key, { tv1: ts, count: 1, activeSince: 0 });
      // The first match of a window: limit alerts; both only when N is 1 (threshold with N = 1
      // never gets here); detection_filter never.
      return type === 'limit' || (type === 'both' && n === 1) ? DO_ALERT : NO_ALERT;
    }
    if (ts <= e.tv1 + windowMs) {
      e.count++;
      switch (type) {
        case 'limit':
          return e.count <= n ? DO_ALERT : NO_ALERT;
        case 'threshold':
          if (e.count >= n) {
            e.count = 0;
            return DO_ALERT;
          }
          return NO_ALERT;
        case 'both':
          return e.count === n ? DO_ALERT : NO_ALERT;
        case 'detection_filter':
          return e.count > n ? DO_ALERT : NO_ALERT;
      }
    }
    // The window is over: this match starts a new one.
    e.tv1 = ts;
    e.count = 1;
    return type === 'limit' || (type === 'both' && n === 1) ? DO_ALERT : NO_ALERT;
  }

  private rate(c: AlertCandidate, r: RateFilterEntry): AlertVerdict {
    const key = this.key(c, r.track);
    const e = this.table.get(key);
    if (e === undefined) {
      this.table.set(key, { tv1: c.tsMs, count: 1, activeSince: 0 });
      return ALERT;
    }
    const sec = Math.floor(c.tsMs / 1000);
    let reached = false;
    if (e.activeSince !== 0) {
      if (sec - e.activeSince > r.timeout) e.activeSince = 0;
      else reached = true;
    } else if (c.tsMs <= e.tv1 + r.seconds * 1000) {
      e.count++;
      if (e.count > r.count) {
        e.activeSince = sec;
        reached = true;
      }
    } else {
      e.tv1 = c.tsMs;
      e.count = 1;
    }
    if (!reached || r.newAction === 'log' || r.newAction === 'sdrop') return ALERT;
    this.actions[r.newAction]++;
    return { alert: true, newAction: { action: r.newAction === 'drop' || r.newAction === 'reject' ? 'block' : 'alert', source: `${this.config.file}:${r.line}` } };
  }
}

function suppresses(e: SuppressEntry, c: AlertCandidate): boolean {
  if (e.track === undefined || e.ip === undefined) return true;
  switch (e.track) {
    case 'by_src':
      return e.ip.has(c.srcIp);
    case 'by_dst':
      return e.ip.has(c.destIp);
    case 'by_either':
      return e.ip.has(c.srcIp) || e.ip.has(c.destIp);
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l === undefined) m.set(k, [v]);
  else l.push(v);
}
