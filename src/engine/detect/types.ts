/**
 * Contract of the detect stage: in-order stream chunks and packets of a flow direction in
 * (from the stream stage and the packet path), `Detection`s out through one sink. Candidates
 * come from the per-group prefilter (detect/prefilter.ts), are verified with src/signatures'
 * verifier under the regex budget, and alert once per signature per flow (flowbits, threshold
 * and suppression applied). Behavioural detector findings (src/engine/detectors.ts) leave
 * through the same sink. The app-layer half (./app-tx.ts) has its flow state, feed context and
 * counters here too: a flow's app-layer state is part of the flow (../flow/flow.ts).
 */
import type { Config } from '../../config/types.js';
import type { Logger } from '../../log/index.js';
import type { VerifyFn } from '../../signatures/types.js';
import type { AlertFilter } from '../threshold/types.js';
import type { Detection } from '../types.js';
import type { AppDirection, AppLayerSettings, AppParser, AppProtoName, AppProtocol, AppTx } from '../app-layer/types.js';
import type { AppPrefilterCache, AppVerifyContext, Ruleset } from '../../signatures/types.js';
import type { RegexMeter } from '../../regex/meter.js';
import type { ExpectationOptions } from './expectations.js';
import type { FlowFrames, FrameCounters } from './app-frames.js';
import type { AlertFrame } from '../types.js';

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

// ---------------------------------------------------------------- app-layer transactions (./app-tx.ts)

/** Per-flow app-layer state (one per TCP flow, created on its first payload). */
export interface AppFlow {
  /** The detected protocol, or null while probing / when none matched. */
  proto: AppProtocol | null;
  /**
   * 'probing' until a protocol matches or every probe said no (then 'none'); 'failed' after a
   * parser stop; 'limit' once the memory budget stopped app-layer parsing; 'ended' after `free`.
   */
  state: 'probing' | 'parsing' | 'none' | 'failed' | 'limit' | 'ended';
  parser: AppParser | null;
  /** Bytes seen per direction while probing (to_server, to_client), fed to the parser once detected. */
  held: [Uint8Array[], Uint8Array[]];
  heldLen: [number, number];
  /**
   * Arrival order of the held chunks (direction index, length): replayed in that order once a
   * protocol is detected, so a server greeting held while the client had not spoken yet reaches
   * the parser before the client's first command (an FTP `220` is not the reply to `AUTH TLS`).
   */
  heldOrder: number[];
  /**
   * Per direction, the protocols (bit i: APP_PROTOCOLS[i]) whose probe said 'no' to the bytes
   * held so far: a 'no' is final (AppProtocol.probeMayRevise), so they are not asked again
   * while the flow keeps probing. Reset with the held bytes when probing starts over.
   */
  probedNo: [number, number];
  /** Stream offset expected next per direction (a chunk further on follows a gap). */
  next: [number, number];
  /**
   * Per direction, the stream offset where its raw inspection window starts (AppVerifyContext
   * rawFrom): moved to the direction's end whenever the other direction delivers data, i.e. the
   * peer answered, which is when Suricata's raw reassembly (driven by the peer's ACKs) has
   * inspected what came before.
   */
  rawFrom: [number, number];
  /** Signatures already alerted per live tx id. */
  alerted: Map<number, Set<number>>;
  /** Prefilter state of append-only buffers per live tx direction (key: tx id × 2 + direction index). */
  pfCache: Map<number, AppPrefilterCache>;
  /**
   * Tx directions (tx id × 2 + direction index) inspected once complete: like Suricata's
   * APP_LAYER_TX_INSPECTED_FLAG their buffers are final and every signature had its chance, so
   * they are not inspected again (a flowbit set later does not re-run rules on them).
   */
  inspected: Set<number>;
  /** The ruleset pfCache, rawState and rawSeen refer to (a reload starts them over). */
  prefilterOf: Ruleset | null;
  /** `ruleProtocols` of the detected protocol plus its name. */
  ruleProtocols: readonly string[];
  serverPort: number;
  clientPort: number;
  /**
   * Raw-stream prefilter (ruleset.app.rawStream) per direction: automaton state (× 256) and the
   * signatures whose fast pattern was seen so far (null: none yet).
   */
  rawState: [number, number];
  rawSeen: [number[] | null, number[] | null];
  /** Client and server addresses as text when known (FTP `ftpbounce` compares the PORT address with the client's). */
  clientAddr: string | undefined;
  serverAddr: string | undefined;
  /** Bytes of this flow's app-layer state currently counted in the detector's total. */
  mem: number;
  /**
   * Formats the two addresses on first need (a parser is created, an expectation is looked up
   * or made): a SYN flood creates flows that never need them, so they are not formatted per SYN.
   */
  addrs: (() => readonly [client: string, server: string]) | undefined;
  /** The protocol before a protocol change (EVE `app_proto_orig`), null when none happened. */
  origProto: AppProtoName | null;
  /** While re-probing after a change: the protocol announced (`upgradeTo`), probed first. */
  expectProto: AppProtoName | null;
  /** Protocol changes so far (bounded by MAX_PROTO_CHANGES). */
  changes: number;
  /**
   * A protocol change is in progress (Suricata's FLOW_CHANGE_PROTO): set when one is granted,
   * cleared once the new protocol was detected and the data it was detected with parsed. A
   * parser asking for another change meanwhile is refused (AppParserContext.requestProtocolChange).
   */
  changing: boolean;
  /**
   * Id of the last tx released while no later one exists yet (-1: none): stream bytes after it
   * (an SMTP QUIT, which opens no tx) are still shown to the raw-stream signatures, on a stand-in
   * of that tx without buffers (the released tx's memory is not kept).
   */
  releasedId: number;
  /** Frames of the current parser, when the ruleset has `frame:` rules for its protocol (./app-frames.ts). */
  frames: FlowFrames | null;
}

/** What an alert on an app-layer tx says about the flow's protocol (EVE `app_proto`, `app_proto_orig`). */
export interface AppAlertMeta {
  readonly appProto: AppProtoName;
  readonly origProto: AppProtoName | null;
}

export interface AppTxDetectOptions {
  /** Bytes per direction probed before giving up (Suricata's probing depth is of this order). Default 2048. */
  maxProbeBytes?: number;
  /** Bytes one flow's app-layer state may hold (config engine.appLayer.maxFlowMemory). Default 16 MiB. */
  maxFlowMemory?: number;
  /** Bytes all flows' app-layer state may hold together (config engine.appLayer.maxMemory). Default 256 MiB. */
  maxMemory?: number;
  /** Bounds of the expectation table (FTP data connections). */
  expectations?: ExpectationOptions;
  /** Protocol settings of the configuration (engine.appLayer.http...), given to every parser. */
  settings?: AppLayerSettings;
}

/** Which memory budget stopped a flow's app-layer parsing (the `limit` label of bulwark_applayer_limits_total). */
export type AppMemoryLimit = 'flow' | 'global';

/** What one feed needs from the engine to verify and report. */
export interface AppFeedContext {
  /** Flowbits of the flow, the raw stream of the direction, the packet payload length. */
  verify: Omit<AppVerifyContext, 'serverPort' | 'appProto'>;
  /**
   * The retained raw stream of a direction (a tx is inspected in both directions when it
   * completes, each against its own stream); absent: `verify.stream` serves both.
   */
  streamOf?: (dir: AppDirection) => { buf: Uint8Array; len: number } | null;
  /**
   * The signature already alerted on this flow. A signature whose contents are raw-stream only
   * then stays quiet on later txs: the stream bytes that matched are the same, as for the
   * stream signatures (once per flow).
   */
  flowAlerted?: (sigIndex: number) => boolean;
  meter?: RegexMeter;
  /** An app signature matched tx `tx` (index into ruleset.signatures); the engine alerts (flowbits, threshold…). */
  fire(sigIndex: number, tx: AppTx, proto: AppProtocol, dir: AppDirection, meta: AppAlertMeta): void;
  /** A `frame:` signature matched `frame` (its tx when the parser tied the frame to a live one). */
  fireFrame?(sigIndex: number, frame: AlertFrame, tx: AppTx | null, proto: AppProtocol, dir: AppDirection, meta: AppAlertMeta): void;
}

export interface AppTxCounters {
  flowsByProto: Record<string, number>;
  undetected: number;
  parserFailed: number;
  txInspected: number;
  candidates: number;
  alerts: number;
  /** Flows whose app-layer parsing the memory budget stopped, by budget. */
  limits: Record<AppMemoryLimit, number>;
  /** Protocol changes by target (`tls`; `redetect` when the parser named none). */
  protoChanges: Record<string, number>;
  /** Re-probing after a change found another protocol than the announced one (Suricata APPLAYER_UNEXPECTED_PROTOCOL). */
  unexpectedProto: number;
  /** Flows given their parser by an expectation (ftp-data). */
  expectedFlows: number;
  /** Frames of `frame:` rules: inspected, dropped over the per-direction bound, bytes unavailable. */
  frames: FrameCounters;
  /** Chunks whose raw-stream scan the stream prefilter's merged automaton did (app-tx.ts rawScan; internal). */
  rawMerged: number;
}
