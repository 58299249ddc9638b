/**
 * Flow sharding of an offline scan over worker threads (`bulwark scan --workers N`): the
 * contract between the scan's main thread (pool.ts) and its workers (worker.ts).
 *
 * Every worker reads the whole capture and inspects the packets of its share of the address
 * pairs (key.ts): a flow, its IP fragments and everything keyed by the address pair stay in one
 * worker. Packets of the other shares only number the packets and move packet time
 * (Engine.skipPacket), so pcap_cnt and flow timeouts are those of a single engine. The main
 * thread merges the workers' detections back into packet order (merge.ts) and applies the
 * alert filter (thresholds, detection_filter, rate_filter, suppress) there, in that order.
 */
import type { Config } from '../../config/types.js';
import type { ErrorCode } from '../../errors.js';
import type { ChecksumChecks } from '../decode/checksum.js';
import type { EngineStats } from '../engine.js';
import type { PcapFileInfo } from '../capture/pcap-file.js';
import type { Detection } from '../types.js';

/** One capture file for every worker. */
export interface ShardScanJob {
  file: string;
  engine: Config['engine'];
  simulateIps: boolean;
  /** The engine's stream memory bound, already divided among the workers. */
  maxStreamMemory: number;
  checksum: { mode: ChecksumChecks; sample: { packets: number; invalid: number } | null };
}

/** Main thread → worker. */
export type ToShard =
  /** All `pieces` of the encoded ruleset are queued on the worker's port (feed.ts): rebuild it (PCRE2 regexes are compiled again there, on first use). */
  | { type: 'ruleset'; pieces: number }
  | { type: 'scan'; job: ShardScanJob }
  | { type: 'exit' };

/** Counters of one worker's pass over a file, summed by the main thread. */
export interface ShardResult {
  info: PcapFileInfo;
  stats: EngineStats;
  /** First and last packet timestamps (µs), -1 without packets. */
  firstUs: number;
  lastUs: number;
  checksum: { status: 'sampling' | 'on' | 'off'; packets: number; invalid: number };
  /** Packets this worker inspected (the others it only counted). */
  inspected: number;
  /** Times it waited for a slower worker (SKEW_WINDOW). */
  waits: number;
}

/**
 * Worker → main thread. `keys[i]` orders `detections[i]`: ordinal × 2 + phase, where ordinal is
 * the packet number at the time (the file's packet count + 1 for the end-of-file flush) and
 * phase 0 = before the packet (flow timeouts of its tick), 1 = the packet itself.
 */
export type FromShard =
  | { type: 'ready' }
  /** `progress`: every packet up to this ordinal is done here; nothing with a lower key follows. */
  | { type: 'batch'; progress: number; keys: number[]; detections: Detection[]; /** File bytes read so far (records: 16 + captured length). */ consumed: number }
  | { type: 'done'; result: ShardResult }
  | { type: 'error'; message: string; code: ErrorCode };

/**
 * The largest lead, in packets, a worker may take over the slowest one. Bounds what the main
 * thread holds while it waits to put detections in order: at most this many packets' worth
 * (each packet's alerts are bounded by engine.packetAlertMax).
 */
export const SKEW_WINDOW = 65_536;

/** Packets between progress reports of a worker (fewer when detections fill a batch first). */
export const PROGRESS_EVERY = 8_192;

/** Detections per batch message. */
export const BATCH_DETECTIONS = 256;
