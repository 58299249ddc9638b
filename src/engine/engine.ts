/**
 * The inspection engine, wiring the pipeline stages (each a folder with its contract in types.ts):
 * decode (decode/) → flow table and TCP tracking (flow/) → TCP reassembly (stream/) →
 * application layer (app-layer/) → detection (detect/), plus the behavioural detectors. One
 * instance per process; single-threaded; the packet path allocates nothing per packet except when
 * a flow starts, a segment must be buffered out of order, or something is detected. Design and
 * policies: docs/engine.md.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../log/index.js';
import type { Config } from '../config/types.js';
import type { Ruleset, VerifyFn } from '../signatures/types.js';
import { verifySignature } from '../signatures/verify.js';
import type { Detection, LocalAddresses } from './types.js';
import { DIR, type PacketDirection } from './capture/types.js';
import type { ChecksumPolicy } from './decode/checksum.js';
import { DecodedPacket, decodePacket, DROP, DROP_REASONS, LINKTYPE, ipv4ToString, ipv6ToString, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from './decode/decode.js';
import { DECODE_EVENTS } from './decode/events.js';
import { Defragmenter, type DefragCounters } from './decode/defrag.js';
import { FlowTable } from './flow/table.js';
import { KeyedPermutation, randomSeed, type HashSeed } from './flow/hash.js';
import { carryCounters, isFromClient, type Flow } from './flow/flow.js';
import { isReuse, newFlow, trackFin, trackTcp, TRACK_WRONG_DIRECTION, type TcpHooks } from './flow/tcp.js';
import { Reassembler, ReassemblyCounters, snapshotCounters, type ReassemblyStats } from './stream/reassembly.js';
import type { DirState } from './stream/dir-state.js';
import { StreamStore } from './stream/store.js';
import { Detect } from './detect/detect.js';
import type { AppLayerStats } from './detect/types.js';
import { ThresholdFilter } from './threshold/filter.js';
import { NO_THRESHOLDS } from './threshold/parse.js';
import type { AlertFilter } from './threshold/types.js';
import { Detectors, type AddrKey, type DetectorFinding } from './detectors.js';
import { VerifiedPeers, type VerifiedPeerStats } from './verified-peers.js';
import { registerEngineMetrics } from './metrics.js';
import type { RegexStats } from '../regex/meter.js';
import type { DatasetSnapshot } from '../signatures/keywords/dataset-store.js';

export { excerpt } from './detect/alert.js';

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
  /**
   * Key of the flow table's hash and of the detectors' address keys (HalfSipHash, 64 bits).
   * Default: random per engine, so colliding tuples cannot be computed from outside; tests inject
   * a fixed one.
   */
  hashSeed?: HashSeed;
  /** Act as Suricata in IPS mode (`bulwark scan --simulate-ips`): a drop rule that matched a flow drops it, its later packets are not inspected. */
  simulateIps?: boolean;
  /** Flow id serials offset + k × stride (FlowTableOptions.serial): one scan worker's share of the ids. */
  flowSerial?: { offset: number; stride: number };
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
  /** Longest flow-table hash chain since start (flows sharing one bucket). */
  flowHashChainMax: number;
  streamMemoryBytes: number;
  streamMemoryRefused: number;
  pendingDropped: number;
  /** Flow directions whose verification budget ran out (verified per segment since). */
  verifyBudgetExhausted: number;
  detections: { bySeverity: Record<string, number>; byKind: Record<string, number> };
  suppressedByRateFilter: number;
  /** Alerts discarded past engine.packetAlertMax (Suricata's detect.alert_queue_overflow). */
  alertQueueOverflow: number;
  /** Matches that did not alert because a pass rule came first on their packet. */
  alertsPassed: number;
  /** Flows a pass rule passed; flows a drop rule dropped (IPS simulation). */
  flowsPassed: number;
  flowsDropped: number;
  /** xbits table (rule language): bits held, and bits dropped to stay within the bound (oldest first). */
  xbits?: { entries: number; evicted: number; expired: number };
  /** pcre flow captures dropped at the per-flow bound (rule language). */
  flowvarsDropped?: number;
  /** Datasets (rule language): sets, entries over all sets, adds refused by a set's memcap. */
  datasets?: { sets: number; entries: number; memcapRefused: number };
  reassembly: ReassemblyStats;
  /** Decoder events raised (Suricata's names, decode/events.ts), only those seen at least once. */
  decoderEvents: Record<string, number>;
  /** IP fragment reassembly. */
  defrag: { [K in keyof DefragCounters]: number } & { inProgress: number; memoryBytes: number };
  detectors: { tracked: number; evictions: number };
  /** Sources that completed a verified handshake (half-open evidence never blocks them). */
  verifiedPeers: VerifiedPeerStats;
  memoryPressure: boolean;
  /** App layer: flows by detected protocol, undetected flows, parser failures, transactions inspected, memory budget, protocol changes, expectations. */
  appLayer: AppLayerStats;
  /** The regex engine under the inspection budget: outcomes, limit hits per signature, skips. */
  regex: RegexStats;
}

const TICK_EVERY_MS = 1000;
const CLOCK_JUMP_MS = 3_600_000;
/** Under memory pressure idle timeouts are divided by this. */
const PRESSURE_DIVISOR = 6;

export class Engine {
  private readonly cfg: Config['engine'];
  private readonly log: Logger;
  private readonly host: LocalAddresses | undefined;
  /** Live capture (a host was given): handshake evidence needs directions. */
  private readonly live: boolean;

  private readonly pkt = new DecodedPacket();
  private readonly defrag: Defragmenter;
  private readonly flows: FlowTable;
  private readonly reasm: Reassembler<DirState>;
  private readonly store: StreamStore;
  private readonly detect: Detect;
  private readonly detectors: Detectors;
  private readonly verified: VerifiedPeers;
  /** Keyed permutation of IPv4 detector keys (see srcKey). */
  private readonly addrPerm: KeyedPermutation;

  // Current packet context (set by processPacket, read by the chunk sink and detector emit).
  private curFlow: Flow | null = null;
  /** Stream bytes delivered now go to raw stream inspection only (flushHeld: unACKed data at flow end). */
  private rawOnly = false;
  private curTsMs = 0;
  private lastTickMs = -Infinity;
  /** 1-based number of the packet being processed (Suricata's pcap_cnt); 0 outside a packet (ticks, flush). */
  private pktNo = 0;
  /** Packets of the capture so far: inspected here plus those another scan worker inspects (skipPacket). */
  private ordinal = 0;
  /**
   * The frame being processed (EVE `packet` of its alerts): buffer, start, length, link type, and
   * whether it was rebuilt from IP fragments. Only referenced; copied when something alerts.
   */
  private frame: Uint8Array | null = null;
  private frameOff = 0;
  private frameLen = 0;
  private frameLink = 0;
  private frameDefrag = false;

  // Counters (exported through stats() and metrics collect callbacks).
  private packets = 0;
  private bytes = 0;
  private payloadBytes = 0;
  private readonly drops = new Float64Array(DROP_REASONS.length);
  private readonly decoderEvents = new Float64Array(DECODE_EVENTS.length);
  private pressure = false;

  constructor(opts: EngineOptions) {
    this.cfg = opts.config;
    this.log = opts.log;
    this.host = opts.host;
    this.live = opts.host !== undefined;
    this.defrag = new Defragmenter(opts.config.defrag);
    this.store = new StreamStore(opts.config.reassemblyDepth, opts.maxStreamMemory ?? 128 * 1024 * 1024);
    this.detect = new Detect({
      config: opts.config,
      log: opts.log,
      onDetection: (d) => {
        // Attributable evidence (the source's own handshake): it is no longer a verified peer.
        if (d.handshakeCompleted) this.verified.onDetection(d.srcIp, d.timestampMs);
        // Suricata writes pcap_cnt for the packet that triggered inspection; matches raised by
        // flow timeouts or the end of the file (its pseudo packets) carry none.
        if (this.pktNo > 0) d.pcapCnt = this.pktNo;
        if (d.detector === undefined) this.describePacket(d);
        opts.onDetection(d);
      },
      verify: opts.verify ?? verifySignature,
      alertFilter: opts.alertFilter ?? new ThresholdFilter(NO_THRESHOLDS, { maxEntries: opts.maxTracked ?? 65_536 }),
      pendingWindow: opts.pendingWindow ?? 64 * 1024,
      maxPending: opts.maxPending ?? 16,
      verifyBudget: opts.verifyBudget ?? 8 * opts.config.reassemblyDepth,
      regexNow: opts.regexNow ?? (() => performance.now()),
      ...(opts.simulateIps === true ? { simulateIps: true } : {}),
      ...(opts.host !== undefined ? { live: true } : {}),
    });
    const seed = opts.hashSeed ?? randomSeed();
    this.addrPerm = new KeyedPermutation(seed);
    this.flows = new FlowTable({ maxFlows: opts.config.maxFlows, seed, onFree: (f) => {
      this.freeFlow(f);
    }, ...(opts.flowSerial !== undefined ? { serial: opts.flowSerial } : {}) });
    this.reasm = new Reassembler<DirState>(
      { depth: opts.config.reassemblyDepth, maxSegments: opts.config.maxSegmentsPerFlow },
      new ReassemblyCounters(),
      this.onChunk,
    );
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
    this.detect.setRuleset(r);
    this.detectors.setSpecs(r.detectors);
    this.log.debug({ version: r.version, signatures: r.signatures.length, groups: r.groups.length }, 'ruleset active');
  }

  /** Replaces the alert filter (threshold.config reloaded): counting starts over. */
  setAlertFilter(f: AlertFilter): void {
    this.detect.alertFilter = f;
  }

  get currentAlertFilter(): AlertFilter {
    return this.detect.alertFilter;
  }

  get activeRuleset(): Ruleset {
    return this.detect.activeRuleset;
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
    this.detect.regex.beginPacket();
    const tsMs = tsUs / 1000;
    this.advance(tsMs);
    this.pktNo = this.ordinal;
    this.frame = buf;
    this.frameOff = offset;
    this.frameLen = caplen;
    this.frameLink = linkType;
    this.frameDefrag = false;
    try {
      if (dir === DIR.OTHER_HOST) {
        this.drops[DROP.NOT_FOR_HOST]!++;
        return;
      }
      let reason = decodePacket(buf, offset, caplen, linkType, this.pkt);
      if (reason === DROP.IP_FRAGMENT) {
        const whole = this.defrag.add(this.pkt, tsMs);
        // The fragment's own decoder and defrag events, before the rebuilt datagram (a packet of its own) reuses pkt.
        if (this.pkt.eventCount > 0) this.onDecoderEvents();
        if (whole === null) return; // held (or refused) by the defragmenter, counted there
        reason = decodePacket(whole, 0, whole.length, LINKTYPE.RAW, this.pkt);
        // The rebuilt packet is what matches and what EVE shows (with the first fragment's link header).
        const fr = this.defrag.lastFrame;
        if (fr !== null) {
          this.frame = fr;
          this.frameOff = 0;
          this.frameLen = fr.length;
          this.frameDefrag = true;
        }
      }
      if (this.pkt.eventCount > 0) this.onDecoderEvents();
      if (reason === DROP.NONE && this.host !== undefined) reason = this.addressCheck(this.pkt, dir, this.host);
      // What the checksum keywords read (Suricata's PKT_IGNORE_CHECKSUM); no policy: not validated.
      if (reason === DROP.NONE) {
        this.detect.csumIgnore = checksums === undefined || checksums.keywordPacket(this.pkt, dir !== DIR.OUTBOUND && this.cfg.checksumValidation);
        this.detect.csumPacket = this.pkt;
      }
      if (reason !== DROP.NONE) {
        this.drops[reason]!++;
        return;
      }
      this.payloadBytes += this.pkt.payloadLength;
      // Packets this host sent cannot be forged and show partial checksums under offload: never validated.
      if (checksums !== undefined && dir !== DIR.OUTBOUND && this.cfg.checksumValidation && !checksums.accept(this.pkt)) {
        // Suricata's stream engine ignores it (counted as bad_checksum); its flow and packet rules still see it.
        this.drops[DROP.BAD_CHECKSUM]!++;
        this.handleInvalidTcp(this.pkt, tsMs);
        return;
      }
      this.handleTcp(this.pkt, tsMs, dir);
    } catch (e) {
      this.drops[DROP.INTERNAL_ERROR]!++;
      this.log.warn({ err: e }, 'packet processing failed');
    } finally {
      // Detections leave with the packet's fields before they are reset (describePacket).
      this.detect.flushDetections();
      this.curFlow = null;
      this.detect.csumPacket = null;
      this.pktNo = 0;
      this.frame = null;
    }
  }

  /**
   * A packet of the capture that another scan worker inspects (src/engine/shard/): it numbers
   * the packets (pcap_cnt) and moves packet time, so flows here expire at the same packet as in
   * a single engine.
   */
  skipPacket(tsUs: number): void {
    // A tick it causes flushes its own detections (tick()); nothing else can detect here.
    this.advance(tsUs / 1000);
  }

  /** Number of the last packet seen (inspected or skipped). */
  get packetOrdinal(): number {
    return this.ordinal;
  }

  /** One more packet of the capture at tsMs: packet time moves, idle flows expire (tick). */
  private advance(tsMs: number): void {
    this.ordinal++;
    this.curTsMs = tsMs;
    this.detect.nowMs = tsMs;
    if (tsMs - this.lastTickMs >= TICK_EVERY_MS) this.tick(tsMs);
    else if (tsMs < this.lastTickMs - CLOCK_JUMP_MS) this.lastTickMs = tsMs; // capture time went back (new file, clock step)
  }

  /**
   * A signature match's packet fields (EVE pkt_src, packet, packet_info): the frame being
   * processed, copied (the capture buffer is reused); outside a packet (flow timeout, end of
   * file) Suricata's pseudo packet source.
   */
  private describePacket(d: Detection): void {
    const f = this.frame;
    if (this.pktNo === 0 || f === null) {
      d.pktSrc = 'stream (flow timeout)';
      return;
    }
    d.pktSrc = this.frameDefrag ? 'defrag' : 'wire/pcap';
    // A copy: the capture (libpcap, the pcap reader) reuses the frame's memory, and a Buffer's
    // slice() would be a view of it.
    d.packet = { data: new Uint8Array(f.subarray(this.frameOff, this.frameOff + this.frameLen)), linkType: this.frameLink };
  }

  /** The current packet raised decoder events: count them, run the decode-event signatures. */
  private onDecoderEvents(): void {
    const p = this.pkt;
    for (let i = 0; i < p.eventCount; i++) this.decoderEvents[p.events[i]!]!++;
    this.detect.decodeEvents(p);
  }

  /** Expires idle flows (packet time). Called automatically as packet time advances. */
  tick(nowMs: number): void {
    this.lastTickMs = nowMs;
    this.defrag.expire(nowMs);
    this.pressure = this.flows.size > this.flows.max * 0.9 || this.store.memory > this.store.maxMemory * 0.9;
    const div = this.pressure ? PRESSURE_DIVISOR : 1;
    this.flows.expire(nowMs, this.cfg.timeouts.newMs / div, this.cfg.timeouts.establishedMs / div, this.cfg.timeouts.closedMs / div);
    this.detect.flushDetections();
  }

  stats(): EngineStats {
    const dropped: Record<string, number> = {};
    for (let i = 1; i < DROP_REASONS.length; i++) dropped[DROP_REASONS[i]!] = this.drops[i]!;
    const decoderEvents: Record<string, number> = {};
    for (let i = 0; i < DECODE_EVENTS.length; i++) if (this.decoderEvents[i]! > 0) decoderEvents[DECODE_EVENTS[i]!] = this.decoderEvents[i]!;
    const ds = this.detectors.stats();
    const af = this.detect.alertFilter.stats();
    const dc = this.detect.counters;
    return {
      packets: this.packets,
      bytes: this.bytes,
      payloadBytes: this.payloadBytes,
      dropped,
      decoderEvents,
      flowsActive: this.flows.size,
      flowsCreated: this.flows.created,
      flowEvictions: this.flows.evictions,
      flowTimeouts: this.flows.timeouts,
      flowHashChainMax: this.flows.chainMax,
      streamMemoryBytes: this.store.memory,
      streamMemoryRefused: this.store.refused,
      pendingDropped: dc.pendingDropped,
      verifyBudgetExhausted: dc.verifyBudgetExhausted,
      detections: { bySeverity: { ...dc.bySeverity }, byKind: { ...dc.byKind } },
      suppressedByRateFilter: dc.suppressed,
      alertQueueOverflow: dc.alertQueueOverflow,
      alertsPassed: dc.alertsPassed,
      flowsPassed: dc.flowsPassed,
      flowsDropped: dc.flowsDropped,
      xbits: this.detect.ruleState.xbits.stats(),
      flowvarsDropped: this.detect.ruleState.stats().flowvarsDropped,
      datasets: this.detect.ruleState.datasets.stats(),
      reassembly: snapshotCounters(this.reasm.counters),
      defrag: {
        fragments: this.defrag.counters.fragments,
        reassembled: this.defrag.counters.reassembled,
        timeouts: this.defrag.counters.timeouts,
        evicted: this.defrag.counters.evicted,
        invalid: this.defrag.counters.invalid,
        overlaps: this.defrag.counters.overlaps,
        ignored: this.defrag.counters.ignored,
        inProgress: this.defrag.size,
        memoryBytes: this.defrag.memoryBytes,
      },
      detectors: { tracked: ds.tracked + af.entries, evictions: ds.evictions + af.evictions },
      verifiedPeers: this.verified.stats(),
      memoryPressure: this.pressure,
      regex: this.detect.regexStats(),
      appLayer: this.detect.appStats(),
    };
  }

  /** The datasets with a save/state file and their content, for the service to write. */
  datasetSnapshots(): DatasetSnapshot[] {
    return this.detect.ruleState.datasets.snapshots();
  }

  /** Drops every flow (end of an offline run, shutdown); frees stream memory. */
  flush(): void {
    this.flows.clear();
    this.detect.flushDetections();
  }

  // ---------------------------------------------------------------- decode → flow

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

  private readonly tcpHooks: TcpHooks = {
    onSyn: (p, tsMs) => {
      if (this.detectors.active) this.detectors.onSyn(this.srcKey(p), this.dstKey(p), p.dstPort, tsMs);
    },
    onHandshake: (p, flow, tsMs) => {
      if (flow.handshakeVerified) this.verified.onHandshake(p.ipVersion === 4 ? ipv4ToString(p.src4) : ipv6ToString(p.buf, p.src6Offset), tsMs);
      if (this.detectors.active) this.detectors.onHandshake(this.srcKey(p), this.dstKey(p), p.dstPort, flow.synTsMs, tsMs, flow.handshakeVerified);
    },
    onClose: (flow) => {
      this.freeFlow(flow);
    },
    onSuspectedRstInject: (flow, dir, p) => {
      // A passed (or IPS-dropped) flow is not inspected any more: no stream-event alerts either.
      if (!flow.passed && !flow.dropped) this.detect.streamEvent(flow, dir, 'suspected_rst_inject', p);
    },
  };

  /**
   * A TCP packet whose checksum failed validation. Suricata's stream engine ignores it
   * (StreamTcp returns before tracking), but the packet has its flow (created and counted before
   * the stream engine runs) and its packet-level detection: header rules and the per-packet
   * signatures (tcpv4-csum:invalid, flags, dsize). A flow it creates has no TCP session (Suricata's
   * flow without protoctx): the first valid packet starts over as on a new flow (handleTcp).
   */
  private handleInvalidTcp(p: DecodedPacket, tsMs: number): void {
    const flags = p.flags;
    let flow = this.flows.find(p);
    if (flow === undefined) {
      const isSyn = (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
      const isSynAck = (flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
      if (!isSyn && !isSynAck && p.payloadLength === 0) return;
      flow = newFlow(p, isSyn, isSynAck, tsMs, this.watched, this.cfg.midstream);
      flow.noSession = true;
      this.detect.bind(flow);
      this.flows.insert(flow);
    }
    if (flow.gen !== this.detect.gen) this.detect.rebind(flow);
    const fromClient = isFromClient(flow, p);
    this.countPacket(flow, fromClient, tsMs);
    if (flow.passed || flow.dropped) return;
    const dir = fromClient ? flow.c2s : flow.s2c;
    if (this.detect.hasHeaderRules) this.detect.headerRules(flow, dir, p, this.detect.established(flow));
    if (dir.group !== null && dir.group.unanchored.length > 0) this.detect.packetRules(flow, dir, dir.group, p, flags);
  }

  /** Flow counters (Suricata's, whole frames) and the flow of the packet being processed. */
  private countPacket(flow: Flow, fromClient: boolean, tsMs: number): void {
    flow.lastMs = tsMs;
    if (fromClient) {
      flow.pktsToServer++;
      flow.bytesToServer += this.frameLen;
    } else {
      flow.pktsToClient++;
      flow.bytesToClient += this.frameLen;
    }
    this.curFlow = flow;
  }

  private handleTcp(p: DecodedPacket, tsMs: number, pdir: PacketDirection): void {
    const flags = p.flags;
    let flow = this.flows.find(p);
    let fromClient = true;
    let carried: Flow | undefined;
    if (flow?.noSession === true) {
      // Only invalid packets so far: the session starts with this one as on a new flow, the flow's
      // counters carried over.
      carried = flow;
      this.flows.delete(flow);
      flow = undefined;
    }
    if (flow !== undefined) {
      fromClient = isFromClient(flow, p);
      if (isReuse(flow, p, fromClient)) {
        // A new connection on a reused 4-tuple.
        this.flows.delete(flow);
        flow = undefined;
      }
    }
    if (flow === undefined) {
      const isSyn = (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
      const isSynAck = (flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
      if (!isSyn && !isSynAck && p.payloadLength === 0) {
        // No state worth creating; a stray FIN/NULL/Xmas probe still counts as a scanned port.
        if ((flags & (TCP_SYN | TCP_ACK | TCP_RST)) === 0 && this.detectors.active) {
          this.detectors.onProbe(this.srcKey(p), p.dstPort, tsMs, probeKind(flags));
        }
        return;
      }
      flow = newFlow(p, isSyn, isSynAck, tsMs, this.watched, this.cfg.midstream);
      if (carried !== undefined) carryCounters(carried, flow);
      this.detect.bind(flow);
      this.flows.insert(flow);
      if (carried !== undefined) this.flows.created--; // the same flow, now with its session
      fromClient = isFromClient(flow, p);
    }
    if (flow.gen !== this.detect.gen) this.detect.rebind(flow);
    this.countPacket(flow, fromClient, tsMs);
    const dir = fromClient ? flow.c2s : flow.s2c;

    if (flow.passed || flow.dropped) {
      // A pass rule passed the flow (or, simulating IPS, a drop rule dropped it): Suricata inspects
      // none of its later packets. Its state is still tracked, so it closes and expires as usual.
      const st = trackTcp(flow, dir, p, fromClient, pdir, this.live, tsMs, this.tcpHooks);
      if (st >= 0) trackFin(flow, dir, p, this.tcpHooks);
      return;
    }
    // Suricata sets a packet's flow flags before its stream engine runs: the ACK that completes the
    // handshake is not yet "established" for flow:established.
    const establishedBefore = this.detect.established(flow);
    const seq = trackTcp(flow, dir, p, fromClient, pdir, this.live, tsMs, this.tcpHooks);
    // The end of this direction's protocol detection, reached on an earlier packet, is this packet's.
    const protoDone = dir.protoDonePending && seq !== TRACK_WRONG_DIRECTION;
    if (protoDone) dir.protoDonePending = false;
    // Header-only rules (IP-only and the like) see every packet the flow tracking accepted, RSTs included.
    if (seq !== TRACK_WRONG_DIRECTION && this.detect.hasHeaderRules) this.detect.headerRules(flow, dir, p, establishedBefore, protoDone);
    if (seq < 0) {
      if (seq === TRACK_WRONG_DIRECTION) this.drops[DROP.WRONG_DIRECTION]!++;
      return;
    }
    if ((flags & TCP_ACK) !== 0) {
      // The peer acknowledged bytes of the other direction this capture never saw: segments
      // waiting behind that hole are delivered after a gap (Reassembler.ackedGap).
      const other = fromClient ? flow.s2c : flow.c2s;
      if (other.ooo !== null) this.reasm.ackedGap(other, p.ack);
    }
    if (p.payloadLength > 0) {
      // This side speaks: the other side's turn is over, its next data starts a new raw
      // inspection window (DirState.rawFrom), whether or not anything inspects this side.
      const other = fromClient ? flow.s2c : flow.c2s;
      other.rawFrom = other.bufLen;
    }
    if (p.payloadLength > 0 && (dir.group !== null || flow.app !== null)) this.reasm.segment(dir, seq, p.buf, p.payloadOffset, p.payloadLength, flags);
    if (dir.group !== null && dir.group.unanchored.length > 0) this.detect.packetRules(flow, dir, dir.group, p, flags);
    if (flow.app !== null && (flags & (TCP_FIN | TCP_RST)) !== 0) this.detect.appEnd(flow, dir);
    trackFin(flow, dir, p, this.tcpHooks);
  }

  private readonly watched = (port: number): boolean => this.detect.watched(port);

  private freeFlow(f: Flow): void {
    // Frames still waiting for bytes are inspected on what there is, before the streams go
    // (Suricata inspects them on its end-of-flow pseudo packets).
    if (f.app !== null) this.detect.appFramesEnd(f);
    if ((f.c2s.group !== null && f.c2s.ooo !== null) || (f.s2c.group !== null && f.s2c.ooo !== null)) this.flushHeld(f);
    this.freeDir(f.c2s);
    this.freeDir(f.s2c);
    this.detect.appFree(f);
  }

  /**
   * Data still buffered behind a hole when the flow ends (a RST before the peer acknowledged it,
   * the end of the capture): Suricata's raw stream inspection includes such unACKed data on its
   * end-of-flow pseudo packets, while the app-layer parsers never get it (it would be post-gap
   * data: phantom transactions). So it goes to the raw (content) rules only, as a pseudo packet
   * of the flow: no pcap_cnt, pkt_src "stream (flow timeout)", whatever packet closed the flow.
   */
  private flushHeld(f: Flow): void {
    // Matches of the packet being processed leave first, with its own fields.
    this.detect.flushDetections();
    const pktNo = this.pktNo;
    const frame = this.frame;
    const cur = this.curFlow;
    this.pktNo = 0;
    this.frame = null;
    this.curFlow = f;
    this.rawOnly = true;
    try {
      for (const d of [f.c2s, f.s2c]) if (d.group !== null && d.ooo !== null) this.reasm.flushHeld(d);
      this.detect.flushDetections();
    } finally {
      this.rawOnly = false;
      this.pktNo = pktNo;
      this.frame = frame;
      this.curFlow = cur;
    }
  }

  private freeDir(d: DirState): void {
    // Queued stream matches dump this direction's stream: they leave before it is freed.
    this.detect.flushDetections();
    this.store.free(d);
    this.detect.freeDir(d);
    this.reasm.release(d);
  }

  /**
   * Detector table keys. Their Maps hash numbers without a seed, so an IPv4 address goes through
   * a keyed permutation first (distinct addresses stay distinct, where they land cannot be chosen
   * from outside); IPv6 keys are strings, whose hash V8 seeds per process.
   */
  private srcKey(p: DecodedPacket): AddrKey {
    return p.ipVersion === 4 ? this.addrPerm.permute(p.src4) : ipv6ToString(p.buf, p.src6Offset);
  }
  private dstKey(p: DecodedPacket): AddrKey {
    return p.ipVersion === 4 ? this.addrPerm.permute(p.dst4) : ipv6ToString(p.buf, p.dst6Offset);
  }

  // ---------------------------------------------------------------- stream → detect

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
    if (flow === null || (g === null && flow.app === null)) return;
    this.store.append(d, data, off, len, at);
    if (g !== null) this.detect.onChunk(flow, d, g, data, off, len, at, pktOff, pktLen, flags, gap);
    if (flow.app !== null && !this.rawOnly) this.detect.appChunk(flow, d, data, off, len, at, pktLen);
  };

  private readonly onFinding = (f: DetectorFinding): void => {
    const p = this.pkt;
    const srcIp = p.ipVersion === 4 ? ipv4ToString(p.src4) : ipv6ToString(p.buf, p.src6Offset);
    const verifiedPeer = f.evidence === 'half-open' && f.key === this.srcKey(p) ? this.verified.isVerified(srcIp, this.curTsMs) : undefined;
    this.detect.finding(f, p, verifiedPeer);
  };
}

/** nmap's stealth probes by flags (no SYN/ACK/RST): NULL, FIN alone, Xmas (FIN+PSH+URG) or other. */
function probeKind(flags: number): 'fin' | 'null' | 'xmas' {
  if (flags === 0) return 'null';
  return (flags & 0x29) === 0x29 ? 'xmas' : 'fin';
}
