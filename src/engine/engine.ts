/**
 * The inspection engine: decode → flow table → TCP reassembly → per-group DFA scan → verify →
 * detections, plus the behavioural detectors. One instance per process; single-threaded; the
 * packet path allocates nothing per packet except when a flow starts, a segment must be buffered
 * out of order, or something is detected. Design and policies: docs/engine.md.
 */
import { LRUCache } from 'lru-cache';
import type { Registry } from 'prom-client';
import type { Logger } from '../log/index.js';
import type { Config } from '../config/types.js';
import type { PortGroup, Ruleset, Signature, VerifyContext, VerifyFn, DetectorSpec } from '../signatures/types.js';
import { verifySignature, tcpFlagsMatch } from '../signatures/verify.js';
import type { Detection, LocalAddresses } from './types.js';
import { DIR, type PacketDirection } from './capture/types.js';
import type { ChecksumPolicy } from './checksum.js';
import {
  DecodedPacket,
  decodePacket,
  DROP,
  DROP_REASONS,
  LINKTYPE,
  ipv4ToString,
  ipv6ToString,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
} from './decode.js';
import { Reassembler, ReassemblyCounters, StreamState, seqDiff, snapshotCounters, startStream, type ReassemblyStats } from './reassembly.js';
import { ThresholdFilter } from './threshold/filter.js';
import { NO_THRESHOLDS } from './threshold/parse.js';
import type { AlertFilter } from './threshold/types.js';
import { Detectors, type AddrKey, type DetectorFinding } from './detectors.js';
import { VerifiedPeers, type VerifiedPeerStats } from './verified-peers.js';
import { registerEngineMetrics } from './metrics.js';
import { Defragmenter, type DefragCounters } from './defrag.js';
import { RegexBudget, type RegexStats } from '../regex/meter.js';

export interface EngineOptions {
  ruleset: Ruleset;
  config: Config['engine'];
  log: Logger;
  /** Metrics are registered here when given (bulwark_* names, docs/metrics.md). */
  registry?: Registry;
  onDetection: (d: Detection) => void;
  /** Payload verifier; default: verifySignature from src/signatures/verify.ts. */
  verify?: VerifyFn;
  /** Global bound on retained stream bytes (all flows); default 128 MiB. */
  maxStreamMemory?: number;
  /** Bound on each detector / rate-filter table; default 65,536 keys. */
  maxTracked?: number;
  /**
   * Suppressions and thresholds applied to every match before it alerts (threshold.config and the
   * rules' own threshold / detection_filter keywords). Default: the rules' own keywords only.
   */
  alertFilter?: AlertFilter;
  /**
   * Re-verification window of a pending candidate: once the stream has grown this many bytes past
   * the fast-pattern hit without the signature verifying, the candidate is dropped. Default 64 KiB.
   */
  pendingWindow?: number;
  /** Pending candidates kept per flow direction (oldest dropped, counted). Default 16. */
  maxPending?: number;
  /** Stream bytes one flow direction may hand to the verifier in total. Default 8 × reassemblyDepth. */
  verifyBudget?: number;
  /** Monotonic milliseconds for the regex inspection budget (config.regex); default performance.now. */
  regexNow?: () => number;
  /**
   * Live capture of this host: its own addresses, kept current by the service. With it, packets
   * carry their direction and a handshake counts as evidence only when this host's side of it was
   * seen leaving the host (docs/engine.md, "Handshake evidence"). Without it (offline) the engine
   * reads a capture the way Suricata reads a pcap file.
   */
  host?: LocalAddresses;
}

export interface EngineStats {
  packets: number;
  bytes: number;
  /** Payload bytes of decoded TCP packets. */
  payloadBytes: number;
  dropped: Record<string, number>;
  flowsActive: number;
  flowsCreated: number;
  flowEvictions: number;
  flowTimeouts: number;
  streamMemoryBytes: number;
  streamMemoryRefused: number;
  pendingDropped: number;
  /** Flow directions whose verification budget ran out (verified per segment since). */
  verifyBudgetExhausted: number;
  detections: { bySeverity: Record<string, number>; byKind: Record<string, number> };
  suppressedByRateFilter: number;
  reassembly: ReassemblyStats;
  /** IP fragment reassembly. */
  defrag: { [K in keyof DefragCounters]: number } & { inProgress: number; memoryBytes: number };
  detectors: { tracked: number; evictions: number };
  /** Sources that completed a verified handshake (half-open evidence never blocks them). */
  verifiedPeers: VerifiedPeerStats;
  memoryPressure: boolean;
  /** The regex engine under the inspection budget: outcomes, limit hits per signature, skips. */
  regex: RegexStats;
}

const ST_NEW = 0;
const ST_EST = 1;
const ST_CLOSED = 2;

const EXCERPT_BEFORE = 160;
const EXCERPT_MAX = 256;
const TICK_EVERY_MS = 1000;
const CLOCK_JUMP_MS = 3_600_000;
/** Chunks at least this long (plus 8 warm-ups) are scanned with four interleaved chains. */
const MULTI_CHAIN_MIN = 128;
/** Bound on stream buffers kept for reuse. */
const POOL_BYTES = 16 * 1024 * 1024;
/** Under memory pressure idle timeouts are divided by this. */
const PRESSURE_DIVISOR = 6;

/** Per-direction state: reassembly (StreamState) plus matcher state. */
export class DirState extends StreamState {
  group: PortGroup | null = null;
  /** The group's scan table (see Engine.scanTables). */
  scan: Int32Array | null = null;
  dfaState = 0;
  /** Retained stream bytes (from stream offset 0), allocated lazily, grown up to the depth. */
  buf: Uint8Array | null = null;
  bufLen = 0;
  memRefused = false;
  /** Pending candidates: signature indexes and the stream offset of their fast-pattern hit. */
  pending: number[] | null = null;
  pendingPos: number[] | null = null;
  /** Stream bytes handed to the verifier so far (bounded per direction, see verifyBudget). */
  verifiedBytes = 0;
  budgetExhausted = false;
}

export class Flow {
  serial = 0;
  key: number | string = 0;
  v6 = false;
  cli4 = 0;
  srv4 = 0;
  /** IPv6: client address in [0,16), server address in [16,32). */
  addr6: Uint8Array | null = null;
  cliPort = 0;
  srvPort = 0;
  state = ST_NEW;
  synSeen = false;
  synAckSeen = false;
  handshakeDone = false;
  /** Direction of the client's first SYN (live capture; UNKNOWN offline). */
  cliDir: PacketDirection = DIR.UNKNOWN;
  /** Direction of the SYN/ACK that set the server's sequence base. */
  synAckDir: PacketDirection = DIR.UNKNOWN;
  /** The handshake is evidence about the client (always so offline; live see Engine.handleTcp). */
  handshakeVerified = false;
  midstream = false;
  synTsMs = 0;
  createdMs = 0;
  lastMs = 0;
  gen = 0;
  readonly c2s = new DirState();
  readonly s2c = new DirState();
  alerted: Set<number> | null = null;
  flowbits: Set<string> | null = null;
  ctx: VerifyContext | null = null;

  get id(): bigint {
    return (BigInt(this.serial) << 20n) | BigInt(typeof this.key === 'number' ? this.key % 1048576 : 0);
  }
}

// murmur3-style mixing, 32-bit.
function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const EMPTY_CTX: VerifyContext = { flowbits: new Set<string>() };

/** Number of probes for a free or matching key when two tuples hash to the same 52-bit key. */
const MAX_PROBES = 4;

export class Engine {
  private ruleset!: Ruleset;
  private gen = 0;
  private sigs: readonly Signature[] = [];
  /** 1 for signatures evaluated per packet (stream:no, dsize or flags). */
  private packetSig = new Uint8Array(0);
  private stamp = new Int32Array(0);
  private chunkStamp = 0;
  /**
   * Per group: a copy of dfa.next whose entries have the sign bit set when the target state has
   * outputs, so the scan loop tests `s < 0` instead of loading a second table per byte (~20 %
   * faster scanning; costs one more copy of each automaton's transition table).
   */
  private readonly scanTables = new WeakMap<PortGroup, Int32Array>();
  /** Per group: longest pattern length - 1 (warm-up of the parallel scan chains). */
  private readonly warmup = new WeakMap<PortGroup, number>();

  private readonly cfg: Config['engine'];
  private readonly log: Logger;
  private readonly onDetection: (d: Detection) => void;
  private readonly verify: VerifyFn;
  private readonly host: LocalAddresses | undefined;
  /** Live capture (a host was given): handshake evidence needs directions. */
  private readonly live: boolean;
  private readonly maxStreamMemory: number;
  private readonly pendingWindow: number;
  private readonly maxPending: number;
  /**
   * Each stream verify reads the whole retained stream, so an attacker repeating a fast pattern
   * in every segment of a long stream could make verification quadratic. Per direction at most
   * this many bytes go through the verifier (8 × depth); past it, candidates are verified on
   * their segment only.
   */
  private readonly verifyBudget: number;
  private verifyBudgetExhausted = 0;

  private readonly flows: LRUCache<number | string, Flow>;
  /** Reused options object: LRUCache#get would allocate a fresh one per call. */
  private readonly getOpts: LRUCache.GetOptions<number | string, Flow, unknown> = {};
  private readonly pkt = new DecodedPacket();
  private readonly reasm: Reassembler<DirState>;
  private alertFilter: AlertFilter;
  private readonly detectors: Detectors;
  private readonly verified: VerifiedPeers;
  private readonly defrag = new Defragmenter();

  // Current packet context (set by processPacket, read by the chunk sink and detector emit).
  private curFlow: Flow | null = null;
  private curTsMs = 0;
  private lastTickMs = -Infinity;
  private serial = 0;

  // Counters (exported through stats() and metrics collect callbacks).
  private packets = 0;
  private bytes = 0;
  private payloadBytes = 0;
  private readonly drops = new Float64Array(DROP_REASONS.length);
  private flowsCreated = 0;
  private flowEvictions = 0;
  private flowTimeouts = 0;
  private streamMemory = 0;
  private streamMemoryRefused = 0;
  private pendingDropped = 0;
  private suppressed = 0;
  private readonly bySeverity: Record<string, number> = { low: 0, medium: 0, high: 0, critical: 0 };
  private readonly byKind: Record<string, number> = { signature: 0, portscan: 0, synflood: 0, bruteforce: 0 };
  private pressure = false;
  private readonly candSig: number[] = [];
  private readonly candPos: number[] = [];
  /** Runs every pcre with the configured limits under the per-packet / per-second regex budget. */
  private readonly regex: RegexBudget;

  constructor(opts: EngineOptions) {
    this.cfg = opts.config;
    this.log = opts.log;
    this.onDetection = opts.onDetection;
    this.verify = opts.verify ?? verifySignature;
    this.host = opts.host;
    this.live = opts.host !== undefined;
    this.maxStreamMemory = opts.maxStreamMemory ?? 128 * 1024 * 1024;
    this.pendingWindow = opts.pendingWindow ?? 64 * 1024;
    this.maxPending = opts.maxPending ?? 16;
    this.verifyBudget = opts.verifyBudget ?? 8 * opts.config.reassemblyDepth;
    const rx = opts.config.regex;
    const heapLimitKiB = Math.max(1, Math.floor(rx.heapLimit / 1024));
    this.regex = new RegexBudget({
      limits: { matchLimit: rx.matchLimit, depthLimit: rx.depthLimit, heapLimitKiB },
      overrideLimits: { matchLimit: rx.overrideMatchLimit, depthLimit: rx.overrideDepthLimit, heapLimitKiB },
      packetBudgetMs: rx.packetBudgetMs,
      secondBudgetMs: rx.secondBudgetMs,
      now: opts.regexNow ?? (() => performance.now()),
      onFirstLimitHit: (signatureId, source) => {
        this.log.warn({ signatureId, pcre: source }, 'regex hit its match limit: treated as no match (counted in bulwark_regex_executions_total{result="limit"})');
      },
    });
    this.flows = new LRUCache<number | string, Flow>({
      max: Math.max(1, opts.config.maxFlows),
      dispose: (flow, _key, reason) => {
        if (reason === 'evict') this.flowEvictions++;
        this.freeFlow(flow);
      },
    });
    this.reasm = new Reassembler<DirState>(
      { depth: opts.config.reassemblyDepth, maxSegments: opts.config.maxSegmentsPerFlow },
      new ReassemblyCounters(),
      this.onChunk,
    );
    this.alertFilter = opts.alertFilter ?? new ThresholdFilter(NO_THRESHOLDS, { maxEntries: opts.maxTracked ?? 65_536 });
    this.detectors = new Detectors([], this.onFinding, opts.maxTracked ?? 65_536);
    this.verified = new VerifiedPeers(opts.config.maxVerifiedPeers);
    this.setRuleset(opts.ruleset);
    if (opts.registry) registerEngineMetrics(opts.registry, () => this.stats());
  }

  /**
   * Swaps the ruleset atomically: new flows use it at once; live flows are rebound on their
   * next packet (their scanner state restarts at the current stream position and their
   * per-flow alert memory is cleared, since signature indexes changed).
   */
  setRuleset(r: Ruleset): void {
    this.ruleset = r;
    this.sigs = r.signatures;
    this.gen++;
    const n = r.signatures.length;
    this.packetSig = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const s = r.signatures[i]!;
      if (s.stream === 'no' || s.dsize !== undefined || s.flags !== undefined) this.packetSig[i] = 1;
    }
    this.stamp = new Int32Array(n);
    this.chunkStamp = 0;
    for (const g of r.groups) {
      if (this.scanTables.has(g)) continue;
      const { next, outStart, stateCount } = g.dfa;
      const t = new Int32Array(next.length);
      for (let i = 0; i < next.length; i++) {
        const to = next[i]!;
        const k = to >>> 8;
        t[i] = k < stateCount && outStart[k + 1]! !== outStart[k]! ? to | 0x80000000 : to;
      }
      this.scanTables.set(g, t);
      let maxLen = 1;
      for (const p of g.patterns) if (p.bytes.length > maxLen) maxLen = p.bytes.length;
      this.warmup.set(g, maxLen - 1);
    }
    this.detectors.setSpecs(r.detectors);
    this.alertFilter.clear();
    this.log.debug({ version: r.version, signatures: n, groups: r.groups.length }, 'ruleset active');
  }

  /** Replaces the alert filter (threshold.config reloaded): counting starts over. */
  setAlertFilter(f: AlertFilter): void {
    this.alertFilter = f;
  }

  get currentAlertFilter(): AlertFilter {
    return this.alertFilter;
  }

  get activeRuleset(): Ruleset {
    return this.ruleset;
  }

  /**
   * Inspects one captured frame: `caplen` bytes of `buf` from `offset`, link type as libpcap
   * reports it, capture time in microseconds since the epoch, the frame's direction when the
   * capture knows it, and the capture's checksum policy (none: checksums are not validated).
   * Never throws.
   */
  processPacket(buf: Uint8Array, caplen: number, linkType: number, tsUs: number, offset = 0, dir: PacketDirection = DIR.UNKNOWN, checksums?: ChecksumPolicy): void {
    this.packets++;
    this.bytes += caplen;
    this.regex.beginPacket();
    const tsMs = tsUs / 1000;
    this.curTsMs = tsMs;
    if (tsMs - this.lastTickMs >= TICK_EVERY_MS) this.tick(tsMs);
    else if (tsMs < this.lastTickMs - CLOCK_JUMP_MS) this.lastTickMs = tsMs; // capture time went back (new file, clock step)
    try {
      if (dir === DIR.OTHER_HOST) {
        this.drops[DROP.NOT_FOR_HOST]!++;
        return;
      }
      let reason = decodePacket(buf, offset, caplen, linkType, this.pkt);
      if (reason === DROP.IP_FRAGMENT) {
        const whole = this.defrag.add(this.pkt, tsMs);
        if (whole === null) return; // held (or refused) by the defragmenter, counted there
        reason = decodePacket(whole, 0, whole.length, LINKTYPE.RAW, this.pkt);
      }
      if (reason === DROP.NONE && this.host !== undefined) reason = this.addressCheck(this.pkt, dir, this.host);
      // Packets this host sent cannot be forged and show partial checksums under offload: never validated.
      if (reason === DROP.NONE && checksums !== undefined && dir !== DIR.OUTBOUND && this.cfg.checksumValidation && !checksums.accept(this.pkt)) {
        reason = DROP.BAD_CHECKSUM;
      }
      if (reason !== DROP.NONE) {
        this.drops[reason]!++;
        return;
      }
      this.payloadBytes += this.pkt.payloadLength;
      this.handleTcp(this.pkt, tsMs, dir);
    } catch (e) {
      this.drops[DROP.INTERNAL_ERROR]!++;
      this.log.warn({ err: e }, 'packet processing failed');
    } finally {
      this.curFlow = null;
    }
  }

  /** Expires idle flows (packet time). Called automatically as packet time advances. */
  tick(nowMs: number): void {
    this.lastTickMs = nowMs;
    this.defrag.expire(nowMs);
    const maxFlows = this.flows.max;
    this.pressure = this.flows.size > maxFlows * 0.9 || this.streamMemory > this.maxStreamMemory * 0.9;
    const div = this.pressure ? PRESSURE_DIVISOR : 1;
    const tNew = this.cfg.timeouts.newMs / div;
    const tEst = this.cfg.timeouts.establishedMs / div;
    const tClosed = this.cfg.timeouts.closedMs / div;
    const minT = Math.min(tNew, tEst, tClosed);
    const expired: (number | string)[] = [];
    // rvalues() walks from least to most recently used; once a flow is younger than the shortest
    // timeout, every later one is too.
    for (const f of this.flows.rvalues()) {
      if (f === undefined) continue;
      const idle = nowMs - f.lastMs;
      if (idle <= minT) break;
      const t = f.state === ST_EST ? tEst : f.state === ST_NEW ? tNew : tClosed;
      if (idle > t) expired.push(f.key);
    }
    for (const k of expired) {
      this.flows.delete(k);
      this.flowTimeouts++;
    }
  }

  stats(): EngineStats {
    const dropped: Record<string, number> = {};
    for (let i = 1; i < DROP_REASONS.length; i++) dropped[DROP_REASONS[i]!] = this.drops[i]!;
    const ds = this.detectors.stats();
    const af = this.alertFilter.stats();
    return {
      packets: this.packets,
      bytes: this.bytes,
      payloadBytes: this.payloadBytes,
      dropped,
      flowsActive: this.flows.size,
      flowsCreated: this.flowsCreated,
      flowEvictions: this.flowEvictions,
      flowTimeouts: this.flowTimeouts,
      streamMemoryBytes: this.streamMemory,
      streamMemoryRefused: this.streamMemoryRefused,
      pendingDropped: this.pendingDropped,
      verifyBudgetExhausted: this.verifyBudgetExhausted,
      detections: { bySeverity: { ...this.bySeverity }, byKind: { ...this.byKind } },
      suppressedByRateFilter: this.suppressed,
      reassembly: snapshotCounters(this.reasm.counters),
      defrag: {
        fragments: this.defrag.counters.fragments,
        reassembled: this.defrag.counters.reassembled,
        timeouts: this.defrag.counters.timeouts,
        evicted: this.defrag.counters.evicted,
        invalid: this.defrag.counters.invalid,
        overlapBytes: this.defrag.counters.overlapBytes,
        inProgress: this.defrag.size,
        memoryBytes: this.defrag.memoryBytes,
      },
      detectors: { tracked: ds.tracked + af.entries, evictions: ds.evictions + af.evictions },
      verifiedPeers: this.verified.stats(),
      memoryPressure: this.pressure,
      regex: this.regex.stats(),
    };
  }

  /** Drops every flow (end of an offline run, shutdown); frees stream memory. */
  flush(): void {
    this.flows.clear();
  }

  // ---------------------------------------------------------------- flows

  /**
   * Live address checks: an inbound packet from one of our own addresses is spoofed (our kernel
   * never receives its own packets on a captured link); a packet without direction (raw IP link)
   * from none of our addresses to none of them is not for this host. Skipped until the addresses
   * are known.
   */
  private addressCheck(p: DecodedPacket, dir: PacketDirection, h: LocalAddresses): number {
    if (!h.known || dir === DIR.OUTBOUND) return DROP.NONE;
    const v4 = p.ipVersion === 4;
    const srcLocal = v4 ? h.has4(p.src4) : h.has6(p.buf, p.src6Offset);
    if (dir === DIR.INBOUND) return srcLocal ? DROP.SPOOFED_SOURCE : DROP.NONE;
    if (srcLocal) return DROP.NONE;
    return (v4 ? h.has4(p.dst4) : h.has6(p.buf, p.dst6Offset)) ? DROP.NONE : DROP.NOT_FOR_HOST;
  }

  private handleTcp(p: DecodedPacket, tsMs: number, pdir: PacketDirection): void {
    const flags = p.flags;
    let key: number;
    let fromClient = true;
    if (p.ipVersion === 4) {
      const a = p.src4;
      const b = p.dst4;
      const pa = p.srcPort;
      const pb = p.dstPort;
      const lo = a < b || (a === b && pa <= pb);
      const x = lo ? a : b;
      const y = lo ? b : a;
      const ports = lo ? (pa << 16) | pb : (pb << 16) | pa;
      key = fmix(mix(mix(mix(0x2545f491, x), y), ports)) * 1048576 + (fmix(mix(mix(mix(0x9e3779b9, ports), x), y)) >>> 12);
    } else {
      key = this.key6(p);
    }
    let flow = this.flows.get(key, this.getOpts);
    let probes = 0;
    while (flow !== undefined && !this.sameFlow(flow, p)) {
      if (++probes >= MAX_PROBES) {
        // Pathological collision chain: the packet is not inspected (counted as internal_error).
        this.drops[DROP.INTERNAL_ERROR]!++;
        return;
      }
      key += 1;
      flow = this.flows.get(key, this.getOpts);
    }
    const isSyn = (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    const isSynAck = (flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
    if (flow !== undefined) {
      fromClient = this.isFromClient(flow, p);
      if (isSyn && fromClient && (flow.state === ST_CLOSED || (flow.c2s.started && ((p.seq + 1) >>> 0) !== flow.c2s.base))) {
        // A new connection on a reused 4-tuple.
        this.flows.delete(key);
        flow = undefined;
      }
    }
    if (flow === undefined) {
      if (!isSyn && !isSynAck && p.payloadLength === 0) {
        // No state worth creating; a stray FIN/NULL/Xmas probe still counts as a scanned port.
        if ((flags & (TCP_SYN | TCP_ACK | TCP_RST)) === 0 && this.detectors.active) {
          this.detectors.onProbe(this.srcKey(p), p.dstPort, tsMs, probeKind(flags));
        }
        return;
      }
      flow = this.createFlow(p, key, isSyn, isSynAck, tsMs);
      fromClient = this.isFromClient(flow, p);
    }
    if (flow.gen !== this.gen) this.rebind(flow);
    flow.lastMs = tsMs;
    this.curFlow = flow;
    const dir = fromClient ? flow.c2s : flow.s2c;

    if ((flags & TCP_RST) !== 0) {
      if (flow.state !== ST_CLOSED && (!dir.started || Math.abs(seqDiff(p.seq, dir.nextSeq)) < 1 << 20)) {
        this.closeFlow(flow);
      }
      return;
    }
    if (flow.state === ST_CLOSED) return;

    let seq = p.seq;
    if ((flags & TCP_SYN) !== 0) {
      seq = (seq + 1) >>> 0;
      if (isSyn && fromClient) {
        if (!dir.started) startStream(dir, seq);
        if (!flow.synSeen) {
          flow.synSeen = true;
          flow.synTsMs = tsMs;
          flow.cliDir = pdir;
          if (this.detectors.active) this.detectors.onSyn(this.srcKey(p), this.dstKey(p), p.dstPort, tsMs);
        }
      } else if (isSynAck && !fromClient) {
        if (this.live && flow.synSeen && pdir !== DIR.UNKNOWN && pdir === flow.cliDir) {
          // The server's answer travels against the client's SYN: a SYN/ACK in the SYN's own
          // direction is not what this host's side sent or received (a forgery, or the second
          // copy of a forwarded one). Ignored, so it cannot set the server's sequence base either.
          this.drops[DROP.WRONG_DIRECTION]!++;
          return;
        }
        if (!dir.started) startStream(dir, seq);
        if (!flow.synAckSeen) flow.synAckDir = pdir;
        flow.synAckSeen = true;
      }
    } else if (!flow.handshakeDone && fromClient && (flags & TCP_ACK) !== 0 && flow.synSeen && flow.synAckSeen && p.ack === flow.s2c.base) {
      if (this.live && pdir !== DIR.UNKNOWN && flow.cliDir !== DIR.UNKNOWN && pdir !== flow.cliDir) {
        this.drops[DROP.WRONG_DIRECTION]!++;
        return;
      }
      flow.handshakeDone = true;
      flow.state = ST_EST;
      // Live, every step must have a known direction: with the SYN/ACK checked above, the client's
      // SYN and ACK went one way and the server's SYN/ACK the other, so one side is this host's
      // kernel (or a host it forwards for) and only the other side can have been forged.
      flow.handshakeVerified = !this.live || (flow.cliDir !== DIR.UNKNOWN && pdir !== DIR.UNKNOWN && flow.synAckDir !== DIR.UNKNOWN);
      if (flow.handshakeVerified) this.verified.onHandshake(p.ipVersion === 4 ? ipv4ToString(p.src4) : ipv6ToString(p.buf, p.src6Offset), tsMs);
      if (this.detectors.active) this.detectors.onHandshake(this.srcKey(p), this.dstKey(p), p.dstPort, flow.synTsMs, tsMs, flow.handshakeVerified);
    }

    if (p.payloadLength > 0 && dir.group !== null) {
      if (flow.state === ST_NEW && !flow.synSeen) flow.state = ST_EST; // mid-stream pickup
      this.reasm.segment(dir, seq, p.buf, p.payloadOffset, p.payloadLength, flags);
    }
    if (dir.group !== null && dir.group.unanchored.length > 0) this.packetRules(flow, dir, dir.group, p, flags);

    if ((flags & TCP_FIN) !== 0) {
      dir.finSeen = true;
      if (flow.c2s.finSeen && flow.s2c.finSeen) this.closeFlow(flow);
    }
  }

  private key6(p: DecodedPacket): number {
    const b = p.buf;
    const s = p.src6Offset;
    const d = p.dst6Offset;
    let cmp = 0;
    for (let i = 0; i < 16 && cmp === 0; i++) cmp = b[s + i]! - b[d + i]!;
    const lo = cmp < 0 || (cmp === 0 && p.srcPort <= p.dstPort);
    const x = lo ? s : d;
    const y = lo ? d : s;
    const ports = lo ? (p.srcPort << 16) | p.dstPort : (p.dstPort << 16) | p.srcPort;
    let h1 = 0x2545f491;
    let h2 = 0x9e3779b9 ^ ports;
    for (let i = 0; i < 16; i += 4) {
      const wx = (b[x + i]! << 24) | (b[x + i + 1]! << 16) | (b[x + i + 2]! << 8) | b[x + i + 3]!;
      const wy = (b[y + i]! << 24) | (b[y + i + 1]! << 16) | (b[y + i + 2]! << 8) | b[y + i + 3]!;
      h1 = mix(mix(h1, wx), wy);
      h2 = mix(mix(h2, wy), wx);
    }
    h1 = mix(h1, ports);
    return fmix(h1) * 1048576 + (fmix(h2) >>> 12);
  }

  private sameFlow(f: Flow, p: DecodedPacket): boolean {
    if (p.ipVersion === 4) {
      if (f.v6) return false;
      return (
        (f.cli4 === p.src4 && f.srv4 === p.dst4 && f.cliPort === p.srcPort && f.srvPort === p.dstPort) ||
        (f.cli4 === p.dst4 && f.srv4 === p.src4 && f.cliPort === p.dstPort && f.srvPort === p.srcPort)
      );
    }
    if (!f.v6) return false;
    if (f.cliPort === p.srcPort && f.srvPort === p.dstPort && this.eq6(f.addr6!, 0, p.buf, p.src6Offset) && this.eq6(f.addr6!, 16, p.buf, p.dst6Offset)) {
      return true;
    }
    return f.cliPort === p.dstPort && f.srvPort === p.srcPort && this.eq6(f.addr6!, 0, p.buf, p.dst6Offset) && this.eq6(f.addr6!, 16, p.buf, p.src6Offset);
  }

  private eq6(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
    for (let i = 0; i < 16; i++) if (a[ao + i] !== b[bo + i]) return false;
    return true;
  }

  private isFromClient(f: Flow, p: DecodedPacket): boolean {
    if (p.srcPort !== f.cliPort) return false;
    if (p.ipVersion === 4) return f.cli4 === p.src4;
    return this.eq6(f.addr6!, 0, p.buf, p.src6Offset);
  }

  private watched(port: number): boolean {
    const g = this.ruleset.groupByPort;
    return (g.toServer[port] ?? -1) >= 0 || (g.toClient[port] ?? -1) >= 0;
  }

  private createFlow(p: DecodedPacket, key: number, isSyn: boolean, isSynAck: boolean, tsMs: number): Flow {
    const f = new Flow();
    f.serial = ++this.serial;
    f.key = key;
    f.createdMs = tsMs;
    f.lastMs = tsMs;
    let senderIsClient: boolean;
    if (isSyn) senderIsClient = true;
    else if (isSynAck) senderIsClient = false;
    else {
      const wd = this.watched(p.dstPort);
      const ws = this.watched(p.srcPort);
      senderIsClient = wd !== ws ? wd : p.dstPort <= p.srcPort;
      f.midstream = true;
    }
    if (isSynAck) f.midstream = true;
    if (p.ipVersion === 4) {
      f.cli4 = senderIsClient ? p.src4 : p.dst4;
      f.srv4 = senderIsClient ? p.dst4 : p.src4;
    } else {
      f.v6 = true;
      const a = new Uint8Array(32);
      const b = p.buf;
      a.set(b.subarray(senderIsClient ? p.src6Offset : p.dst6Offset, (senderIsClient ? p.src6Offset : p.dst6Offset) + 16), 0);
      a.set(b.subarray(senderIsClient ? p.dst6Offset : p.src6Offset, (senderIsClient ? p.dst6Offset : p.src6Offset) + 16), 16);
      f.addr6 = a;
    }
    f.cliPort = senderIsClient ? p.srcPort : p.dstPort;
    f.srvPort = senderIsClient ? p.dstPort : p.srcPort;
    this.bind(f);
    this.flows.set(key, f);
    this.flowsCreated++;
    return f;
  }

  private bind(f: Flow): void {
    const r = this.ruleset;
    f.gen = this.gen;
    const gs = r.groupByPort.toServer[f.srvPort] ?? -1;
    const gc = r.groupByPort.toClient[f.srvPort] ?? -1;
    f.c2s.group = gs >= 0 ? (r.groups[gs] ?? null) : null;
    f.s2c.group = gc >= 0 ? (r.groups[gc] ?? null) : null;
    f.c2s.scan = f.c2s.group ? (this.scanTables.get(f.c2s.group) ?? null) : null;
    f.s2c.scan = f.s2c.group ? (this.scanTables.get(f.s2c.group) ?? null) : null;
  }

  private rebind(f: Flow): void {
    this.bind(f);
    for (const d of [f.c2s, f.s2c]) {
      d.dfaState = 0;
      d.pending = null;
      d.pendingPos = null;
    }
    f.alerted = null;
  }

  private closeFlow(f: Flow): void {
    f.state = ST_CLOSED;
    this.freeFlow(f);
  }

  private freeFlow(f: Flow): void {
    this.freeDir(f.c2s);
    this.freeDir(f.s2c);
  }

  private freeDir(d: DirState): void {
    if (d.buf !== null) {
      this.streamMemory -= d.buf.length;
      this.releaseStream(d.buf);
      d.buf = null;
    }
    d.bufLen = 0;
    d.pending = null;
    d.pendingPos = null;
    this.reasm.release(d);
  }

  private srcKey(p: DecodedPacket): AddrKey {
    return p.ipVersion === 4 ? p.src4 : ipv6ToString(p.buf, p.src6Offset);
  }
  private dstKey(p: DecodedPacket): AddrKey {
    return p.ipVersion === 4 ? p.dst4 : ipv6ToString(p.buf, p.dst6Offset);
  }

  // ---------------------------------------------------------------- matching

  private grow(d: DirState, need: number): void {
    const depth = this.cfg.reassemblyDepth;
    const old = d.buf;
    const oldCap = old === null ? 0 : old.length;
    let cap = oldCap === 0 ? 8192 : oldCap * 2;
    while (cap < need) cap *= 2;
    if (cap > depth) cap = Math.max(depth, need);
    if (this.streamMemory + cap - oldCap > this.maxStreamMemory) {
      // Over the global budget: this direction keeps being scanned but candidates can only be
      // verified against the packet that produced them.
      d.memRefused = true;
      this.streamMemoryRefused++;
      if (old !== null) {
        this.streamMemory -= oldCap;
        this.releaseStream(old);
        d.buf = null;
        d.bufLen = 0;
      }
      return;
    }
    const nb = this.allocStream(cap);
    if (old !== null) {
      nb.set(old.subarray(0, d.bufLen));
      this.releaseStream(old);
    }
    this.streamMemory += cap - oldCap;
    d.buf = nb;
  }

  /**
   * Stream buffers come from a small free list per size: flows start and end all the time and
   * fresh ArrayBuffers would churn malloc and the GC. Unzeroed: only [0, bufLen) is ever read
   * and gaps are zero-filled explicitly. The free lists hold at most POOL_BYTES.
   */
  private readonly pool = new Map<number, Uint8Array[]>();
  private pooled = 0;

  private allocStream(cap: number): Uint8Array {
    const list = this.pool.get(cap);
    const b = list?.pop();
    if (b !== undefined) {
      this.pooled -= cap;
      return b;
    }
    return Buffer.allocUnsafeSlow(cap);
  }

  private releaseStream(b: Uint8Array): void {
    if (this.pooled + b.length > POOL_BYTES) return;
    let list = this.pool.get(b.length);
    if (list === undefined) {
      list = [];
      this.pool.set(b.length, list);
    }
    list.push(b);
    this.pooled += b.length;
  }

  /** In-order stream bytes of one direction (the reassembler's sink). */
  private readonly onChunk = (
    d: DirState,
    data: Uint8Array,
    off: number,
    len: number,
    at: number,
    pktOff: number,
    pktLen: number,
    flags: number,
    gap: boolean,
  ): void => {
    const g = d.group;
    const flow = this.curFlow;
    if (g === null || flow === null) return;
    const end = at + len;
    if (!d.memRefused) {
      if (d.buf === null || end > d.buf.length) this.grow(d, end);
      const b = d.buf;
      if (b !== null) {
        if (at > d.bufLen) b.fill(0, d.bufLen, at);
        b.set(off === 0 && len === data.length ? data : data.subarray(off, off + len), at);
        d.bufLen = end;
      }
    }
    if (++this.chunkStamp === 0x7fffffff) {
      this.stamp.fill(0);
      this.chunkStamp = 1;
    }
    this.candSig.length = 0;
    this.candPos.length = 0;
    const w = this.warmup.get(g) ?? 0;
    if (len >= MULTI_CHAIN_MIN + 8 * w) d.dfaState = this.scan4(flow, d, g, gap ? 0 : d.dfaState, w, data, off, len, at);
    else d.dfaState = this.scan1(flow, d, g, gap ? 0 : d.dfaState, data, off, off + len, off, at);
    for (let c = 0; c < this.candSig.length; c++) {
      this.evaluate(flow, d, this.candSig[c]!, this.candPos[c]!, data, pktOff, pktLen, flags, true);
    }
    const pend = d.pending;
    if (pend !== null) {
      const pos = d.pendingPos!;
      for (let i = 0; i < pend.length; ) {
        const si = pend[i]!;
        const hitPos = pos[i]!;
        let drop = false;
        if (flow.alerted?.has(si) === true) drop = true;
        else if (this.stamp[si] !== this.chunkStamp) {
          if (this.evaluate(flow, d, si, hitPos, data, pktOff, pktLen, flags, false)) drop = true;
          else if (d.bufLen - hitPos > this.pendingWindow) {
            drop = true;
            this.pendingDropped++;
          }
        }
        if (drop) {
          pend.splice(i, 1);
          pos.splice(i, 1);
        } else i++;
      }
    }
  };

  /** Plain scan of data[from..to) starting in state s; returns the end state. */
  private scan1(flow: Flow, d: DirState, g: PortGroup, s: number, data: Uint8Array, from: number, to: number, off: number, at: number): number {
    const tbl = d.scan!;
    for (let i = from; i < to; i++) {
      s = tbl[s + data[i]!]!;
      if (s < 0) {
        s &= 0x7fffffff;
        this.hit(flow, d, g, s >>> 8, at + (i - off), data, off, at);
      }
    }
    return s;
  }

  /**
   * The scan is bound by the latency of one dependent table load per byte; four independent
   * chains over four parts of the chunk overlap those loads (~25-30 % faster on long payloads).
   * Chain 0 continues the flow's state; chains 1-3 start at the root `w` = (longest pattern - 1)
   * bytes before their part, which is enough for the automaton to see every pattern ending in
   * the part, and report only hits ending inside it. The last chain's end state equals the true
   * one because it has consumed at least `w` bytes.
   */
  private scan4(flow: Flow, d: DirState, g: PortGroup, s0: number, w: number, data: Uint8Array, off: number, len: number, at: number): number {
    const tbl = d.scan!;
    const steps = (len + 3 * w) >> 2;
    const st1 = off + steps - w;
    const st2 = st1 + steps - w;
    const st3 = st2 + steps - w;
    const r1 = st1 + w;
    const r2 = st2 + w;
    const r3 = st3 + w;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let k = 0; k < steps; k++) {
      s0 = tbl[s0 + data[off + k]!]!;
      s1 = tbl[s1 + data[st1 + k]!]!;
      s2 = tbl[s2 + data[st2 + k]!]!;
      s3 = tbl[s3 + data[st3 + k]!]!;
      if ((s0 | s1 | s2 | s3) < 0) {
        if (s0 < 0) {
          s0 &= 0x7fffffff;
          this.hit(flow, d, g, s0 >>> 8, at + k, data, off, at);
        }
        if (s1 < 0) {
          s1 &= 0x7fffffff;
          if (st1 + k >= r1) this.hit(flow, d, g, s1 >>> 8, at + (st1 + k - off), data, off, at);
        }
        if (s2 < 0) {
          s2 &= 0x7fffffff;
          if (st2 + k >= r2) this.hit(flow, d, g, s2 >>> 8, at + (st2 + k - off), data, off, at);
        }
        if (s3 < 0) {
          s3 &= 0x7fffffff;
          if (st3 + k >= r3) this.hit(flow, d, g, s3 >>> 8, at + (st3 + k - off), data, off, at);
        }
      }
    }
    return this.scan1(flow, d, g, s3, data, st3 + steps, off + len, off, at);
  }

  private hit(flow: Flow, d: DirState, g: PortGroup, k: number, endPos: number, data: Uint8Array, off: number, at: number): void {
    const { outStart, outList } = g.dfa;
    const patterns = g.patterns;
    const stamp = this.stamp;
    const cs = this.chunkStamp;
    for (let j = outStart[k]!, e = outStart[k + 1]!; j < e; j++) {
      const pat = patterns[outList[j]!]!;
      const si = pat.signature;
      if (stamp[si] === cs) continue;
      if (flow.alerted !== null && flow.alerted.has(si)) continue;
      if (!pat.nocase) {
        // The automaton folds case; a case-sensitive pattern is checked on the original bytes.
        const start = endPos - pat.length + 1;
        const pb = pat.bytes;
        let ok = true;
        if (d.buf !== null && start >= 0) {
          const b = d.buf;
          for (let q = 0; q < pb.length; q++) {
            if (b[start + q] !== pb[q]) {
              ok = false;
              break;
            }
          }
        } else if (start >= at) {
          const base = off + (start - at);
          for (let q = 0; q < pb.length; q++) {
            if (data[base + q] !== pb[q]) {
              ok = false;
              break;
            }
          }
        }
        if (!ok) continue;
      }
      stamp[si] = cs;
      this.candSig.push(si);
      this.candPos.push(endPos);
    }
  }

  /** Verifies one candidate; returns true when it is settled (matched or not applicable). */
  private evaluate(flow: Flow, d: DirState, si: number, hitPos: number, data: Uint8Array, pktOff: number, pktLen: number, flags: number, fresh: boolean): boolean {
    const sig = this.sigs[si]!;
    // Groups merge overlapping port sets, so a group can hold signatures for other ports.
    if (!portIn(sig.ports, flow.srvPort)) return true;
    if (sig.established !== undefined && sig.established !== (flow.handshakeDone || flow.midstream)) return true;
    const ctx = flow.ctx ?? EMPTY_CTX;
    if (this.packetSig[si] === 1) {
      if (sig.flags !== undefined && !tcpFlagsMatch(sig.flags, flags)) return true;
      if (sig.stream === 'only') return true;
      const view = data.subarray(pktOff, pktOff + pktLen);
      if (this.verify(sig, view, pktLen, ctx, this.regex)) this.fire(flow, d, si, hitPos, view, pktLen);
      return true;
    }
    let ok: boolean;
    const whole = d.buf !== null && d.verifiedBytes + d.bufLen <= this.verifyBudget;
    if (whole) {
      d.verifiedBytes += d.bufLen;
      ok = this.verify(sig, d.buf!, d.bufLen, ctx, this.regex);
    } else {
      if (d.buf !== null && !d.budgetExhausted) {
        d.budgetExhausted = true;
        this.verifyBudgetExhausted++;
      }
      const view = data.subarray(pktOff, pktOff + pktLen);
      ok = this.verify(sig, view, pktLen, ctx, this.regex);
    }
    if (ok) {
      if (whole) this.fire(flow, d, si, hitPos, d.buf!, d.bufLen);
      else this.fire(flow, d, si, hitPos - (d.bufLen - pktLen), data.subarray(pktOff, pktOff + pktLen), pktLen);
      return true;
    }
    if (fresh && whole) {
      // Later bytes may still satisfy it (relative content not yet arrived, flowbit set later).
      const pend = (d.pending ??= []);
      const pos = (d.pendingPos ??= []);
      if (pend.length >= this.maxPending) {
        pend.shift();
        pos.shift();
        this.pendingDropped++;
      }
      pend.push(si);
      pos.push(hitPos);
    }
    return false;
  }

  /** Per-packet evaluation of the group's signatures that have no fast pattern. */
  private packetRules(flow: Flow, d: DirState, g: PortGroup, p: DecodedPacket, flags: number): void {
    const view = p.buf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength);
    const established = flow.handshakeDone || flow.midstream;
    for (const si of g.unanchored) {
      if (flow.alerted !== null && flow.alerted.has(si)) continue;
      const sig = this.sigs[si];
      if (sig === undefined || !portIn(sig.ports, flow.srvPort)) continue;
      if (sig.established !== undefined && sig.established !== established) continue;
      if (sig.flags !== undefined && !tcpFlagsMatch(sig.flags, flags)) continue;
      // Like Suricata, payload conditions never inspect a packet without payload.
      if (p.payloadLength === 0 && sig.conditions.length > 0) continue;
      if (this.verify(sig, view, p.payloadLength, flow.ctx ?? EMPTY_CTX, this.regex)) this.fire(flow, d, si, p.payloadLength - 1, view, p.payloadLength);
    }
  }

  private fire(flow: Flow, d: DirState, si: number, hitPos: number, excerptSrc: Uint8Array, excerptLen: number): void {
    const sig = this.sigs[si]!;
    (flow.alerted ??= new Set<number>()).add(si);
    let noalert = false;
    for (const op of sig.flowbits) {
      if (op.op === 'noalert') noalert = true;
      else if (op.op === 'set' || op.op === 'unset' || op.op === 'toggle') {
        const bits = (flow.flowbits ??= new Set<string>());
        flow.ctx ??= { flowbits: bits };
        for (const n of op.names) {
          if (op.op === 'set') bits.add(n);
          else if (op.op === 'unset') bits.delete(n);
          else if (bits.has(n)) bits.delete(n);
          else bits.add(n);
        }
      }
    }
    if (noalert) return;
    const toServer = d === flow.c2s;
    const srcIp = this.flowIp(flow, toServer);
    const destIp = this.flowIp(flow, !toServer);
    const verdict = this.alertFilter.check({ gid: sig.gid, sid: sig.id, ruleFilter: sig.rateFilter, srcIp, destIp, tsMs: this.curTsMs });
    if (!verdict.alert) {
      this.suppressed++;
      return;
    }
    this.bySeverity[sig.severity] = (this.bySeverity[sig.severity] ?? 0) + 1;
    this.byKind.signature = (this.byKind.signature ?? 0) + 1;
    const det: Detection = {
      timestampMs: this.curTsMs,
      flowId: flow.id,
      srcIp,
      srcPort: toServer ? flow.cliPort : flow.srvPort,
      destIp,
      destPort: toServer ? flow.srvPort : flow.cliPort,
      proto: 'TCP',
      signatureId: sig.id,
      rev: sig.rev,
      signature: sig.name,
      category: sig.category,
      severity: sig.severity,
      action: sig.action,
      handshakeCompleted: flow.handshakeVerified,
      gid: sig.gid,
    };
    if (sig.origin !== undefined) det.origin = sig.origin;
    if (sig.classtype !== undefined) det.classtype = sig.classtype;
    if (sig.priority !== undefined) det.priority = sig.priority;
    if (sig.metadata.length > 0) det.metadata = sig.metadata;
    if (verdict.newAction !== undefined) det.newAction = verdict.newAction;
    const ex = excerpt(excerptSrc, excerptLen, hitPos);
    if (ex.length > 0) det.payloadExcerpt = ex;
    this.emit(det);
  }

  private flowIp(f: Flow, client: boolean): string {
    if (!f.v6) return ipv4ToString(client ? f.cli4 : f.srv4);
    return ipv6ToString(f.addr6!, client ? 0 : 16);
  }

  private emit(d: Detection): void {
    // Attributable evidence (the source's own handshake): it is no longer a verified peer.
    if (d.handshakeCompleted) this.verified.onDetection(d.srcIp, d.timestampMs);
    try {
      this.onDetection(d);
    } catch (e) {
      this.log.error({ err: e }, 'detection handler failed');
    }
  }

  private readonly onFinding = (f: DetectorFinding): void => {
    const p = this.pkt;
    const spec: DetectorSpec = f.spec;
    const srcIp = p.ipVersion === 4 ? ipv4ToString(p.src4) : ipv6ToString(p.buf, p.src6Offset);
    const destIp = p.ipVersion === 4 ? ipv4ToString(p.dst4) : ipv6ToString(p.buf, p.dst6Offset);
    const srcKey = this.srcKey(p);
    this.bySeverity[spec.severity] = (this.bySeverity[spec.severity] ?? 0) + 1;
    this.byKind[spec.kind] = (this.byKind[spec.kind] ?? 0) + 1;
    this.emit({
      timestampMs: this.curTsMs,
      flowId: 0n,
      srcIp,
      srcPort: p.srcPort,
      destIp,
      destPort: p.dstPort,
      proto: 'TCP',
      signatureId: spec.id,
      rev: 1,
      signature: spec.name,
      category: DETECTOR_CATEGORY[spec.kind],
      severity: spec.severity,
      action: spec.action,
      detector: spec.kind,
      handshakeCompleted: f.evidence === 'handshake',
      evidence: f.evidence,
      ...(f.evidence === 'half-open' && f.key === srcKey ? { verifiedPeer: this.verified.isVerified(srcIp, this.curTsMs) } : {}),
      details: f.details,
    });
  };
}

/** nmap's stealth probes by flags (no SYN/ACK/RST): NULL, FIN alone, Xmas (FIN+PSH+URG) or other. */
function probeKind(flags: number): 'fin' | 'null' | 'xmas' {
  if (flags === 0) return 'null';
  return (flags & 0x29) === 0x29 ? 'xmas' : 'fin';
}

function portIn(ranges: readonly { from: number; to: number }[], port: number): boolean {
  for (const r of ranges) if (port >= r.from && port <= r.to) return true;
  return false;
}

const DETECTOR_CATEGORY = {
  portscan: 'Detection of a Network Scan',
  synflood: 'Detection of a Denial of Service Attack',
  bruteforce: 'Attempted User Privilege Gain',
} as const;

/** Printable excerpt (≤ 256 chars) of data[0..len) around `pos`; non-printable bytes become '.'. */
export function excerpt(data: Uint8Array, len: number, pos: number): string {
  if (len <= 0) return '';
  let from = pos - EXCERPT_BEFORE;
  if (from < 0) from = 0;
  let to = from + EXCERPT_MAX;
  if (to > len) {
    to = len;
    from = Math.max(0, to - EXCERPT_MAX);
  }
  let s = '';
  for (let i = from; i < to; i++) {
    const c = data[i]!;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
  }
  return s;
}
