/**
 * The detect stage: per flow direction, prefilter candidates from in-order stream chunks,
 * verification (whole retained stream within a budget, else the packet), pending candidates
 * re-verified as the stream grows, per-packet rules without fast pattern, and alerting
 * (flowbits, once per signature per flow, threshold/suppression). Contract: ./types.ts.
 */
import type { Logger } from '../../log/index.js';
import type { DetectorSpec, PortGroup, Ruleset, Signature, VerifyContext, VerifyFn } from '../../signatures/types.js';
import { appLayerProtocolHolds, tcpFlagsMatch } from '../../signatures/verify.js';
import { RegexBudget, type RegexStats } from '../../regex/meter.js';
import { ipv4ToString, ipv6ToString, packetHeader, type DecodedPacket } from '../decode/decode.js';
import type { DetectorFinding } from '../detectors.js';
import { ST_CLOSED, type Flow } from '../flow/flow.js';
import type { DirState } from '../stream/dir-state.js';
import type { AlertFilter } from '../threshold/types.js';
import type { AlertFrame, AppEveObjects, Detection } from '../types.js';
import { DETECTOR_CATEGORY, excerpt, flowIp, ipProtoName, portIn } from './alert.js';
import { FlowRuleState, RuleState, streamSizeOf } from '../../signatures/keywords/state.js';
import { takeCaptures } from '../../signatures/verify.js';
import type { PacketAddrs } from '../../signatures/keywords/xbits.js';
import { Prefilter } from './prefilter.js';
import { PacketEventRules } from './packet-events.js';
import { AppTxDetector } from './app-tx.js';
import type { AppAlertMeta, AppFeedContext } from './types.js';
import { appEveObjects } from './app-eve.js';
import type { AppDirection, AppProtocol, AppTx } from '../app-layer/types.js';
import type { AppLayerStats, DetectCounters, DetectOptions, DetectionSink } from './types.js';
import { actionClass, ruleActionOf, signatureOrder, type ActionClass } from './alert-queue.js';
import { OutQueue } from './out-queue.js';
import { matchHeader } from './header.js';
import { csumHolds } from '../decode/checksum.js';

const EMPTY = new Uint8Array(0);


export class Detect {
  /** Packet time (ms) of the packet being inspected: the alerts' timestamp. */
  nowMs = 0;
  gen = 0;
  alertFilter: AlertFilter;
  readonly counters: DetectCounters = {
    pendingDropped: 0,
    verifyBudgetExhausted: 0,
    suppressed: 0,
    alertQueueOverflow: 0,
    alertsPassed: 0,
    flowsPassed: 0,
    flowsDropped: 0,
    bySeverity: { low: 0, medium: 0, high: 0, critical: 0 },
    byKind: { signature: 0, portscan: 0, synflood: 0, bruteforce: 0 },
  };
  /** Runs every pcre with the configured limits under the per-packet / per-second regex budget. */
  readonly regex: RegexBudget;
  /** Rule-language state beyond one flow: the xbits host/pair table (src/signatures/keywords/state.ts). */
  readonly ruleState = new RuleState();
  /** Some signature tests stream_size (the sizes are computed per verify only then). */
  private needSizes = false;
  private ruleset!: Ruleset;
  private sigs: readonly Signature[] = [];
  /** 1 for signatures evaluated per packet (stream:no, dsize or flags). */
  private packetSig = new Uint8Array(0);
  /** Internal order of each signature in a packet's alert queue (detect/alert-queue.ts). */
  private rank = new Int32Array(0);
  /** 1 for `pass` signatures, 2 for drop/reject ones. */
  private actionKind = new Uint8Array(0);
  /** Header-only signatures (Signature.headerOnly): IP-only ones (first packet of each flow direction) and per-packet ones. */
  private headerIpOnly: number[] = [];
  private headerPacket: number[] = [];
  /** Suricata's action-order, packet-alert-max and IPS simulation (engine.actionOrder, engine.packetAlertMax, scan --simulate-ips). */
  private readonly actionOrder: readonly ActionClass[];
  private readonly packetAlertMax: number;
  private readonly ips: boolean;
  /** Live capture (the engine was given the host's addresses). */
  private readonly live: boolean;
  private readonly prefilter = new Prefilter();
  /** decode-event signatures, per packet (detect/packet-events.ts). */
  private readonly packetEvents = new PacketEventRules();
  /** App-layer signatures on transactions (detect/app-tx.ts). */
  private app: AppTxDetector | null = null;
  private readonly log: Logger;
  private readonly onDetection: DetectionSink;
  private readonly verify: VerifyFn;
  private readonly pendingWindow: number;
  private readonly maxPending: number;
  /**
   * Each stream verify reads the whole retained stream, so an attacker repeating a fast pattern
   * in every segment of a long stream could make verification quadratic. Per direction at most
   * this many bytes go through the verifier (8 × depth); past it, candidates are verified on
   * their segment only.
   */
  private readonly verifyBudget: number;
  /** engine.midstream (Suricata stream.midstream). */
  private readonly midstream: boolean;
  /** App-layer memory budget (config engine.appLayer). */
  private readonly appLayer: DetectOptions['config']['appLayer'];

  constructor(opts: DetectOptions) {
    this.appLayer = opts.config.appLayer;
    this.log = opts.log;
    this.onDetection = opts.onDetection;
    this.verify = opts.verify;
    this.alertFilter = opts.alertFilter;
    this.pendingWindow = opts.pendingWindow;
    this.maxPending = opts.maxPending;
    this.verifyBudget = opts.verifyBudget;
    this.midstream = opts.config.midstream;
    this.actionOrder = opts.config.actionOrder;
    this.packetAlertMax = opts.config.packetAlertMax;
    this.ips = opts.simulateIps === true;
    this.live = opts.live === true;
    this.out = new OutQueue(this.counters, this.onDetection, this.log);
    const rx = opts.config.regex;
    const heapLimitKiB = Math.max(1, Math.floor(rx.heapLimit / 1024));
    this.regex = new RegexBudget({
      limits: { matchLimit: rx.matchLimit, depthLimit: rx.depthLimit, heapLimitKiB },
      overrideLimits: { matchLimit: rx.overrideMatchLimit, depthLimit: rx.overrideDepthLimit, heapLimitKiB },
      packetBudgetMs: rx.packetBudgetMs,
      secondBudgetMs: rx.secondBudgetMs,
      now: opts.regexNow,
      onFirstLimitHit: (signatureId, source) => {
        this.log.warn({ signatureId, pcre: source }, 'regex hit its match limit: treated as no match (counted in bulwark_regex_executions_total{result="limit"})');
      },
    });
    this.appFeed.meter = this.regex;
  }

  get activeRuleset(): Ruleset {
    return this.ruleset;
  }

  regexStats(): RegexStats {
    return this.regex.stats();
  }

  /** New flows use the ruleset at once; live flows are rebound on their next packet (`gen`). */
  setRuleset(r: Ruleset): void {
    this.ruleset = r;
    this.sigs = r.signatures;
    this.gen++;
    const n = r.signatures.length;
    this.packetSig = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const s = r.signatures[i]!;
      if (s.stream === 'no' || s.dsize !== undefined || s.flags !== undefined || s.csum !== undefined) this.packetSig[i] = 1;
    }
    this.rank = signatureOrder(r.signatures, this.actionOrder);
    this.actionKind = new Uint8Array(n);
    this.headerIpOnly = [];
    this.headerPacket = [];
    for (let i = 0; i < n; i++) {
      const s = r.signatures[i]!;
      const a = actionClass(ruleActionOf(s));
      this.actionKind[i] = a === 'pass' ? 1 : a === 'drop' || a === 'reject' ? 2 : 0;
      if (s.headerOnly === 'iponly') this.headerIpOnly.push(i);
      else if (s.headerOnly === 'packet') this.headerPacket.push(i);
    }
    this.prefilter.setGroups(r.groups, n);
    this.packetEvents.setRuleset(r);
    if (this.app === null) this.app = new AppTxDetector(r, { maxFlowMemory: this.appLayer.maxFlowMemory, maxMemory: this.appLayer.maxMemory, settings: { http: this.appLayer.http } });
    else this.app.setRuleset(r);
    this.alertFilter.clear();
    // Unchanged sets keep what rules added; changed or new ones start from their files.
    this.ruleState.datasets.sync(r.datasets ?? []);
    this.needSizes = r.signatures.some((s) => s.streamSize !== undefined);
  }

  /**
   * flow:established of a flow: its handshake completed, or it was picked up mid-stream with
   * engine.midstream on (Suricata's stream.midstream: such a session starts established; off, the
   * stream engine never tracks it, so it never is). Live, a connection that predates the capture
   * counts as established too: it is inspected, and its alerts are spoofable evidence that never
   * blocks (docs/engine.md, "Handshake evidence").
   */
  established(f: Flow): boolean {
    return f.handshakeDone || (f.midstream && (this.midstream || this.live));
  }

  /** A port has signatures in some direction (the server side of a flow picked up mid-stream). */
  watched(port: number): boolean {
    const g = this.ruleset.groupByPort;
    return (g.toServer[port] ?? -1) >= 0 || (g.toClient[port] ?? -1) >= 0;
  }

  /** Binds a flow's directions to the port groups of its server port. */
  bind(f: Flow): void {
    const r = this.ruleset;
    f.gen = this.gen;
    const gs = r.groupByPort.toServer[f.srvPort] ?? -1;
    const gc = r.groupByPort.toClient[f.srvPort] ?? -1;
    f.c2s.group = gs >= 0 ? (r.groups[gs] ?? null) : null;
    f.s2c.group = gc >= 0 ? (r.groups[gc] ?? null) : null;
    f.c2s.scan = f.c2s.group ? this.prefilter.scanTable(f.c2s.group) : null;
    f.s2c.scan = f.s2c.group ? this.prefilter.scanTable(f.s2c.group) : null;
    f.c2s.scan16 = f.c2s.group ? this.prefilter.scanTable16(f.c2s.group) : null;
    f.s2c.scan16 = f.s2c.group ? this.prefilter.scanTable16(f.s2c.group) : null;
    // Suricata's default (stream.midstream: false): a flow picked up without its handshake gets no
    // app-layer parsing, so app-layer signatures never see it; engine.midstream turns it on.
    // The addresses: FTP's ftpbounce compares the PORT address with the client's, and a flow an
    // FTP control connection announced is found by its two hosts and server port.
    if (f.app === null && (!f.midstream || this.midstream) && f.state !== ST_CLOSED && this.app?.active === true) {
      f.app = this.app.newFlow(f.srvPort, f.cliPort, () => [flowIp(f, true), flowIp(f, false)], undefined, this.nowMs * 1000);
    }
  }

  /** App-layer counters (zero until a ruleset with app-layer signatures was set). */
  appStats(): AppLayerStats {
    const c = this.app?.counters;
    const x = this.app?.expectations;
    return {
      flowsByProto: { ...(c?.flowsByProto ?? {}) },
      undetected: c?.undetected ?? 0,
      parserFailed: c?.parserFailed ?? 0,
      txInspected: c?.txInspected ?? 0,
      alerts: c?.alerts ?? 0,
      limits: { flow: c?.limits.flow ?? 0, global: c?.limits.global ?? 0 },
      memoryBytes: this.app?.memory ?? 0,
      protoChanges: { ...(c?.protoChanges ?? {}) },
      unexpectedProto: c?.unexpectedProto ?? 0,
      expectations: { ...(x?.counters ?? { created: 0, used: 0, expired: 0, evicted: 0, unkeyed: 0 }), active: x?.size ?? 0 },
      frames: { ...(c?.frames ?? { inspected: 0, dropped: 0, unavailable: 0 }) },
    };
  }

  /** The flow ended (closed, expired, evicted): its app-layer state and memory go. */
  appFree(flow: Flow): void {
    const a = flow.app;
    if (a === null) return;
    this.app?.free(a);
    flow.app = null;
  }

  /** In-order stream bytes of a flow with app-layer state (after the stream store kept them). */
  appChunk(flow: Flow, d: DirState, data: Uint8Array, off: number, len: number, at: number, pktLen: number): void {
    const a = flow.app;
    if (a === null || this.app === null) return;
    const toServer = d === flow.c2s;
    // The raw-stream patterns' hits of this chunk, when the prefilter's scan found them (merged automaton).
    this.app.data(a, toServer ? 'to_server' : 'to_client', data, off, len, at, this.nowMs * 1000, this.appCtx(flow, d, pktLen), this.prefilter.rawHits(d, at, len));
    if (a.proto !== null) {
      // Protocol detection of a direction is over once its data meets a known protocol; the data
      // the other direction sent before (probed together) was detected at the same time.
      const other = toServer ? flow.s2c : flow.c2s;
      for (const x of [d, other]) {
        if (x.protoDone || (x === other && x.delivered === 0)) continue;
        x.protoDone = true;
        x.protoDonePending = true;
      }
    }
  }

  /** The flow ends (timeout, eviction, end of input): frames still waiting are inspected on the bytes there are. */
  appFramesEnd(flow: Flow): void {
    const a = flow.app;
    if (a === null || this.app === null || a.frames === null) return;
    for (const d of [flow.c2s, flow.s2c]) this.app.framesEnd(a, d === flow.c2s ? 'to_server' : 'to_client', this.nowMs * 1000, this.appCtx(flow, d, 0));
  }

  /** A direction of an app-layer flow ended (FIN/RST): close-delimited data completes. */
  appEnd(flow: Flow, d: DirState): void {
    const a = flow.app;
    if (a === null || this.app === null) return;
    this.app.end(a, d === flow.c2s ? 'to_server' : 'to_client', this.nowMs * 1000, this.appCtx(flow, d, 0));
  }

  /**
   * The feed context of the flow being fed (one object reused per call: the app layer uses it
   * synchronously; a context per chunk was a tenth of the inspection time with ET Open).
   */
  private appCtx(flow: Flow, d: DirState, pktLen: number): AppFeedContext {
    // Fields copied one by one: a spread of the per-flow context (whose optional fields come and
    // go) made V8 build a dictionary-mode object per chunk.
    const c = this.context(flow, d);
    const v: AppFeedContext['verify'] = { flowbits: c.flowbits, packetLength: pktLen };
    if (c.flowints !== undefined) v.flowints = c.flowints;
    if (c.xbits !== undefined) v.xbits = c.xbits;
    if (c.streamSize !== undefined) v.streamSize = c.streamSize;
    if (c.datasets !== undefined) v.datasets = c.datasets;
    v.ip = this.ipFn;
    if (d.buf !== null) {
      v.stream = d.buf;
      v.streamLength = d.bufLen;
    }
    this.appFlow = flow;
    this.appFeed.verify = v;
    return this.appFeed;
  }
  private appFlow: Flow | null = null;
  /** Address bytes of the flow being fed (`ip.src`/`ip.dst`); built only when a rule asks. */
  private readonly ipFn = (client: boolean): Uint8Array => {
    const f = this.appFlow;
    if (f === null) return EMPTY;
    if (f.v6) return f.addr6!.slice(client ? 0 : 16, client ? 16 : 32);
    const a = client ? f.cli4 : f.srv4;
    return Uint8Array.of(a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255);
  };
  private readonly appFeed: AppFeedContext = {
    verify: { flowbits: new Set() },
    streamOf: (dir) => {
      const flow = this.appFlow;
      if (flow === null) return null;
      const sd = dir === 'to_server' ? flow.c2s : flow.s2c;
      return sd.buf === null ? null : { buf: sd.buf, len: sd.bufLen };
    },
    flowAlerted: (si) => this.appFlow?.alerted?.has(si) === true,
    fire: (si: number, tx: AppTx, proto: AppProtocol, dir: AppDirection, meta: AppAlertMeta) => {
      const flow = this.appFlow;
      if (flow === null) return;
      const sd = dir === 'to_server' ? flow.c2s : flow.s2c;
      this.fire(flow, sd, si, 0, sd.buf ?? EMPTY, 0, null, { proto: meta.appProto, orig: meta.origProto, txId: tx.id, eve: appEveObjects(proto, tx), files: proto.files?.(tx) ?? [] });
    },
    // Suricata alerts a frame match with the tx's metadata only when the frame is tied to a tx.
    fireFrame: (si: number, frame: AlertFrame, tx: AppTx | null, proto: AppProtocol, dir: AppDirection, meta: AppAlertMeta) => {
      const flow = this.appFlow;
      if (flow === null) return;
      const sd = dir === 'to_server' ? flow.c2s : flow.s2c;
      const app = tx === null ? { proto: meta.appProto, orig: meta.origProto, eve: {} } : { proto: meta.appProto, orig: meta.origProto, txId: tx.id, eve: appEveObjects(proto, tx), files: proto.files?.(tx) ?? [] };
      this.fire(flow, sd, si, 0, frame.payload, frame.payload.length, null, app, frame);
    },
  };


  /**
   * A live flow after a ruleset swap: its scanner state restarts at the current stream position
   * and its per-flow alert memory is cleared, since signature indexes changed.
   */
  rebind(f: Flow): void {
    this.bind(f);
    for (const d of [f.c2s, f.s2c]) {
      d.dfaState = 0;
      d.pending = null;
      d.pendingPos = null;
    }
    f.alerted = null;
  }

  /** Frees a direction's detect state (flow closed or dropped). */
  freeDir(d: DirState): void {
    d.pending = null;
    d.pendingPos = null;
  }

  /** In-order stream bytes of one direction (after the stream store kept them). */
  onChunk(flow: Flow, d: DirState, g: PortGroup, data: Uint8Array, off: number, len: number, at: number, pktOff: number, pktLen: number, flags: number, gap: boolean): void {
    const pf = this.prefilter;
    pf.scan(flow, d, g, data, off, len, at, gap);
    const candSig = pf.candSig;
    const candPos = pf.candPos;
    for (let c = 0; c < candSig.length; c++) {
      this.evaluate(flow, d, candSig[c]!, candPos[c]!, data, pktOff, pktLen, flags, true);
    }
    const pend = d.pending;
    if (pend !== null) {
      const pos = d.pendingPos!;
      const stamp = pf.stamp;
      const cs = pf.chunkStamp;
      for (let i = 0; i < pend.length; ) {
        const si = pend[i]!;
        const hitPos = pos[i]!;
        let drop = false;
        if (flow.alerted?.has(si) === true) drop = true;
        else if (stamp[si] !== cs) {
          if (this.evaluate(flow, d, si, hitPos, data, pktOff, pktLen, flags, false)) drop = true;
          else if (d.bufLen - hitPos > this.pendingWindow) {
            drop = true;
            this.counters.pendingDropped++;
          }
        }
        if (drop) {
          pend.splice(i, 1);
          pos.splice(i, 1);
        } else i++;
      }
    }
  }

  /** Verifies one candidate; returns true when it is settled (matched or not applicable). */
  private evaluate(flow: Flow, d: DirState, si: number, hitPos: number, data: Uint8Array, pktOff: number, pktLen: number, flags: number, fresh: boolean): boolean {
    const sig = this.sigs[si]!;
    // Groups merge overlapping port sets, so a group can hold signatures for other ports.
    if (!portIn(sig.ports, flow.srvPort)) return true;
    if (sig.established !== undefined && sig.established !== this.established(flow)) return true;
    const ctx = this.context(flow, d);
    if (this.packetSig[si] === 1) {
      if (sig.flags !== undefined && !tcpFlagsMatch(sig.flags, flags)) return true;
      if (sig.csum !== undefined && (this.csumPacket === null || !csumHolds(sig.csum, this.csumPacket, this.csumIgnore))) return true;
      if (sig.stream === 'only') return true;
      const view = data.subarray(pktOff, pktOff + pktLen);
      if (this.verify(sig, view, pktLen, ctx, this.regex)) this.fire(flow, d, si, hitPos, view, pktLen, view);
      return true;
    }
    let ok: boolean;
    const whole = d.buf !== null && d.verifiedBytes + d.bufLen <= this.verifyBudget;
    let from = 0;
    if (whole) {
      d.verifiedBytes += d.bufLen;
      ok = this.verify(sig, d.buf!, d.bufLen, ctx, this.regex);
      if (!ok && d.rawFrom > 0 && d.rawFrom < d.bufLen) {
        // Not on the whole stream: on the window since the peer last spoke, where absolute
        // positions anchor on the current request (see DirState.rawFrom).
        from = d.rawFrom;
        d.verifiedBytes += d.bufLen - from;
        ok = this.verify(sig, d.buf!.subarray(from, d.bufLen), d.bufLen - from, ctx, this.regex);
      }
    } else {
      if (d.buf !== null && !d.budgetExhausted) {
        d.budgetExhausted = true;
        this.counters.verifyBudgetExhausted++;
      }
      const view = data.subarray(pktOff, pktOff + pktLen);
      ok = this.verify(sig, view, pktLen, ctx, this.regex);
    }
    if (ok) {
      if (whole) this.fire(flow, d, si, hitPos - from, d.buf!.subarray(from, d.bufLen), d.bufLen - from, null);
      else this.fire(flow, d, si, hitPos - (d.bufLen - pktLen), data.subarray(pktOff, pktOff + pktLen), pktLen, d.buf === null ? data.subarray(pktOff, pktOff + pktLen) : null);
      return true;
    }
    if (fresh && whole) {
      // Later bytes may still satisfy it (relative content not yet arrived, flowbit set later).
      const pend = (d.pending ??= []);
      const pos = (d.pendingPos ??= []);
      if (pend.length >= this.maxPending) {
        pend.shift();
        pos.shift();
        this.counters.pendingDropped++;
      }
      pend.push(si);
      pos.push(hitPos);
    }
    return false;
  }

  /** Per-packet evaluation of the group's signatures that have no fast pattern. */
  packetRules(flow: Flow, d: DirState, g: PortGroup, p: DecodedPacket, flags: number): void {
    // The payload view only when a signature gets to verification: a Buffer's subarray is a new
    // object each time, and most packets have no unanchored signature passing the header checks.
    let view: Uint8Array | null = null;
    const established = this.established(flow);
    for (const si of g.unanchored) {
      // Packet-only signatures (dsize, flags, no_stream) alert on every packet they match, as in
      // Suricata; the others (matched on the stream too) keep their once-per-flow memory.
      if (this.packetSig[si] !== 1 && flow.alerted !== null && flow.alerted.has(si)) continue;
      const sig = this.sigs[si];
      if (sig === undefined || !portIn(sig.ports, flow.srvPort)) continue;
      if (sig.established !== undefined && sig.established !== established) continue;
      if (sig.flags !== undefined && !tcpFlagsMatch(sig.flags, flags)) continue;
      if (sig.csum !== undefined && !csumHolds(sig.csum, p, this.csumIgnore)) continue;
      // Like Suricata, payload conditions never inspect a packet without payload.
      if (p.payloadLength === 0 && sig.conditions.length > 0) continue;
      let ctx = this.context(flow, d);
      if (sig.packetBuffers !== undefined) {
        this.hdrPacket = p;
        ctx = { ...ctx, packetHeader: this.packetHeaderFn };
      }
      view ??= p.buf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength);
      if (this.verify(sig, view, p.payloadLength, ctx, this.regex)) this.fire(flow, d, si, p.payloadLength - 1, view, p.payloadLength, view);
    }
  }

  /** The ruleset has header-only signatures (the engine then calls headerRules on every packet). */
  get hasHeaderRules(): boolean {
    return this.headerIpOnly.length > 0 || this.headerPacket.length > 0;
  }

  /**
   * Header-only signatures on packet `p` of `flow` in direction `d`: IP-only ones on the first
   * packet of each direction of the flow (Suricata's FLOW_TOSERVER/TOCLIENT_IPONLY_SET), the others
   * on every packet. They alert per packet (no once-per-flow memory).
   */
  headerRules(flow: Flow, d: DirState, p: DecodedPacket, established: boolean, protoDone = false): void {
    const toServer = d === flow.c2s;
    if (!d.ipOnlyDone && this.headerIpOnly.length > 0) {
      d.ipOnlyDone = true;
      for (const si of this.headerIpOnly) this.headerMatch(flow, d, si, p, established, toServer, protoDone);
    }
    for (const si of this.headerPacket) this.headerMatch(flow, d, si, p, established, toServer, protoDone);
  }

  private headerMatch(flow: Flow, d: DirState, si: number, p: DecodedPacket, established: boolean, toServer: boolean, protoDone: boolean): void {
    const sig = this.sigs[si]!;
    if (sig.established !== undefined && sig.established !== established) return;
    // Protocol-detection-only rule: only the packet that carries the end of its direction's
    // protocol detection, and the protocol must be the one named (Suricata's SIG_TYPE_PDONLY).
    if (sig.appLayerProtocol !== undefined && (!protoDone || !appLayerProtocolHolds(sig.appLayerProtocol, flow.app?.proto?.name))) return;
    const dir = sig.header?.dir;
    if (dir !== undefined && (dir === 'to_server') !== toServer) return;
    if (!matchHeader(sig, p)) return;
    const view = p.buf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength);
    this.fire(flow, d, si, 0, view, p.payloadLength, view);
  }

  /** The packet whose headers `packetHeaderFn` gives (set before verifying a header-buffer rule). */
  private hdrPacket: DecodedPacket | null = null;
  /**
   * The packet being processed, for the checksum keywords of signatures verified on stream
   * chunks (set by the engine per packet, null outside one), and whether its capture ignores
   * checksums (Suricata's PKT_IGNORE_CHECKSUM, ChecksumPolicy.keywordPacket).
   */
  csumPacket: DecodedPacket | null = null;
  csumIgnore = true;
  private readonly packetHeaderFn = (buffer: string): Uint8Array | null => {
    const p = this.hdrPacket;
    return p === null ? null : packetHeader(p, buffer);
  };

  /** The verify context of a packet of `flow` in direction `d`: flow variables, xbits, stream sizes. */
  private context(flow: Flow, d: DirState): VerifyContext {
    const rs = (flow.rules ??= new FlowRuleState());
    this.addrs(flow, d);
    if (!this.needSizes) return this.ruleState.prepare(rs, this.addrFn, this.nowMs);
    const c = flow.c2s;
    const s = flow.s2c;
    return this.ruleState.prepare(rs, this.addrFn, this.nowMs, {
      client: streamSizeOf(c.started, c.base, c.nextSeq),
      server: streamSizeOf(s.started, s.base, s.nextSeq),
    });
  }

  /** Points addrFn at the packet's flow and direction (addresses are formatted only when an xbits keyword asks). */
  private addrs(flow: Flow, d: DirState): () => PacketAddrs {
    this.addrFlow = flow;
    this.addrToServer = d === flow.c2s;
    return this.addrFn;
  }
  private addrFlow: Flow | null = null;
  private addrToServer = true;
  private readonly addrFn = (): PacketAddrs => {
    const f = this.addrFlow;
    return f === null ? { src: '', dst: '' } : { src: flowIp(f, this.addrToServer), dst: flowIp(f, !this.addrToServer) };
  };

  /**
   * Raises signature `si` on `flow`. `packetView`: the payload of the packet that matched for a
   * packet match (EVE payload, stream 0); null for stream and transaction matches (the direction's
   * stream is dumped when the detection leaves, stream 1).
   */
  private fire(flow: Flow, d: DirState, si: number, hitPos: number, excerptSrc: Uint8Array, excerptLen: number, packetView: Uint8Array | null, app?: { proto: string; orig: string | null; txId?: number; eve: AppEveObjects; files?: readonly Record<string, unknown>[] }, frame?: AlertFrame): void {
    const sig = this.sigs[si]!;
    (flow.alerted ??= new Set<number>()).add(si);
    // Post-match actions (flowbits, flowint, xbits) apply even when the alert is then suppressed.
    // pcre capture variables of the verification that just matched (taken before anything else verifies)
    const captured = takeCaptures();
    const rules = (flow.rules ??= new FlowRuleState());
    const noalert = this.ruleState.onMatch(sig, rules, this.addrs(flow, d), this.nowMs);
    // JSON objects the rule's dataset lookups found (alert.context), taken even without an alert
    const found = this.ruleState.datasets.takeContext();
    // flow captures are stored when the rule matched, alerting or not (Suricata's post-match)
    const flowCaps = captured?.filter((v) => v.type === 'flow');
    if (flowCaps !== undefined && flowCaps.length > 0) this.ruleState.setFlowvars(rules, flowCaps);
    if (noalert) return;
    const toServer = d === flow.c2s;
    const srcIp = flowIp(flow, toServer);
    const destIp = flowIp(flow, !toServer);
    const verdict = this.alertFilter.check({ gid: sig.gid, sid: sig.id, ruleFilter: sig.rateFilter, srcIp, destIp, tsMs: this.nowMs, flowId: flow.id });
    if (!verdict.alert) {
      this.counters.suppressed++;
      return;
    }
    const det: Detection = {
      timestampMs: this.nowMs,
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
      ruleAction: ruleActionOf(sig),
      handshakeCompleted: flow.handshakeVerified,
      gid: sig.gid,
      direction: toServer ? 'to_server' : 'to_client',
      flow: {
        pktsToServer: flow.pktsToServer,
        pktsToClient: flow.pktsToClient,
        bytesToServer: flow.bytesToServer,
        bytesToClient: flow.bytesToClient,
        startMs: flow.createdMs,
        srcIp: toServer ? srcIp : destIp,
        destIp: toServer ? destIp : srcIp,
        srcPort: flow.cliPort,
        destPort: flow.srvPort,
      },
    };
    if (sig.origin !== undefined) det.origin = sig.origin;
    if (sig.eve !== undefined) det.eve = sig.eve;
    if (sig.classtype !== undefined) det.classtype = sig.classtype;
    if (sig.priority !== undefined) det.priority = sig.priority;
    if (sig.metadata.length > 0) det.metadata = sig.metadata;
    if (sig.target !== undefined) det.target = sig.target;
    if (verdict.newAction !== undefined) det.newAction = verdict.newAction;
    if (found !== null) det.context = alertContext(found);
    if (captured !== null) {
      // alert captures join alert.context; pkt captures are this alert's packet vars
      for (const v of captured) if (v.type === 'alert') (det.context ??= {})[v.name] = v.value;
      const pkt = captured.filter((v) => v.type === 'pkt').map((v): [string, string] => [v.name, v.value]);
      if (pkt.length > 0) det.pktvars = pkt;
    }
    if (rules.flowvars !== null && rules.flowvars.size > 0) det.flowvars = [...rules.flowvars];
    if (app !== undefined) {
      det.appProto = app.proto;
      if (app.orig !== null) det.appProtoOrig = app.orig;
      if (app.txId !== undefined) det.txId = app.txId;
      if (Object.keys(app.eve).length > 0) det.appEve = app.eve;
      if (app.files !== undefined && app.files.length > 0) det.appFiles = app.files;
    }
    if (frame !== undefined) det.frame = frame;
    const ex = excerpt(excerptSrc, excerptLen, hitPos);
    if (ex.length > 0) det.payloadExcerpt = ex;
    // Stream, transaction and IP-only matches concern the flow: a pass or drop then applies to it.
    const h = sig.header;
    const flowMatch = packetView === null || sig.headerOnly === 'iponly' || (h !== undefined && h.srcPorts === null && h.dstPorts === null && h.dir === undefined);
    if (packetView !== null) {
      // A copy (a Buffer's slice() is a view of the reused capture memory).
      det.payload = { data: new Uint8Array(packetView), stream: false };
      this.emit(det, null, si, flow, flowMatch);
    } else {
      det.payload = { data: EMPTY, stream: true };
      this.emit(det, d, si, flow, flowMatch);
    }
  }

  /**
   * Decode-event signatures on packet `p`: its decoder and defrag events (Suricata's per-packet
   * evaluation: one alert per matching signature and packet). The packet's own addresses and
   * ports; no flow, and never evidence for a block (nothing ties a malformed packet to its source).
   */
  decodeEvents(p: DecodedPacket): void {
    if (p.eventCount === 0) return;
    this.packetEvents.match(p, (si) => {
      const sig = this.sigs[si]!;
      const srcIp = p.ipVersion === 4 ? ipv4ToString(p.src4) : p.ipVersion === 6 ? ipv6ToString(p.buf, p.src6Offset) : '';
      const destIp = p.ipVersion === 4 ? ipv4ToString(p.dst4) : p.ipVersion === 6 ? ipv6ToString(p.buf, p.dst6Offset) : '';
      const verdict = this.alertFilter.check({ gid: sig.gid, sid: sig.id, ruleFilter: sig.rateFilter, srcIp, destIp, tsMs: this.nowMs });
      if (!verdict.alert) {
        this.counters.suppressed++;
        return;
      }
      const det: Detection = {
        timestampMs: this.nowMs,
        flowId: 0n,
        srcIp,
        srcPort: p.srcPort,
        destIp,
        destPort: p.dstPort,
        proto: ipProtoName(p.ipVersion === 0 ? -1 : p.l4Proto),
        signatureId: sig.id,
        rev: sig.rev,
        signature: sig.name,
        category: sig.category,
        severity: sig.severity,
        action: sig.action,
        ruleAction: ruleActionOf(sig),
        handshakeCompleted: false,
        gid: sig.gid,
      };
      if (sig.origin !== undefined) det.origin = sig.origin;
      if (sig.eve !== undefined) det.eve = sig.eve;
      if (sig.classtype !== undefined) det.classtype = sig.classtype;
      if (sig.priority !== undefined) det.priority = sig.priority;
      if (sig.metadata.length > 0) det.metadata = sig.metadata;
      if (verdict.newAction !== undefined) det.newAction = verdict.newAction;
      this.emit(det, null, si, null, false);
    });
  }

  /**
   * The stream engine raised `name` (a stream-event name without its `stream.` prefix) on packet
   * `p` of `flow`, direction `d`: the stream-event signatures whose events are all raised (one
   * event per packet here) alert, with the flow, on every such packet.
   */
  streamEvent(flow: Flow, d: DirState, name: string, p: DecodedPacket): void {
    const list = this.ruleset.events?.stream.get(name);
    if (list === undefined) return;
    const view = p.buf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength);
    for (const si of list) {
      const sig = this.sigs[si]!;
      if (sig.events?.every((e) => e.kind === 'stream' && e.name === name) !== true) continue;
      this.fire(flow, d, si, 0, view, p.payloadLength, view);
    }
  }

  /** A behavioural detector's finding about the packet `p` (its source). */
  finding(f: DetectorFinding, p: DecodedPacket, verifiedPeer: boolean | undefined): void {
    const spec: DetectorSpec = f.spec;
    const srcIp = p.ipVersion === 4 ? ipv4ToString(p.src4) : ipv6ToString(p.buf, p.src6Offset);
    const destIp = p.ipVersion === 4 ? ipv4ToString(p.dst4) : ipv6ToString(p.buf, p.dst6Offset);
    const c = this.counters;
    c.bySeverity[spec.severity] = (c.bySeverity[spec.severity] ?? 0) + 1;
    c.byKind[spec.kind] = (c.byKind[spec.kind] ?? 0) + 1;
    this.emit({
      timestampMs: this.nowMs,
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
      ...(verifiedPeer !== undefined ? { verifiedPeer } : {}),
      details: f.details,
    });
  }

  /**
   * Detections leave when the packet (or flow end) that raised them is done (flushDetections):
   * a stream match's EVE payload shows the stream as the whole packet left it, as Suricata logs
   * after detection (a packet that completes several segments shows all of them).
   */
  private readonly out: OutQueue;

  private emit(d: Detection, dir: DirState | null = null, si = -1, flow: Flow | null = null, flowMatch = false): void {
    this.out.push(d, dir, si, flow, flowMatch);
  }

  /**
   * Hands queued detections to the sink through the packet's alert queue (detect/out-queue.ts).
   * Call when a packet is done and before a direction's stream is freed.
   */
  flushDetections(): void {
    this.out.flush({ rank: this.rank, actionKind: this.actionKind, packetAlertMax: this.packetAlertMax, ips: this.ips });
  }

}

/** Suricata's alert.context: each found object under its context key (a later one replaces an earlier). */
function alertContext(found: readonly [string, string][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of found) out[k] = JSON.parse(v) as unknown;
  return out;
}
