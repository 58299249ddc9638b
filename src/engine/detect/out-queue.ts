/**
 * The detections of the packet being processed, held until it is done, then handed to the sink
 * through Suricata's per-packet alert queue (detect/alert-queue.ts): signature matches in
 * Suricata's order, a pass ending them (and passing the flow on a flow-level match), at most
 * packetAlertMax; in IPS simulation a drop on a flow-level match drops the flow. Detector
 * findings leave as they came. Stream matches get their EVE payload (the direction's stream as
 * the packet left it) here.
 */
import type { Logger } from '../../log/index.js';
import type { Flow } from '../flow/flow.js';
import type { DirState } from '../stream/dir-state.js';
import type { Detection } from '../types.js';
import { streamPayload } from './alert.js';
import { finalizeQueue, type QueuedMatch } from './alert-queue.js';
import type { DetectCounters, DetectionSink } from './types.js';

export interface QueuePolicy {
  /** Internal order of each signature (alert-queue.ts signatureOrder). */
  rank: Int32Array<ArrayBuffer>;
  /** Per signature: 1 pass, 2 drop/reject, 0 alert. */
  actionKind: Uint8Array;
  packetAlertMax: number;
  /** Simulating Suricata in IPS mode. */
  ips: boolean;
}

export class OutQueue {
  private readonly q: Detection[] = [];
  private readonly dir: (DirState | null)[] = [];
  /** Signature index (-1: a detector finding, outside the alert queue). */
  private readonly si: number[] = [];
  private readonly flow: (Flow | null)[] = [];
  /** The match concerns the flow (IP-only rule, stream or transaction match). */
  private readonly flowMatch: boolean[] = [];
  private readonly queued: QueuedMatch[] = [];
  private readonly queuedPos: number[] = [];

  constructor(
    private readonly counters: DetectCounters,
    private readonly sink: DetectionSink,
    private readonly log: Logger,
  ) {}

  push(d: Detection, dir: DirState | null, si: number, flow: Flow | null, flowMatch: boolean): void {
    this.q.push(d);
    this.dir.push(dir);
    this.si.push(si);
    this.flow.push(flow);
    this.flowMatch.push(flowMatch);
  }

  flush(p: QueuePolicy): void {
    const q = this.q;
    if (q.length === 0) return;
    const m = this.queued;
    const pos = this.queuedPos;
    m.length = 0;
    pos.length = 0;
    for (let i = 0; i < q.length; i++) {
      const si = this.si[i]!;
      if (si >= 0) {
        m.push({ si, flowMatch: this.flowMatch[i]! });
        pos.push(i);
      }
    }
    const c = this.counters;
    const leave: number[] = [];
    if (m.length > 0) {
      const kind = p.actionKind;
      const r = finalizeQueue(m, p.rank, (si) => kind[si] === 1, p.packetAlertMax);
      c.alertQueueOverflow += r.overflow;
      if (r.pass >= 0) {
        c.alertsPassed += r.passed;
        // The matches the pass hid did not alert: their once-per-flow memory is released, so a
        // later packet they match alerts (Suricata has no such memory for packet matches).
        for (const i of r.hidden) this.flow[pos[i]!]?.alerted?.delete(m[i]!.si);
        const f = this.flow[pos[r.pass]!];
        // Suricata: the first action to reach the flow wins (a flow already dropped stays dropped).
        if (f !== null && f !== undefined && m[r.pass]!.flowMatch && !f.passed && !f.dropped) {
          f.passed = true;
          c.flowsPassed++;
        }
      }
      for (const k of r.alert) {
        leave.push(pos[k]!);
        const f = this.flow[pos[k]!];
        if (p.ips && kind[m[k]!.si] === 2 && f !== null && f !== undefined && m[k]!.flowMatch && !f.passed && !f.dropped) {
          // IPS (scan --simulate-ips): a drop matched on the flow drops the flow; its later packets are not inspected.
          f.dropped = true;
          c.flowsDropped++;
        }
      }
    }
    for (let i = 0; i < q.length; i++) if (this.si[i]! < 0) leave.push(i);
    for (const i of leave) {
      const d = q[i]!;
      if (this.si[i]! >= 0) {
        c.bySeverity[d.severity] = (c.bySeverity[d.severity] ?? 0) + 1;
        c.byKind.signature = (c.byKind.signature ?? 0) + 1;
        if (p.ips && (d.ruleAction === 'drop' || d.ruleAction?.startsWith('reject') === true)) d.ipsDrop = true;
      }
      const dir = this.dir[i];
      if (dir !== null && dir !== undefined && d.payload !== undefined) d.payload.data = streamPayload(dir.buf, dir.bufLen, dir.gaps);
      try {
        this.sink(d);
      } catch (e) {
        this.log.error({ err: e }, 'detection handler failed');
      }
    }
    q.length = 0;
    this.dir.length = 0;
    this.si.length = 0;
    this.flow.length = 0;
    this.flowMatch.length = 0;
  }
}
