/**
 * Contract of the detect stage: in-order stream chunks and packets of a flow direction in
 * (from the stream stage and the packet path), `Detection`s out through one sink. Candidates
 * come from the per-group prefilter (detect/prefilter.ts), are verified with src/signatures'
 * verifier under the regex budget, and alert once per signature per flow (flowbits, threshold
 * and suppression applied). Behavioural detector findings (src/engine/detectors.ts) leave
 * through the same sink.
 */
import type { Config } from '../../config/types.js';
import type { Logger } from '../../log/index.js';
import type { VerifyFn } from '../../signatures/types.js';
import type { AlertFilter } from '../threshold/types.js';
import type { Detection } from '../types.js';

export type DetectionSink = (d: Detection) => void;

export interface DetectOptions {
  config: Config['engine'];
  log: Logger;
  onDetection: DetectionSink;
  verify: VerifyFn;
  alertFilter: AlertFilter;
  /** Re-verification window of a pending candidate (stream bytes past its hit). */
  pendingWindow: number;
  /** Pending candidates kept per flow direction (oldest dropped, counted). */
  maxPending: number;
  /** Stream bytes one flow direction may hand to the verifier in total. */
  verifyBudget: number;
  /** Monotonic milliseconds for the regex inspection budget. */
  regexNow: () => number;
  /** Act as Suricata in IPS mode (`scan --simulate-ips`): drop rules drop their flow. */
  simulateIps?: boolean;
  /** Live capture: flows picked up mid-stream count as established (their evidence is spoofable). */
  live?: boolean;
}

/** Counters of the detect stage (plain numbers; exported through EngineStats). */
export interface DetectCounters {
  pendingDropped: number;
  verifyBudgetExhausted: number;
  suppressed: number;
  /** Alerts discarded past engine.packetAlertMax on one packet (Suricata's detect.alert_queue_overflow). */
  alertQueueOverflow: number;
  /** Matches that did not alert because a pass rule came first on their packet. */
  alertsPassed: number;
  /** Flows a pass rule passed (not inspected any more). */
  flowsPassed: number;
  /** Flows a drop rule dropped (IPS simulation only). */
  flowsDropped: number;
  bySeverity: Record<string, number>;
  byKind: Record<string, number>;
}

/** App-layer counters and memory (exported through EngineStats.appLayer). */
export interface AppLayerStats {
  /** Flows by detected protocol. */
  flowsByProto: Record<string, number>;
  /** Flows whose probing gave up. */
  undetected: number;
  /** Parsers that stopped for good (invalid data, a parser limit, an unrecoverable gap). */
  parserFailed: number;
  txInspected: number;
  alerts: number;
  /** Flows whose app-layer parsing the memory budget stopped: per-flow and global budget. */
  limits: { flow: number; global: number };
  /** Bytes held by the app-layer state of all live flows now. */
  memoryBytes: number;
  /** Protocol changes (STARTTLS → `tls`, HTTP CONNECT → `redetect`). */
  protoChanges: Record<string, number>;
  /** After a change, the bytes were another protocol than the announced one. */
  unexpectedProto: number;
  /** Frames of `frame:` rules: inspected, dropped over the per-direction bound, bytes unavailable. */
  frames: { inspected: number; dropped: number; unavailable: number };
  /** The expectation table (FTP data connections): what happened to entries, and how many wait. */
  expectations: { created: number; used: number; expired: number; evicted: number; unkeyed: number; active: number };
}
