/**
 * Puts the detections of the scan workers back into packet order, then applies the alert filter
 * in that order as a single engine would (pure: no I/O, no threads).
 *
 * Worker w reports detections in key order (types.ts FromShard) and a progress ordinal: nothing
 * it sends later has an ordinal at or below it. The smallest head of the workers' queues may go
 * out once every worker with an empty queue has progressed to its ordinal; equal keys (flow
 * timeouts of the same tick in two workers) go out by worker index.
 */
import type { RateFilter } from '../../signatures/types.js';
import type { AlertFilter } from '../threshold/types.js';
import type { Detection } from '../types.js';

interface Lane {
  keys: number[];
  dets: Detection[];
  /** Index of the first unsent entry (queues are compacted now and then, not shifted). */
  head: number;
  progress: number;
  done: boolean;
}

export class OrderedMerge {
  private readonly lanes: Lane[];
  /** Detections received and not yet emitted (the bound is SKEW_WINDOW × packetAlertMax). */
  held = 0;
  heldMax = 0;

  constructor(
    workers: number,
    private readonly emit: (d: Detection) => void,
  ) {
    this.lanes = Array.from({ length: workers }, () => ({ keys: [], dets: [], head: 0, progress: 0, done: false }));
  }

  /** A batch of worker w: detections in key order, then its progress. */
  push(w: number, keys: readonly number[], dets: readonly Detection[], progress: number): void {
    const l = this.lanes[w]!;
    for (let i = 0; i < keys.length; i++) {
      l.keys.push(keys[i]!);
      l.dets.push(dets[i]!);
    }
    this.held += keys.length;
    if (this.held > this.heldMax) this.heldMax = this.held;
    l.progress = Math.max(l.progress, progress);
    this.drain();
  }

  /** Worker w has sent everything. */
  finish(w: number): void {
    this.lanes[w]!.done = true;
    this.drain();
  }

  private drain(): void {
    for (;;) {
      let best = -1;
      let bestKey = Infinity;
      for (let w = 0; w < this.lanes.length; w++) {
        const l = this.lanes[w]!;
        if (l.head < l.keys.length && l.keys[l.head]! < bestKey) {
          bestKey = l.keys[l.head]!;
          best = w;
        }
      }
      if (best < 0) return;
      const ordinal = Math.floor(bestKey / 2);
      for (const l of this.lanes) {
        // A worker with nothing queued could still send something before this key.
        if (l.head >= l.keys.length && !l.done && l.progress < ordinal) return;
      }
      const l = this.lanes[best]!;
      const d = l.dets[l.head]!;
      l.head++;
      this.held--;
      if (l.head >= 1024 && l.head * 2 >= l.keys.length) {
        l.keys.splice(0, l.head);
        l.dets.splice(0, l.head);
        l.head = 0;
      }
      this.emit(d);
    }
  }
}

/**
 * The alert filter of a sharded scan: each signature match of the merged stream is checked as
 * Detect.fire checks it (the workers' own filter lets everything through). Returns false for a
 * match that does not alert; sets newAction for a rate_filter's. Detector findings are not
 * filtered (as in a single engine).
 */
export class CentralFilter {
  suppressed = 0;

  constructor(
    readonly filter: AlertFilter,
    private readonly ruleFilters: ReadonlyMap<string, RateFilter>,
  ) {}

  pass(d: Detection): boolean {
    if (d.detector !== undefined) return true;
    const gid = d.gid ?? 1;
    const verdict = this.filter.check({
      gid,
      sid: d.signatureId,
      ruleFilter: this.ruleFilters.get(`${gid}:${d.signatureId}`),
      srcIp: d.srcIp,
      destIp: d.destIp,
      tsMs: d.timestampMs,
      // Decode-event matches have no flow (Detect.decodeEvents), flow matches carry its counters.
      ...(d.flow !== undefined ? { flowId: d.flowId } : {}),
    });
    if (!verdict.alert) {
      this.suppressed++;
      return false;
    }
    if (verdict.newAction !== undefined) d.newAction = verdict.newAction;
    return true;
  }
}
