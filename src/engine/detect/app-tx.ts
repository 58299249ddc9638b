/**
 * Minimal application-layer inspection for the detect stage: per flow, protocol detection by
 * content over the registered protocols (`APP_PROTOCOLS`), one parser fed with the in-order bytes
 * of both directions, and app-layer signatures run on its transactions through
 * src/signatures/verify-app.ts (`appCandidates` → `verifyAppSignature`), one alert per signature
 * per transaction (Suricata's detect state). Bounded: probing stops after `maxProbeBytes` per
 * direction, transactions are released once both sides are complete and inspected, and the
 * per-tx alert sets go with them. Pure logic; the engine owns flows, time and the alert path.
 */
import type { AppDirection, AppParser, AppProtocol, AppTx } from '../app-layer/types.js';
import { APP_PROTOCOLS } from '../app-layer/registry.js';
import type { AppPrefilterCache, AppVerifyContext, Ruleset, Signature } from '../../signatures/types.js';
import { addRawCandidates, appCandidates, scanRawStream, verifyAppSignature } from '../../signatures/verify-app.js';
import type { RegexMeter } from '../../regex/meter.js';

/** Per-flow app-layer state (one per TCP flow, created on its first payload). */
export interface AppFlow {
  /** The detected protocol, or null while probing / when none matched. */
  proto: AppProtocol | null;
  /** 'probing' until a protocol matches or every probe said no (then 'none'); 'failed' after a parser stop. */
  state: 'probing' | 'parsing' | 'none' | 'failed';
  parser: AppParser | null;
  /** Bytes seen per direction while probing (to_server, to_client), fed to the parser once detected. */
  held: [Uint8Array[], Uint8Array[]];
  heldLen: [number, number];
  /** Stream offset expected next per direction (a chunk further on follows a gap). */
  next: [number, number];
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
  clientAddr?: string;
  serverAddr?: string;
}

export interface AppTxDetectOptions {
  /** Bytes per direction probed before giving up (Suricata's probing depth is of this order). Default 2048. */
  maxProbeBytes?: number;
}

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
  fire(sigIndex: number, tx: AppTx, proto: AppProtocol, dir: AppDirection): void;
}

export interface AppTxCounters {
  flowsByProto: Record<string, number>;
  undetected: number;
  parserFailed: number;
  txInspected: number;
  candidates: number;
  alerts: number;
}

const DIR_INDEX = { to_server: 0, to_client: 1 } as const;

export class AppTxDetector {
  readonly counters: AppTxCounters = { flowsByProto: {}, undetected: 0, parserFailed: 0, txInspected: 0, candidates: 0, alerts: 0 };
  private readonly maxProbe: number;
  private readonly cand: number[] = [];

  constructor(
    private ruleset: Ruleset,
    opts: AppTxDetectOptions = {},
  ) {
    this.maxProbe = opts.maxProbeBytes ?? 2048;
  }

  /** Swaps the ruleset (reload); live flows keep their parsers, alert sets refer to old indexes and are dropped. */
  setRuleset(r: Ruleset): void {
    this.ruleset = r;
  }

  /** Whether the ruleset has app-layer signatures at all (no: the engine may skip app-layer work). */
  get active(): boolean {
    const a = this.ruleset.app;
    return a !== undefined && (a.prefilters.length > 0 || a.always.size > 0);
  }

  newFlow(serverPort: number, clientPort: number, clientAddr?: string, serverAddr?: string): AppFlow {
    const f: AppFlow = {
      proto: null, state: 'probing', parser: null, held: [[], []], heldLen: [0, 0], next: [0, 0], alerted: new Map(), pfCache: new Map(), inspected: new Set(), prefilterOf: null, ruleProtocols: [], serverPort, clientPort,
      rawState: [0, 0], rawSeen: [null, null],
    };
    if (clientAddr !== undefined) f.clientAddr = clientAddr;
    if (serverAddr !== undefined) f.serverAddr = serverAddr;
    return f;
  }

  /** In-order bytes of `dir` (data[off, off+len)) at stream offset `at` (past the expected one: a gap came first). */
  data(f: AppFlow, dir: AppDirection, data: Uint8Array, off: number, len: number, at: number, tsUs: number, ctx: AppFeedContext): void {
    if (len <= 0) return;
    const di = DIR_INDEX[dir];
    if (at > f.next[di]) this.gap(f, dir, at - f.next[di]);
    f.next[di] = at + len;
    if (f.state === 'probing') {
      const k = DIR_INDEX[dir];
      f.held[k].push(data.slice(off, off + len));
      f.heldLen[k] += len;
      if (!this.probe(f)) return;
      // detected: hand everything held so far to the parser, requests first
      for (const d of ['to_server', 'to_client'] as const) {
        const held = f.held[DIR_INDEX[d]];
        for (const h of held) {
          this.rawScan(f, d, h, 0, h.length);
          f.parser!.feed(d, h, 0, h.length, tsUs);
        }
      }
      f.held = [[], []];
      f.heldLen = [0, 0];
    } else if (f.state === 'parsing') {
      this.rawScan(f, dir, data, off, len);
      f.parser!.feed(dir, data, off, len, tsUs);
    } else return;
    this.inspect(f, dir, tsUs, ctx);
  }

  gap(f: AppFlow, dir: AppDirection, len: number): void {
    f.rawState[DIR_INDEX[dir]] = 0;
    if (f.state === 'parsing') f.parser!.gap(dir, len);
    else if (f.state === 'probing') {
      f.state = 'none';
      this.counters.undetected++;
    }
  }

  /** The direction ended: the parser finalises (close-delimited bodies); inspect what that completed. */
  end(f: AppFlow, dir: AppDirection, tsUs: number, ctx: AppFeedContext): void {
    if (f.state !== 'parsing') return;
    f.parser!.end(dir);
    this.inspect(f, 'to_server', tsUs, ctx);
    this.inspect(f, 'to_client', tsUs, ctx);
  }

  /** True when a protocol was detected (the flow is now 'parsing'). */
  private probe(f: AppFlow): boolean {
    let allNo = true;
    for (const p of APP_PROTOCOLS) {
      for (const d of p.probeDirections) {
        const k = DIR_INDEX[d];
        if (f.heldLen[k] === 0) {
          allNo = false;
          continue;
        }
        const buf = f.held[k].length === 1 ? f.held[k][0]! : concat(f.held[k], f.heldLen[k]);
        f.held[k] = [buf];
        const r = p.probe(d, buf, buf.length);
        if (r === 'match') {
          f.proto = p;
          f.parser = p.create({
            serverPort: f.serverPort, clientPort: f.clientPort,
            ...(f.clientAddr !== undefined ? { clientAddr: f.clientAddr } : {}),
            ...(f.serverAddr !== undefined ? { serverAddr: f.serverAddr } : {}),
          });
          f.state = 'parsing';
          f.ruleProtocols = p.ruleProtocols.includes(p.name) ? p.ruleProtocols : [p.name, ...p.ruleProtocols];
          this.counters.flowsByProto[p.name] = (this.counters.flowsByProto[p.name] ?? 0) + 1;
          return true;
        }
        if (r === 'need-more' && f.heldLen[k] < this.maxProbe) allNo = false;
      }
    }
    // a direction that has not spoken yet may still identify the flow; give up once both are decided
    if (allNo || f.heldLen[0] + f.heldLen[1] >= 2 * this.maxProbe) {
      f.state = 'none';
      f.held = [[], []];
      f.heldLen = [0, 0];
      this.counters.undetected++;
    }
    return false;
  }

  /** Prefilter state of another ruleset (reload) refers to other automata and indexes: start over. */
  private sameRuleset(f: AppFlow): void {
    if (f.prefilterOf === this.ruleset) return;
    if (f.prefilterOf !== null) {
      f.pfCache.clear();
      f.inspected.clear();
      f.rawState = [0, 0];
      f.rawSeen = [null, null];
    }
    f.prefilterOf = this.ruleset;
  }

  /**
   * Runs the raw-stream prefilter of `dir` over in-order bytes: signatures whose fast pattern
   * occurs join the direction's seen list (the automaton folds case: a superset, verified later).
   */
  private rawScan(f: AppFlow, dir: AppDirection, data: Uint8Array, off: number, len: number): void {
    this.sameRuleset(f);
    const raw = this.ruleset.app?.rawStream;
    if (raw === undefined) return;
    const pf = raw[dir];
    if (pf.patterns.length === 0) return;
    const di = DIR_INDEX[dir];
    f.rawState[di] = scanRawStream(pf, f.rawState[di], data, off, len, (f.rawSeen[di] ??= []));
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
    if (!rawOnly) {
      // complete now: this is its last full inspection
      if (tx.complete(dir)) f.inspected.add(ck);
      let pc = f.pfCache.get(ck);
      if (pc === undefined) f.pfCache.set(ck, (pc = new Map() as AppPrefilterCache));
      n = appCandidates(rs, f.ruleProtocols, tx, dir, this.cand, pc);
      if (f.inspected.has(ck)) f.pfCache.delete(ck);
    } else this.cand.length = 0;
    const seen = f.rawSeen[DIR_INDEX[dir]];
    if (seen !== null) n = addRawCandidates(rs, f.ruleProtocols, seen, this.cand, n);
    this.counters.candidates += n;
    let done = f.alerted.get(tx.id);
    for (let k = 0; k < n; k++) {
      const si = this.cand[k]!;
      if (done?.has(si) === true) continue;
      const sig = rs.signatures[si]!;
      if (ctx.flowAlerted !== undefined && streamOnly(sig) && ctx.flowAlerted(si)) continue;
      if (!verifyAppSignature(sig, tx, dir, vctx, ctx.meter)) continue;
      if (done === undefined) f.alerted.set(tx.id, (done = new Set()));
      done.add(si);
      this.counters.alerts++;
      ctx.fire(si, tx, f.proto!, dir);
    }
  }

  private inspect(f: AppFlow, dir: AppDirection, tsUs: number, ctx: AppFeedContext): void {
    const parser = f.parser!;
    const proto = f.proto!;
    const vctx = verifyContextOf(f, dir, proto, tsUs, ctx);
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
        if (!f.inspected.has(tx.id * 2 + oi)) this.inspectTx(f, tx, other, (octx ??= verifyContextOf(f, other, proto, tsUs, ctx)), ctx);
        releasable = tx.id;
      } else prefix = false;
    }
    // New stream bytes past the last tx's end: the raw-stream signatures still see them.
    if (last !== null && lastDone && f.rawSeen[di] !== null) this.inspectTx(f, last, dir, vctx, ctx, true);
    if (releasable >= 0) {
      parser.release(releasable);
      for (const id of f.alerted.keys()) if (id <= releasable) f.alerted.delete(id);
      for (const k of f.pfCache.keys()) if (k >> 1 <= releasable) f.pfCache.delete(k);
      for (const k of f.inspected) if (k >> 1 <= releasable) f.inspected.delete(k);
    }
    if (parser.state === 'failed' && f.state === 'parsing') {
      f.state = 'failed';
      this.counters.parserFailed++;
    }
  }
}

/** An app signature whose only payload conditions are on the raw stream (no buffer, no app keyword). */
function streamOnly(sig: Signature): boolean {
  return sig.conditions.length > 0 && (sig.buffers === undefined || sig.buffers.length === 0) && (sig.appKeywords === undefined || sig.appKeywords.length === 0);
}

/** Verify context of `dir`: its own raw stream when the engine gives streams per direction. */
function verifyContextOf(f: AppFlow, dir: AppDirection, proto: AppProtocol, tsUs: number, ctx: AppFeedContext): AppVerifyContext {
  // Every field of AppVerifyContext copied explicitly (a spread builds a slow dictionary-mode object).
  const src = ctx.verify;
  const v: AppVerifyContext = { flowbits: src.flowbits, serverPort: f.serverPort, appProto: proto.name, tsUs };
  if (src.flowints !== undefined) v.flowints = src.flowints;
  if (src.xbits !== undefined) v.xbits = src.xbits;
  if (src.streamSize !== undefined) v.streamSize = src.streamSize;
  if (src.packetLength !== undefined) v.packetLength = src.packetLength;
  if (ctx.streamOf !== undefined) {
    const st = ctx.streamOf(dir);
    if (st !== null) {
      v.stream = st.buf;
      v.streamLength = st.len;
    }
  } else if (src.stream !== undefined) {
    v.stream = src.stream;
    if (src.streamLength !== undefined) v.streamLength = src.streamLength;
  }
  return v;
}

function concat(parts: readonly Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
