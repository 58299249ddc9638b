/**
 * Minimal application-layer inspection for the detect stage: per flow, protocol detection by
 * content over the registered protocols (`APP_PROTOCOLS`), one parser fed with the in-order bytes
 * of both directions, and app-layer signatures run on its transactions through
 * src/signatures/verify-app.ts (`appCandidates` → `verifyAppSignature`), one alert per signature
 * per transaction (Suricata's detect state). Bounded: probing stops after `maxProbeBytes` per
 * direction, transactions are released once both sides are complete and inspected, and the
 * per-tx alert sets go with them. Pure logic; the engine owns flows, time and the alert path.
 *
 * Memory budget (the framework's half of the app-layer contract, ../app-layer/types.ts): after
 * every feed the bytes a flow's app-layer state holds (the parser's `memory()`, or the bytes held
 * while probing) are accounted per flow and in total. A flow over `maxFlowMemory`, or whose growth
 * takes the total over `maxMemory`, has its app-layer parsing stopped for good (state 'limit',
 * counted in `counters.limits`): its parser and held bytes are dropped at once, so the budget is
 * exceeded by at most the one feed that crossed it. The flow's raw stream inspection is not
 * affected (the engine keeps feeding the raw-stream detect path). Like Suricata's memcaps, the
 * flow whose allocation hits the global cap is the one that loses, never others. `free` gives a
 * flow's bytes back when it ends.
 *
 * Protocol changes (Suricata AppLayerRequestProtocolChange / ...TLSUpgrade): a parser in state
 * 'upgrade' (STARTTLS, STLS, AUTH TLS accepted; HTTP CONNECT) is finished — its txs inspected a
 * last time — and dropped; the bytes after the switch are probed again, the announced protocol
 * (`upgradeTo`) first, and the flow's original protocol is kept for EVE `app_proto_orig`.
 * Expectations (Suricata app-layer-expectation.c): flows a parser announces (FTP data
 * connections) go to a bounded table (./expectations.ts); a new flow matching one gets that
 * parser without probing.
 */
import type { AppDirection, AppLayerSettings, AppParser, AppParserContext, AppProtocol, AppTx } from '../app-layer/types.js';
import { APP_PROTOCOLS } from '../app-layer/registry.js';
import type { AppPrefilterCache, AppVerifyContext, Ruleset, Signature } from '../../signatures/types.js';
import { addRawCandidates, appCandidates, missedForGood, scanRawStream, verifyAppSignature } from '../../signatures/verify-app.js';
import { ExpectationTable } from './expectations.js';
import { concat, copyOf, dropKeysUpTo, hasPort, heldBytes, probeOrder } from './app-held.js';
import { fileHashesOf, newCounters, parserContext, resolveAddrs, verifyContextOf } from './app-context.js';
import { collectFrames, inspectFrames, newFlowFrames, wantsFrames } from './app-frames.js';
import type { AlertFrame } from '../types.js';
import type { RawStreamHits } from './prefilter.js';
import type { AppFlow, AppAlertMeta, AppTxDetectOptions, AppMemoryLimit, AppFeedContext, AppTxCounters } from './types.js';

/** Protocol changes per flow (Suricata allows one change at a time; a second one after a completed change is allowed, more are not). */
const MAX_PROTO_CHANGES = 2;

const DIR_INDEX = { to_server: 0, to_client: 1 } as const;

export class AppTxDetector {
  /**
   * Flows per detected protocol (counters.flowsByProto): a Map, as a record's keyed store took a
   * new property (and a deopt of probe) for each protocol, and another when it first changed.
   */
  private readonly flowsByProto = new Map<string, number>();
  readonly counters: AppTxCounters = newCounters(this.flowsByProto);
  /** Announced flows waiting for their connection. */
  readonly expectations: ExpectationTable;
  private readonly maxProbe: number;
  private readonly maxFlowMemory: number;
  private readonly maxMemory: number;
  private readonly settings: AppLayerSettings | undefined;
  /** Bytes held by the app-layer state of all live flows (sum of their `mem`). */
  private total = 0;
  private readonly cand: number[] = [];
  /** Payload-only signatures alerted during the current inspect() (one chunk). */
  private readonly chunkFired = new Set<number>();

  constructor(
    private ruleset: Ruleset,
    opts: AppTxDetectOptions = {},
  ) {
    this.maxProbe = opts.maxProbeBytes ?? 2048;
    this.maxFlowMemory = opts.maxFlowMemory ?? 16 * 1024 * 1024;
    this.maxMemory = opts.maxMemory ?? 256 * 1024 * 1024;
    this.settings = opts.settings;
    this.expectations = new ExpectationTable(opts.expectations);
  }

  /** Bytes held by the app-layer state of all live flows (bulwark_applayer_memory_bytes). */
  get memory(): number {
    return this.total;
  }

  /** Swaps the ruleset (reload); live flows keep their parsers, alert sets refer to old indexes and are dropped. */
  setRuleset(r: Ruleset): void {
    this.ruleset = r;
  }

  /** Whether the ruleset has app-layer signatures at all (no: the engine may skip app-layer work). */
  get active(): boolean {
    const a = this.ruleset.app;
    const raw = a?.rawStream;
    return a !== undefined && (a.prefilters.length > 0 || a.always.size > 0 || (a.frames?.size ?? 0) > 0 || (raw !== undefined && raw.to_server.patterns.length + raw.to_client.patterns.length > 0) || a.protoDetect === true);
  }

  /**
   * App-layer state of a new TCP flow. With both addresses known, a flow an earlier one announced
   * (an FTP data connection to the announced port, within the expectation's lifetime) gets its
   * parser at once; other flows probe their content. The addresses come as two strings, or as
   * one formatter (the engine's, called on first need) with `serverAddr` undefined.
   */
  newFlow(serverPort: number, clientPort: number, clientAddr?: string | (() => readonly [string, string]), serverAddr?: string, tsUs = 0): AppFlow {
    const f: AppFlow = {
      proto: null, state: 'probing', parser: null, held: [[], []], heldLen: [0, 0], heldOrder: [], probedNo: [0, 0], next: [0, 0], rawFrom: [0, 0], alerted: new Map(), pfCache: new Map(), inspected: new Set(), prefilterOf: null, ruleProtocols: [],
      serverPort, clientPort, origProto: null, expectProto: null, changes: 0, changing: false, mem: 0,
      rawState: [0, 0], rawSeen: [null, null], frames: null,
      // every field present from the start: one hidden class for all flows (monomorphic access in data/inspect)
      clientAddr: undefined, serverAddr: undefined, addrs: undefined, releasedId: -1,
    };
    if (typeof clientAddr === 'function') f.addrs = clientAddr;
    else if (clientAddr !== undefined) f.clientAddr = clientAddr;
    if (serverAddr !== undefined) f.serverAddr = serverAddr;
    if (this.expectations.size > 0 && resolveAddrs(f)) {
      const e = this.expectations.take(f.clientAddr!, f.serverAddr!, serverPort, tsUs);
      const p = e === undefined ? undefined : APP_PROTOCOLS.find((x) => x.name === e.proto);
      if (e !== undefined && p !== undefined) {
        this.start(f, p, e.create(this.parserContext(f, p)));
        this.counters.expectedFlows++;
      }
    }
    return f;
  }

  /**
   * In-order bytes of `dir` (data[off, off+len)) at stream offset `at` (past the expected one: a
   * gap came first). `raw`: the stream prefilter's raw-stream hits of these bytes (see rawScan).
   */
  data(f: AppFlow, dir: AppDirection, data: Uint8Array, off: number, len: number, at: number, tsUs: number, ctx: AppFeedContext, raw?: RawStreamHits): void {
    if (len <= 0) return;
    const di = DIR_INDEX[dir];
    if (at > f.next[di]) this.gap(f, dir, at - f.next[di]);
    f.next[di] = at + len;
    // This side speaks: the other side's turn is over, its next data starts a new raw window.
    const oi = di === 0 ? 1 : 0;
    f.rawFrom[oi] = f.next[oi];
    if (f.state === 'probing') {
      const k = DIR_INDEX[dir];
      // Probed (and, once detected, parsed) as a view of the caller's bytes, which are only ours
      // during this call (a capture or file-read buffer is reused for the next packets): copied
      // when the flow goes on probing with them.
      const view = new Uint8Array(data.buffer, data.byteOffset + off, len);
      f.held[k].push(view);
      f.heldLen[k] += len;
      f.heldOrder.push(k, len);
      if (!this.probe(f)) {
        const h = f.held[k];
        if ((f.state as AppFlow['state']) === 'probing' && h[h.length - 1] === view) h[h.length - 1] = copyOf(data, off, len);
        this.account(f);
        return;
      }
      this.feedHeld(f, tsUs);
      this.inspect(f, dir, tsUs, ctx);
      this.afterFeed(f, tsUs, ctx);
      // The change is over once the new protocol parsed the data it was detected with.
      if (f.proto !== null) f.changing = false;
      this.account(f);
      return;
    } else if (f.state === 'parsing') {
      this.rawScan(f, dir, data, off, len, raw);
      f.parser!.feed(dir, data, off, len, tsUs);
    } else return;
    // Frames first (Suricata's DetectRunFrames precedes DetectRunTx): their txs are still live.
    this.frameStep(f, dir, tsUs, ctx, false);
    this.inspect(f, dir, tsUs, ctx);
    this.afterFeed(f, tsUs, ctx);
    this.account(f);
  }

  /** Expectations the parser made, and a protocol change it asked for. */
  private afterFeed(f: AppFlow, tsUs: number, ctx: AppFeedContext): void {
    const parser = f.parser;
    if (parser === null) return;
    if (parser.takeFlowExpectations !== undefined) {
      const made = parser.takeFlowExpectations();
      if (made.length > 0) resolveAddrs(f);
      for (const e of made) this.expectations.add(e, f.clientAddr, f.serverAddr, tsUs);
    }
    if (parser.state !== 'upgrade' || f.state !== 'parsing') return;
    if (f.changing) {
      // A parser that switched without asking (requestProtocolChange) while a change is in
      // progress: refused as Suricata refuses it; its txs so far are inspected a last time and
      // what follows is not parsed.
      this.counters.protoChanges.refused = (this.counters.protoChanges.refused ?? 0) + 1;
      this.inspect(f, 'to_server', tsUs, ctx);
      this.inspect(f, 'to_client', tsUs, ctx);
      f.state = 'failed';
      this.counters.parserFailed++;
      return;
    }
    if (f.changes >= MAX_PROTO_CHANGES) {
      // Stays with the old parser, which ignores what follows (counted as its ignored bytes).
      f.state = 'failed';
      this.counters.parserFailed++;
      return;
    }
    // The txs before the switch are final: inspect both sides once more (alerted ones are not repeated).
    this.inspect(f, 'to_server', tsUs, ctx);
    this.inspect(f, 'to_client', tsUs, ctx);
    f.frames = null;
    const to = parser.upgradeTo;
    const key = to ?? 'redetect';
    this.counters.protoChanges[key] = (this.counters.protoChanges[key] ?? 0) + 1;
    f.changes++;
    f.changing = true;
    f.origProto ??= f.proto!.name;
    f.expectProto = to;
    f.proto = null;
    f.parser = null;
    f.state = 'probing';
    f.ruleProtocols = [];
    f.alerted = new Map();
    f.releasedId = -1;
    // the new parser numbers its txs from 0 again
    f.pfCache.clear();
    f.inspected.clear();
    f.held = [[], []];
    f.heldLen = [0, 0];
    f.heldOrder = [];
    f.probedNo = [0, 0];
    const left = parser.takeUpgradeData?.();
    if (left === undefined) return;
    // What followed the switch in the same data belongs to the next protocol: held for its probe.
    for (const d of ['to_client', 'to_server'] as const) {
      const b = left[d];
      if (b === null || b.length === 0) continue;
      const k = DIR_INDEX[d];
      f.held[k].push(b);
      f.heldLen[k] += b.length;
      f.heldOrder.push(k, b.length);
    }
    if (f.heldLen[0] + f.heldLen[1] > 0 && this.probe(f)) {
      this.feedHeld(f, tsUs);
      this.frameStep(f, 'to_server', tsUs, ctx, false);
      this.frameStep(f, 'to_client', tsUs, ctx, false);
      this.inspect(f, 'to_server', tsUs, ctx);
      this.inspect(f, 'to_client', tsUs, ctx);
      f.changing = false;
    }
  }

  gap(f: AppFlow, dir: AppDirection, len: number): void {
    f.rawState[DIR_INDEX[dir]] = 0;
    if (f.state === 'parsing') {
      f.parser!.gap(dir, len);
      // a failure it caused is noticed (and the parser freed) with the data after the gap
      this.account(f);
    } else if (f.state === 'probing') {
      f.state = 'none';
      this.counters.undetected++;
      this.drop(f);
    }
  }

  /** The direction ended: the parser finalises (close-delimited bodies); inspect what that completed. */
  end(f: AppFlow, dir: AppDirection, tsUs: number, ctx: AppFeedContext): void {
    if (f.state !== 'parsing') return;
    f.parser!.end(dir);
    this.frameStep(f, dir, tsUs, ctx, true);
    this.inspect(f, 'to_server', tsUs, ctx);
    this.inspect(f, 'to_client', tsUs, ctx);
    this.account(f);
  }

  /**
   * Frames (./app-frames.ts): takes the parser's new frames, then runs the `frame:` signatures on
   * the frames of `dir` whose bytes are all in its stream (`eof`: on all of them).
   */
  private frameStep(f: AppFlow, dir: AppDirection, tsUs: number, ctx: AppFeedContext, eof: boolean): void {
    const ff = f.frames;
    const parser = f.parser;
    const proto = f.proto;
    if (ff === null || parser === null || proto === null || f.state !== 'parsing') return;
    collectFrames(ff, parser, proto.name, this.ruleset, this.counters.frames);
    if (ff.live[DIR_INDEX[dir]].length === 0) return;
    let stream = ctx.streamOf?.(dir) ?? null;
    if (ctx.streamOf === undefined && ctx.verify.stream !== undefined) stream = { buf: ctx.verify.stream, len: ctx.verify.streamLength ?? ctx.verify.stream.length };
    const meta: AppAlertMeta = { appProto: proto.name, origProto: f.origProto };
    const env = {
      ruleset: this.ruleset, proto, stream, vctx: verifyContextOf(f, dir, proto, tsUs, ctx, true),
      txById: (id: number): AppTx | null => {
        for (const t of parser.txs()) if (t.id === id) return t;
        return null;
      },
      fire: (si: number, frame: AlertFrame, tx: AppTx | null): void => {
        this.counters.alerts++;
        ctx.fireFrame?.(si, frame, tx, proto, dir, meta);
      },
    };
    inspectFrames(ff, dir, ctx.meter === undefined ? env : { ...env, meter: ctx.meter }, eof, this.counters.frames);
  }

  /** The flow ends: its frames still waiting in `dir` are inspected on the bytes there are. */
  framesEnd(f: AppFlow, dir: AppDirection, tsUs: number, ctx: AppFeedContext): void {
    this.frameStep(f, dir, tsUs, ctx, true);
  }

  /** The flow ended (closed, expired, evicted): its app-layer state and its bytes go. Idempotent. */
  free(f: AppFlow): void {
    this.drop(f);
    f.state = 'ended';
  }

  /**
   * Re-counts the bytes the flow holds now; over a budget, its app-layer parsing stops for good.
   * A stopped parser (failed) holds nothing anyone reads any more (no feed, no inspection): dropped.
   */
  private account(f: AppFlow): void {
    if (f.state === 'failed') {
      this.drop(f);
      return;
    }
    const now = f.state === 'parsing' ? f.parser!.memory() : f.heldLen[0] + f.heldLen[1];
    this.total += now - f.mem;
    f.mem = now;
    if (now > this.maxFlowMemory) this.cut(f, 'flow');
    else if (this.total > this.maxMemory) this.cut(f, 'global');
  }

  private cut(f: AppFlow, limit: AppMemoryLimit): void {
    this.counters.limits[limit]++;
    this.drop(f);
    f.state = 'limit';
  }

  /** Releases the parser, held bytes and alert sets; the flow's bytes leave the total. */
  private drop(f: AppFlow): void {
    this.total -= f.mem;
    f.mem = 0;
    // its txs and whatever they handed out are read no more (the alert path copied what it keeps)
    f.parser?.dispose?.();
    f.parser = null;
    f.held = [[], []];
    f.heldLen = [0, 0];
    f.heldOrder = [];
    f.alerted.clear();
    f.pfCache.clear();
    f.inspected.clear();
    // in place: a first reassignment of the field (the first flow to end) made V8 drop every
    // optimized function that had read it (rawScan, inspectTx, inspect) as a constant field
    f.rawSeen[0] = null;
    f.rawSeen[1] = null;
    f.frames = null;
  }

  /** Detected: hands everything held so far to the parser, in arrival order. */
  private feedHeld(f: AppFlow, tsUs: number): void {
    // The held bytes end where the stream is now: the parser's offsets start there minus them.
    if (f.frames !== null) f.frames.base = [f.next[0] - f.heldLen[0], f.next[1] - f.heldLen[1]];
    const whole = [0, 1].map((k) => { const h = f.held[k as 0 | 1]; return h.length === 1 ? h[0]! : concat(h, f.heldLen[k as 0 | 1]); });
    const pos = [0, 0];
    const ord = f.heldOrder;
    for (let i = 0; i + 1 < ord.length; i += 2) {
      const k = ord[i]!;
      const n = ord[i + 1]!;
      const d = k === 0 ? 'to_server' : 'to_client';
      this.rawScan(f, d, whole[k]!, pos[k]!, n);
      f.parser!.feed(d, whole[k]!, pos[k]!, n, tsUs);
      pos[k] = pos[k]! + n;
    }
    f.held = [[], []];
    f.heldLen = [0, 0];
    f.heldOrder = [];
  }

  private start(f: AppFlow, p: AppProtocol, parser: AppParser): void {
    f.proto = p;
    f.parser = parser;
    f.frames = parser.takeFrames !== undefined && wantsFrames(this.ruleset, p.name) ? newFlowFrames() : null;
    f.state = 'parsing';
    f.ruleProtocols = p.ruleProtocols.includes(p.name) ? p.ruleProtocols : [p.name, ...p.ruleProtocols];
    this.flowsByProto.set(p.name, (this.flowsByProto.get(p.name) ?? 0) + 1);
  }

  /**
   * True when a protocol was detected (the flow is now 'parsing'). Runs on every chunk while the
   * flow probes; a protocol that said 'no' to a direction's bytes is not asked again for that
   * direction (its 'no' is final, AppProtocol.probe): the same answers as asking it again.
   * Small on purpose (the match and give-up paths are functions of their own): TurboFan compiles
   * it on every isolate, and recompiles it when a new protocol turns up.
   */
  private probe(f: AppFlow): boolean {
    let allNo = true;
    const order = probeOrder(f.expectProto);
    const entries = order.entries;
    const no = f.probedNo;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.portsOnly && !hasPort(e.hintPorts, f.serverPort)) continue;
      const dirs = e.dirs;
      for (let j = 0; j < dirs.length; j++) {
        const k = dirs[j]!;
        if ((no[k]! & e.bit) !== 0) continue;
        const n = f.heldLen[k]!;
        if (n === 0) {
          allNo = false;
          continue;
        }
        const r = e.proto.probe(k === 0 ? 'to_server' : 'to_client', heldBytes(f, k as 0 | 1), n);
        if (r === 'match') {
          this.detected(f, e.proto, order.expected);
          return true;
        }
        if (r === 'no') {
          if (!e.mayRevise) no[k] = no[k]! | e.bit;
        } else if (n < this.maxProbe) allNo = false; // need-more
      }
    }
    // a direction that has not spoken yet may still identify the flow; give up once both are decided
    if (allNo || f.heldLen[0] + f.heldLen[1] >= 2 * this.maxProbe) this.undetected(f);
    return false;
  }

  private detected(f: AppFlow, p: AppProtocol, expected: AppProtocol | null): void {
    if (expected !== null && p !== expected) this.counters.unexpectedProto++;
    this.start(f, p, p.create(this.parserContext(f, p)));
  }

  private parserContext(f: AppFlow, p: AppProtocol): AppParserContext {
    return parserContext(f, this.counters, this.settings, wantsFrames(this.ruleset, p.name), fileHashesOf(this.ruleset, p.name));
  }

  private undetected(f: AppFlow): void {
    f.state = 'none';
    f.held = [[], []];
    f.heldLen = [0, 0];
    f.heldOrder = [];
    this.counters.undetected++;
  }

  /** Prefilter state of another ruleset (reload) refers to other automata and indexes: start over. */
  private sameRuleset(f: AppFlow): void {
    if (f.prefilterOf === this.ruleset) return;
    if (f.prefilterOf !== null) {
      f.pfCache.clear();
      f.inspected.clear();
      f.rawState[0] = 0;
      f.rawState[1] = 0;
      f.rawSeen[0] = null;
      f.rawSeen[1] = null;
    }
    f.prefilterOf = this.ruleset;
  }

  /**
   * Runs the raw-stream prefilter of `dir` over in-order bytes: signatures whose fast pattern
   * occurs join the direction's seen list (the automaton folds case: a superset, verified later).
   * `hits`: the stream prefilter already found them (its automaton holds the raw patterns); they
   * are this scan's result exactly when it started in the state this one is in (raw-merge.ts),
   * which is the rule; after a replay (probing, upgrade) or a restart on one side only, it is not.
   */
  private rawScan(f: AppFlow, dir: AppDirection, data: Uint8Array, off: number, len: number, hits?: RawStreamHits): void {
    this.sameRuleset(f);
    const raw = this.ruleset.app?.rawStream;
    if (raw === undefined) return;
    const pf = raw[dir];
    if (pf.patterns.length === 0) return;
    const di = DIR_INDEX[dir];
    const seen = (f.rawSeen[di] ??= []);
    if (hits !== undefined && hits.from === f.rawState[di]) {
      for (const si of hits.sig) if (!seen.includes(si)) seen.push(si);
      f.rawState[di] = hits.to;
      this.counters.rawMerged++;
      return;
    }
    f.rawState[di] = scanRawStream(pf, f.rawState[di], data, off, len, seen);
  }

  /**
   * Inspects one tx direction. `rawOnly`: the direction was inspected complete already; only the
   * raw-stream signatures seen so far run (the stream goes on after the flow's last tx completed).
   */
  private inspectTx(f: AppFlow, tx: AppTx, dir: AppDirection, vctx: AppVerifyContext, ctx: AppFeedContext, rawOnly = false): void {
    const rs = this.ruleset;
    this.sameRuleset(f);
    this.counters.txInspected++;
    const ck = tx.id * 2 + DIR_INDEX[dir];
    let n = 0;
    let pc: AppPrefilterCache | undefined;
    let missed = NO_SIGS;
    if (!rawOnly) {
      // complete now: this is its last full inspection
      if (tx.complete(dir)) f.inspected.add(ck);
      pc = f.pfCache.get(ck);
      if (pc === undefined) f.pfCache.set(ck, (pc = new TxDirCache()));
      n = appCandidates(rs, f.ruleProtocols, tx, dir, this.cand, pc);
      if (f.inspected.has(ck)) f.pfCache.delete(ck);
      missed = pc.missed ?? NO_SIGS;
    } else if (this.cand.length !== 0) this.cand.length = 0;
    const seen = f.rawSeen[DIR_INDEX[dir]];
    if (seen !== null) n = addRawCandidates(rs, f.ruleProtocols, seen, this.cand, n);
    this.counters.candidates += n;
    // The empty sentinels (never added to) keep both has() below always run, with feedback.
    let done = f.alerted.get(tx.id) ?? NO_SIGS;
    for (let k = 0; k < n; k++) {
      const si = this.cand[k]!;
      if (done.has(si) || missed.has(si)) continue;
      const sig = rs.signatures[si]!;
      // A rule with only payload conditions (`alert dns … content:…`) looks at the stream, not
      // at a tx: every tx of one chunk would see the same bytes, so it alerts once per chunk; one
      // whose contents are all on the raw stream alerts once per flow, like the stream signatures
      // (later txs show it the same retained stream).
      const payloadOnly = (sig.buffers?.length ?? 0) === 0 && (sig.appKeywords?.length ?? 0) === 0;
      if (payloadOnly && this.chunkFired.has(si)) continue;
      if (ctx.flowAlerted !== undefined && streamOnly(sig) && ctx.flowAlerted(si)) continue;
      if (!verifyAppSignature(sig, tx, dir, vctx, ctx.meter)) {
        if (pc !== undefined && missedForGood(sig, tx, dir, f.proto!.name)) {
          if (pc.missed === undefined || pc.missed === NO_SIGS) pc.missed = new Set();
          pc.missed.add(si);
        }
        continue;
      }
      if (payloadOnly) this.chunkFired.add(si);
      if (done === NO_SIGS) f.alerted.set(tx.id, (done = new Set()));
      done.add(si);
      this.counters.alerts++;
      ctx.fire(si, tx, f.proto!, dir, { appProto: f.proto!.name, origProto: f.origProto });
    }
  }

  private inspect(f: AppFlow, dir: AppDirection, tsUs: number, ctx: AppFeedContext): void {
    // Set.clear allocates a new table even when empty
    if (this.chunkFired.size > 0) this.chunkFired.clear();
    const parser = f.parser!;
    const proto = f.proto!;
    const vctx = verifyContextOf(f, dir, proto, tsUs, ctx, true);
    let releasable = -1;
    let prefix = true;
    const other: AppDirection = dir === 'to_server' ? 'to_client' : 'to_server';
    let octx: AppVerifyContext | null = null;
    const di = DIR_INDEX[dir];
    const oi = DIR_INDEX[other];
    let last: AppTx | null = null;
    let lastDone = false;
    for (const tx of parser.txs()) {
      if (tx.progress(dir) > 0) {
        const done = f.inspected.has(tx.id * 2 + di);
        if (!done) this.inspectTx(f, tx, dir, vctx, ctx);
        last = tx;
        lastDone = done;
      }
      if (prefix && tx.complete('to_server') && tx.complete('to_client')) {
        // Released below: its other side may have become final with this data (an SMB
        // TREE_CONNECT's share type comes with the response), so inspect that side too first;
        // alerted signatures are not repeated.
        if (!f.inspected.has(tx.id * 2 + oi)) this.inspectTx(f, tx, other, (octx ??= verifyContextOf(f, other, proto, tsUs, ctx, false)), ctx);
        releasable = tx.id;
      } else prefix = false;
    }
    // New stream bytes past the last tx's end: the raw-stream signatures still see them. (The
    // rawSeen test first: always run, it has type feedback when TurboFan compiles this.)
    if (f.rawSeen[di] !== null) {
      if (last !== null) {
        if (lastDone) this.inspectTx(f, last, dir, vctx, ctx, true);
      } else if (f.releasedId >= 0) this.inspectTx(f, releasedStandIn(f.releasedId), dir, vctx, ctx, true);
    }
    if (releasable >= 0) {
      parser.release(releasable);
      f.releasedId = releasable;
      // (tx id * 2 + direction index) >> 1 <= releasable  <=>  key <= 2 * releasable + 1
      dropKeysUpTo(f.alerted, releasable);
      dropKeysUpTo(f.pfCache, 2 * releasable + 1);
      dropKeysUpTo(f.inspected, 2 * releasable + 1);
    }
    if (parser.state === 'failed' && f.state === 'parsing') {
      f.state = 'failed';
      this.counters.parserFailed++;
    }
  }
}

/** No signatures: the start of a tx's alerted and missed sets, never added to (replaced by a Set of its own first). */
const NO_SIGS: Set<number> = new Set();

/** A tx direction's prefilter cache (AppPrefilterCache) with every field set at construction: one shape. */
class TxDirCache extends Map<number, { length: number; state: number; found: number[]; src?: Uint8Array }> implements AppPrefilterCache {
  missed: Set<number> = NO_SIGS;
  version = -1;
  readonly fixed: number[] = [];
}

/** A released tx as the raw-stream signatures see it: its id, complete, no buffers, no events. */
function releasedStandIn(id: number): AppTx {
  return { id, progress: () => 2, complete: () => true, buffer: () => null, multiBuffer: () => [], events: [] };
}

/** An app signature whose only payload conditions are on the raw stream (no buffer, no app keyword). */
function streamOnly(sig: Signature): boolean {
  return sig.conditions.length > 0 && (sig.buffers === undefined || sig.buffers.length === 0) && (sig.appKeywords === undefined || sig.appKeywords.length === 0);
}
