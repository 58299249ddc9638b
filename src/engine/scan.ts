/**
 * Offline inspection of a capture file (`bulwark scan`, the benchmark): the same Engine as the
 * daemon, fed from a pcap/pcapng file as fast as it can be read.
 */
import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/index.js';
import type { Config } from '../config/types.js';
import type { Ruleset } from '../signatures/types.js';
import type { Registry } from 'prom-client';
import { Engine, type EngineStats } from './engine.js';
import { readPcapFile, type PcapFileInfo } from './capture/pcap-file.js';
import type { Detection } from './types.js';
import { ChecksumPolicy, ChecksumSampler, type ChecksumChecks } from './decode/checksum.js';
import { DIR } from './capture/types.js';
import type { AlertFilter } from './threshold/types.js';

export interface ScanOptions {
  file: string;
  ruleset: Ruleset;
  engine: Config['engine'];
  log: Logger;
  onDetection: (d: Detection) => void;
  registry?: Registry;
  maxStreamMemory?: number;
  /**
   * Progress (CLI bars): file bytes consumed so far (approximate: records counted as
   * 16 header bytes + captured length) and the file size; called every 4096 packets.
   */
  onProgress?: (done: number, total: number) => void;
  /**
   * Suricata's pcap-file.checksum-checks (`-k`); default auto, decided from a sample read ahead
   * (the first 1000 TCP packets, or all in a shorter file) rather than at the 1000th packet.
   */
  checksumChecks?: ChecksumChecks;
  /** threshold.config filter (suppress / thresholds / rate filters); default: the rules' own keywords. */
  alertFilter?: AlertFilter;
  /** Suricata's --simulate-ips: drop rules drop the flows they match (src/engine/detect/detect.ts). */
  simulateIps?: boolean;
}

export interface ScanSummary {
  file: string;
  format: 'pcap' | 'pcapng';
  linkType: number;
  packets: number;
  bytes: number;
  flows: number;
  alerts: number;
  /** Wall-clock seconds spent reading and inspecting. */
  seconds: number;
  /** CPU seconds (user + system) of this process meanwhile: wall minus time lost to other processes. */
  cpuSeconds: number;
  mbitPerSecond: number;
  packetsPerSecond: number;
  /** Seconds between the first and last packet timestamps. */
  captureSeconds: number;
  dropped: Record<string, number>;
  /** Decoder events raised (Suricata's names; only those seen). */
  decoderEvents: Record<string, number>;
  reassembly: EngineStats['reassembly'];
  /**
   * Checksum validation at the end of the file: state, packets checked, invalid ones among them;
   * auto mode: the sample read ahead that decided it.
   */
  checksum: { mode: ChecksumChecks; validation: 'sampling' | 'on' | 'off'; packets: number; invalid: number; sample?: { packets: number; invalid: number } };
  /** The file is corrupt from this point on: the packets before it were inspected, nothing after (null: read to its end). */
  captureError: { offset: number; reason: string } | null;
}

export function scanFile(o: ScanOptions): ScanSummary {
  let alerts = 0;
  const engine = new Engine({
    ruleset: o.ruleset,
    // A file is read as fast as the CPU allows and has no control socket to keep responsive: the
    // regex time budgets would make results depend on the machine's speed. The match limits stay.
    config: { ...o.engine, regex: { ...o.engine.regex, packetBudgetMs: 0, secondBudgetMs: 0 } },
    log: o.log,
    onDetection: (d) => {
      alerts++;
      o.onDetection(d);
    },
    ...(o.registry ? { registry: o.registry } : {}),
    ...(o.maxStreamMemory !== undefined ? { maxStreamMemory: o.maxStreamMemory } : {}),
    ...(o.alertFilter !== undefined ? { alertFilter: o.alertFilter } : {}),
    ...(o.simulateIps === true ? { simulateIps: true } : {}),
  });
  // A capture file has no direction: read like Suricata reads a pcap file (docs/engine.md).
  const { checks, sample } = checksumPolicyFor(o.file, o.checksumChecks ?? 'auto');
  let first = -1;
  let last = -1;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const onProgress = o.onProgress;
  let fileSize = 0;
  if (onProgress) {
    try {
      fileSize = statSync(o.file).size;
    } catch {
      // readPcapFile reports the unreadable file
    }
  }
  let consumed = 0;
  let n = 0;
  const { info } = readPcapFile(o.file, (buf, caplen, linkType, tsUs, offset) => {
    if (first < 0) first = tsUs;
    last = tsUs;
    engine.processPacket(buf, caplen, linkType, tsUs, offset, DIR.UNKNOWN, checks);
    if (onProgress) {
      consumed += caplen + 16;
      if ((++n & 4095) === 0) onProgress(Math.min(consumed, fileSize), fileSize);
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  const st = engine.stats();
  engine.flush();
  return summarize(o.file, info, st, { alerts, seconds, cpuSeconds: (cu.user + cu.system) / 1e6, firstUs: first, lastUs: last, checksum: { mode: checks.mode, validation: checks.status, ...checks.counts, ...(sample !== undefined ? { sample } : {}) } });
}

/**
 * The checksum policy of a capture file. auto: decided from the file's first 1000 TCP packets
 * (all of them in a shorter file) before inspecting (docs/engine.md, "Checksums"); reads at most
 * that far, an unreadable file is reported by the main pass.
 */
export function checksumPolicyFor(file: string, mode: ChecksumChecks): { checks: ChecksumPolicy; sample?: { packets: number; invalid: number } } {
  const checks = new ChecksumPolicy(mode, { enforceWhileSampling: true });
  if (checks.status !== 'sampling') return { checks };
  const sampler = new ChecksumSampler();
  try {
    readPcapFile(file, (buf, caplen, linkType, _tsUs, offset) => { sampler.offer(buf, caplen, linkType, offset); }, () => sampler.full);
  } catch {
    // the main pass reports it
  }
  checks.decide(sampler.sampled, sampler.invalid);
  return { checks, sample: { packets: sampler.sampled, invalid: sampler.invalid } };
}

/** What a pass over a file adds to the engine's counters (one engine, or the workers' summed). */
export interface PassFigures {
  alerts: number;
  seconds: number;
  cpuSeconds: number;
  firstUs: number;
  lastUs: number;
  checksum: ScanSummary['checksum'];
}

export function summarize(file: string, info: PcapFileInfo, st: Pick<EngineStats, 'packets' | 'bytes' | 'flowsCreated' | 'dropped' | 'decoderEvents' | 'reassembly'>, f: PassFigures): ScanSummary {
  const dropped: Record<string, number> = {};
  for (const [k, v] of Object.entries(st.dropped)) if (v > 0) dropped[k] = v;
  if (info.malformedBlocks > 0) dropped.malformed_capture_block = info.malformedBlocks;
  return {
    file,
    format: info.format,
    linkType: info.linkType,
    packets: st.packets,
    bytes: st.bytes,
    flows: st.flowsCreated,
    alerts: f.alerts,
    seconds: f.seconds,
    cpuSeconds: f.cpuSeconds,
    mbitPerSecond: f.seconds > 0 ? (st.bytes * 8) / 1e6 / f.seconds : 0,
    packetsPerSecond: f.seconds > 0 ? st.packets / f.seconds : 0,
    captureSeconds: f.firstUs >= 0 ? (f.lastUs - f.firstUs) / 1e6 : 0,
    dropped,
    decoderEvents: st.decoderEvents,
    reassembly: st.reassembly,
    checksum: f.checksum,
    captureError: info.corrupt,
  };
}
