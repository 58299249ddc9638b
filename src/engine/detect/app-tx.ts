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
import type { AppDirection, AppParser, AppParserContext, AppProtoName, AppProtocol, AppTx } from '../app-layer/types.js';
import { APP_PROTOCOLS } from '../app-layer/registry.js';
import type { AppVerifyContext, Ruleset } from '../../signatures/types.js';
import { appCandidates, verifyAppSignature } from '../../signatures/verify-app.js';
import type { RegexMeter } from '../../regex/meter.js';
import { ExpectationTable, type ExpectationOptions } from './expectations.js';

/** Protocol changes per flow (Suricata allows one change at a time; a second one after a completed change is allowed, more are not). */
const MAX_PROTO_CHANGES = 2;

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
  /** Stream offset expected next per direction (a chunk further on follows a gap). */
  next: [number, number];
  /** Signatures already alerted per live tx id. */
  alerted: Map<number, Set<number>>;
  /** `ruleProtocols` of the detected protocol plus its name. */
  ruleProtocols: readonly string[];
  serverPort: number;
  clientPort: number;
  /** Client and server addresses as text when known (FTP `ftpbounce` compares the PORT address with the client's). */
  clientAddr?: string;
  serverAddr?: string;
  /** Bytes of this flow's app-layer state currently counted in the detector's total. */
  mem: number;
  /**
   * Formats the two addresses on first need (a parser is created, an expectation is looked up
   * or made): a SYN flood creates flows that never need them, so they are not formatted per SYN.
   */
  addrs?: () => readonly [client: string, server: string];
  /** The protocol before a protocol change (EVE `app_proto_orig`), null when none happened. */
  origProto: AppProtoName | null;
  /** While re-probing after a change: the protocol announced (`upgradeTo`), probed first. */
  expectProto: AppProtoName | null;
  /** Protocol changes so far (bounded by MAX_PROTO_CHANGES). */
  changes: number;
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
}

/** Which memory budget stopped a flow's app-layer parsing (the `limit` label of bulwark_applayer_limits_total). */
export type AppMemoryLimit = 'flow' | 'global';

/** What one feed needs from the engine to verify and report. */
export interface AppFeedContext {
  /** Flowbits of the flow, the raw stream of the direction, the packet payload length. */
  verify: Omit<AppVerifyContext, 'serverPort' | 'appProto'>;
  meter?: RegexMeter;
  /** An app signature matched tx `tx` (index into ruleset.signatures); the engine alerts (flowbits, threshold…). */
  fire(sigIndex: number, tx: AppTx, proto: AppProtocol, dir: AppDirection, meta: AppAlertMeta): void;
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
}

const DIR_INDEX = { to_server: 0, to_client: 1 } as const;

export class AppTxDetector {
  readonly counters: AppTxCounters = {
    flowsByProto: {}, undetected: 0, parserFailed: 0, txInspected: 0, candidates: 0, alerts: 0, limits: { flow: 0, global: 0 }, protoChanges: {}, unexpectedProto: 0, expectedFlows: 0,
  };
  /** Announced flows waiting for their connection. */
  readonly expectations: ExpectationTable;
  private readonly maxProbe: number;
  private readonly maxFlowMemory: number;
  private readonly maxMemory: number;
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
    return a !== undefined && (a.prefilters.length > 0 || a.always.size > 0);
  }

  /**
   * App-layer state of a new TCP flow. With both addresses known, a flow an earlier one announced
   * (an FTP data connection to the announced port, within the expectation's lifetime) gets its
   * parser at once; other flows probe their content. The addresses come as two strings, or as
   * one formatter (the engine's, called on first need) with `serverAddr` undefined.
   */
  newFlow(serverPort: number, clientPort: number, clientAddr?: string | (() => readonly [string, string]), serverAddr?: string, tsUs = 0): AppFlow {
    const f: AppFlow = {
      proto: null, state: 'probing', parser: null, held: [[], []], heldLen: [0, 0], heldOrder: [], next: [0, 0], alerted: new Map(), ruleProtocols: [],
      serverPort, clientPort, origProto: null, expectProto: null, changes: 0, mem: 0,
    };
    if (typeof clientAddr === 'function') f.addrs = clientAddr;
    else if (clientAddr !== undefined) f.clientAddr = clientAddr;
    if (serverAddr !== undefined) f.serverAddr = serverAddr;
    if (this.expectations.size > 0 && resolveAddrs(f)) {
      const e = this.expectations.take(f.clientAddr!, f.serverAddr!, serverPort, tsUs);
      const p = e === undefined ? undefined : APP_PROTOCOLS.find((x) => x.name === e.proto);
      if (e !== undefined && p !== undefined) {
        this.start(f, p, e.create(parserContext(f)));
        this.counters.expectedFlows++;
      }
    }
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
      f.heldOrder.push(k, len);
      if (!this.probe(f)) {
        this.account(f);
        return;
      }
      // detected: hand everything held so far to the parser, in arrival order
      const whole = [0, 1].map((k) => { const h = f.held[k as 0 | 1]; return h.length === 1 ? h[0]! : concat(h, f.heldLen[k as 0 | 1]); });
      const pos = [0, 0];
      const ord = f.heldOrder;
      for (let i = 0; i + 1 < ord.length; i += 2) {
        const k = ord[i]!;
        const n = ord[i + 1]!;
        f.parser!.feed(k === 0 ? 'to_server' : 'to_client', whole[k]!, pos[k]!, n, tsUs);
        pos[k] = pos[k]! + n;
      }
      f.held = [[], []];
      f.heldLen = [0, 0];
      f.heldOrder = [];
    } else if (f.state === 'parsing') {
      f.parser!.feed(dir, data, off, len, tsUs);
    } else return;
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
    if (f.changes >= MAX_PROTO_CHANGES) {
      // Stays with the old parser, which ignores what follows (counted as its ignored bytes).
      f.state = 'failed';
      this.counters.parserFailed++;
      return;
    }
    // The txs before the switch are final: inspect both sides once more (alerted ones are not repeated).
    this.inspect(f, 'to_server', tsUs, ctx);
    this.inspect(f, 'to_client', tsUs, ctx);
    const to = parser.upgradeTo;
    const key = to ?? 'redetect';
    this.counters.protoChanges[key] = (this.counters.protoChanges[key] ?? 0) + 1;
    f.changes++;
    f.origProto ??= f.proto!.name;
    f.expectProto = to;
    f.proto = null;
    f.parser = null;
    f.state = 'probing';
    f.ruleProtocols = [];
    f.alerted = new Map();
    f.held = [[], []];
    f.heldLen = [0, 0];
    f.heldOrder = [];
  }

  gap(f: AppFlow, dir: AppDirection, len: number): void {
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
    this.inspect(f, 'to_server', tsUs, ctx);
    this.inspect(f, 'to_client', tsUs, ctx);
    this.account(f);
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
    f.parser = null;
    f.held = [[], []];
    f.heldLen = [0, 0];
    f.heldOrder = [];
    f.alerted.clear();
  }

  private start(f: AppFlow, p: AppProtocol, parser: AppParser): void {
    f.proto = p;
    f.parser = parser;
    f.state = 'parsing';
    f.ruleProtocols = p.ruleProtocols.includes(p.name) ? p.ruleProtocols : [p.name, ...p.ruleProtocols];
    this.counters.flowsByProto[p.name] = (this.counters.flowsByProto[p.name] ?? 0) + 1;
  }

  /** True when a protocol was detected (the flow is now 'parsing'). */
  private probe(f: AppFlow): boolean {
    let allNo = true;
    const expected = f.expectProto === null ? undefined : APP_PROTOCOLS.find((p) => p.name === f.expectProto);
    const order = expected === undefined ? APP_PROTOCOLS : [expected, ...APP_PROTOCOLS.filter((p) => p !== expected)];
    for (const p of order) {
      if (p.probePortsOnly === true && !p.hintPorts.includes(f.serverPort)) continue;
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
          if (expected !== undefined && p !== expected) this.counters.unexpectedProto++;
          this.start(f, p, p.create(parserContext(f)));
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
      f.heldOrder = [];
      this.counters.undetected++;
    }
    return false;
  }

  private inspectTx(f: AppFlow, tx: AppTx, dir: AppDirection, vctx: AppVerifyContext, ctx: AppFeedContext): void {
    const rs = this.ruleset;
    this.counters.txInspected++;
    const n = appCandidates(rs, f.ruleProtocols, tx, dir, this.cand);
    this.counters.candidates += n;
    let done = f.alerted.get(tx.id);
    for (let k = 0; k < n; k++) {
      const si = this.cand[k]!;
      if (done?.has(si) === true) continue;
      const sig = rs.signatures[si]!;
      // A rule with only payload conditions (`alert dns … content:…`) looks at the stream, not
      // at a tx: every tx of one chunk would see the same bytes, so it alerts once per chunk.
      const payloadOnly = (sig.buffers?.length ?? 0) === 0 && (sig.appKeywords?.length ?? 0) === 0;
      if (payloadOnly && this.chunkFired.has(si)) continue;
      if (!verifyAppSignature(sig, tx, dir, vctx, ctx.meter)) continue;
      if (payloadOnly) this.chunkFired.add(si);
      if (done === undefined) f.alerted.set(tx.id, (done = new Set()));
      done.add(si);
      this.counters.alerts++;
      ctx.fire(si, tx, f.proto!, dir, { appProto: f.proto!.name, origProto: f.origProto });
    }
  }

  private inspect(f: AppFlow, dir: AppDirection, tsUs: number, ctx: AppFeedContext): void {
    this.chunkFired.clear();
    const parser = f.parser!;
    const proto = f.proto!;
    const vctx: AppVerifyContext = { ...ctx.verify, serverPort: f.serverPort, appProto: proto.name, tsUs };
    let releasable = -1;
    let prefix = true;
    let otherCtx: AppVerifyContext | undefined;
    const other: AppDirection = dir === 'to_server' ? 'to_client' : 'to_server';
    for (const tx of parser.txs()) {
      if (tx.progress(dir) > 0) this.inspectTx(f, tx, dir, vctx, ctx);
      if (prefix && tx.complete('to_server') && tx.complete('to_client')) {
        // Released below: its other side may have become final with this data (an SMB
        // TREE_CONNECT's share type comes with the response), so inspect that side too first;
        // alerted signatures are not repeated.
        this.inspectTx(f, tx, other, otherCtx ??= withoutStream(vctx), ctx);
        releasable = tx.id;
      } else prefix = false;
    }
    if (releasable >= 0) {
      parser.release(releasable);
      for (const id of f.alerted.keys()) if (id <= releasable) f.alerted.delete(id);
    }
    if (parser.state === 'failed' && f.state === 'parsing') {
      f.state = 'failed';
      this.counters.parserFailed++;
    }
  }
}

/**
 * The context for inspecting the side that was not fed: the stream at hand is the fed side's,
 * so payload conditions of the other side's rules must not see it (they were checked when that
 * side's bytes came).
 */
function withoutStream(v: AppVerifyContext): AppVerifyContext {
  const rest = { ...v };
  delete rest.stream;
  delete rest.streamLength;
  return rest;
}

/** Fills clientAddr/serverAddr from the lazy formatter; true when both are known. */
function resolveAddrs(f: AppFlow): boolean {
  if (f.addrs !== undefined && (f.clientAddr === undefined || f.serverAddr === undefined)) {
    const [c, s] = f.addrs();
    f.clientAddr = c;
    f.serverAddr = s;
  }
  return f.clientAddr !== undefined && f.serverAddr !== undefined;
}

function parserContext(f: AppFlow): AppParserContext {
  resolveAddrs(f);
  return {
    serverPort: f.serverPort, clientPort: f.clientPort,
    ...(f.clientAddr !== undefined ? { clientAddr: f.clientAddr } : {}),
    ...(f.serverAddr !== undefined ? { serverAddr: f.serverAddr } : {}),
  };
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
