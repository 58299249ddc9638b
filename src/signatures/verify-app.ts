/**
 * App-layer detection for the detect stage (contracts `AppCandidatesFn` and `VerifyAppFn` in
 * ./types.ts): prefilter candidates of a transaction, then full verification of one signature
 * on one transaction and direction. Pure; the caller keeps per-tx detection state.
 */
import type { AppDirection, AppKeywordSpec, AppTx } from '../engine/app-layer/types.js';
import { APP_PROTOCOLS } from '../engine/app-layer/registry.js';
import { STATE_MASK } from './automaton.js';
import type { AppCandidatesFn, AppPrefilter, AppRuleset, ContentCondition, Dfa, AppPrefilterCache, AppRawPrefilter, AppVerifyContext, BufferList, Ruleset, Signature, VerifyAppFn } from './types.js';
import { appLayerProtocolHolds, findBytes, flowbitsHold, matchConditions, resetCaptures, ruleStateHolds } from './verify.js';
import { applyTransforms } from './transforms.js';
import { uintHolds } from './options.js';
import { UNMETERED, type RegexMeter } from '../regex/meter.js';
import { datasetKey, type DatasetSpec } from './keywords/dataset.js';

/** Per-call dedup of candidates: stamp[i] === gen when signature i is already in `out`. */
let stamp = new Uint32Array(0);
let gen = 0;

function mark(i: number, out: number[]): void {
  if (stamp[i] === gen) return;
  stamp[i] = gen;
  out.push(i);
}

function nextGen(n: number): void {
  if (stamp.length < n) stamp = new Uint32Array(Math.max(n, stamp.length * 2));
  gen = (gen + 1) >>> 0;
  if (gen === 0) {
    stamp.fill(0);
    gen = 1;
  }
}

/** Case-exact check of a case-sensitive pattern whose folded hit ends at `end`. */
function exactAt(data: Uint8Array, end: number, pat: Uint8Array): boolean {
  const start = end - pat.length;
  for (let k = 0; k < pat.length; k++) if (data[start + k] !== pat[k]) return false;
  return true;
}

/** See AppCandidatesFn in ./types.ts. */
export const appCandidates: AppCandidatesFn = (ruleset: Ruleset, ruleProtocols: readonly string[], tx: AppTx, dir: AppDirection, out: number[], cache?: AppPrefilterCache): number => {
  // Truncating an array is a runtime call even when it is already empty (most passes find nothing).
  if (out.length !== 0) out.length = 0;
  const app = ruleset.app;
  if (app === undefined) return 0;
  nextGen(ruleset.signatures.length);
  const plan = planOf(app, ruleProtocols, dir);
  // The tx's other buffers did not change since `fixed` was found: only the append-only ones are read.
  const ver = cache === undefined || tx.buffersVersion === undefined ? -1 : tx.buffersVersion(dir);
  if (ver >= 0 && cache!.version === ver) {
    for (const i of cache!.fixed!) mark(i, out);
  } else {
    for (const i of plan.always) mark(i, out);
    runSteps(plan.steps, tx, dir, out, cache);
    if (ver >= 0) {
      const fixed = (cache!.fixed ??= []);
      fixed.length = out.length;
      for (let k = 0; k < out.length; k++) fixed[k] = out[k]!;
      cache!.version = ver;
    }
  }
  runSteps(plan.appended, tx, dir, out, cache);
  if (out.length > 1) sortIndexes(out);
  return out.length;
};

/**
 * Ascending sort of signature indexes: insertion sort for the few candidates a tx usually has
 * (Array.prototype.sort with a comparator costs a call per comparison), the built-in past that.
 */
function sortIndexes(a: number[]): void {
  const n = a.length;
  if (n > 16) {
    a.sort((x, y) => x - y);
    return;
  }
  for (let i = 1; i < n; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}

function runSteps(steps: readonly PlanStep[], tx: AppTx, dir: AppDirection, out: number[], cache: AppPrefilterCache | undefined): void {
  for (let k = 0; k < steps.length; k++) {
    const st = steps[k]!;
    const pf = st.pf;
    if (pf.multi) {
      for (const inst of tx.multiBuffer(pf.buffer, dir)) scan(pf, inst, out);
      continue;
    }
    const b = tx.buffer(pf.buffer, dir);
    if (b === null) continue;
    const kind = cache === undefined ? PLAIN : st.kind;
    if (kind === GROWING) scanGrowing(pf, st.pi, b, out, cache!);
    else if (kind === STABLE) scanStable(pf, st.pi, b, out, cache!);
    else scan(pf, b, out);
  }
}

/** One prefilter of a plan: its index, itself and how its buffer is scanned (GROWING only without transforms). */
interface PlanStep {
  readonly pi: number;
  readonly pf: AppPrefilter;
  readonly kind: number;
}
/**
 * What appCandidates runs for a flow's rule protocols in one direction: always-list signatures,
 * then the prefilters on buffers that are not append-only (`steps`: their result is kept per tx
 * version, AppTx.buffersVersion) and those on append-only buffers (`appended`: run every time).
 */
interface Plan {
  readonly always: readonly number[];
  readonly steps: readonly PlanStep[];
  readonly appended: readonly PlanStep[];
}

/**
 * Plans per ruleset and rule-protocol list (one list per protocol, shared by its flows), made
 * once: the per-call work was two Map lookups per protocol and a WeakMap lookup per prefilter.
 */
const PLANS = new WeakMap<AppRuleset, WeakMap<readonly string[], Record<AppDirection, Plan>>>();
function planOf(app: AppRuleset, protos: readonly string[], dir: AppDirection): Plan {
  let byProtos = PLANS.get(app);
  if (byProtos === undefined) PLANS.set(app, (byProtos = new WeakMap()));
  let p = byProtos.get(protos);
  if (p === undefined) {
    p = { to_server: makePlan(app, protos, 'to_server'), to_client: makePlan(app, protos, 'to_client') };
    byProtos.set(protos, p);
  }
  return p[dir];
}

function makePlan(app: AppRuleset, protos: readonly string[], dir: AppDirection): Plan {
  const always: number[] = [];
  const steps: PlanStep[] = [];
  const appended: PlanStep[] = [];
  for (const proto of protos) {
    const key = `${proto}:${dir}`;
    for (const i of app.always.get(key) ?? []) if (!always.includes(i)) always.push(i);
    for (const pi of app.byProtoDir.get(key) ?? []) {
      const pf = app.prefilters[pi]!;
      const kind = bufferKind(pf);
      // an append-only buffer with transforms is scanned whole (PLAIN), still every time
      (kind === GROWING ? appended : steps).push({ pi, pf, kind: kind === GROWING && pf.transforms.length > 0 ? PLAIN : kind });
    }
  }
  return { always, steps, appended };
}

/** Signatures found by `collect`, deduplicated by their own stamp generation. */
let cstamp = new Uint32Array(0);
let cgen = 0;
const scratch: number[] = [];

function scan(pf: AppPrefilter, raw: Uint8Array, out: number[]): void {
  if (scratch.length !== 0) scratch.length = 0;
  collect(pf, raw, scratch);
  for (const si of scratch) mark(si, out);
}

/**
 * A stable buffer (AppBufferSpec.stable) is scanned once per tx direction: while the tx returns
 * the array scanned last (same length), what that scan found is reused.
 */
function scanStable(pf: AppPrefilter, pi: number, b: Uint8Array, out: number[], cache: AppPrefilterCache): void {
  let c = cache.get(pi);
  if (c?.src !== b || c.length !== b.length) {
    c = { length: b.length, state: 0, found: [], src: b };
    collect(pf, b, c.found);
    cache.set(pi, c);
  }
  for (const si of c.found) mark(si, out);
}

/** Appends to `found` each signature whose fast pattern occurs in the (transformed) buffer, once. */
function collect(pf: AppPrefilter, raw: Uint8Array, found: number[]): void {
  const data = pf.transforms.length === 0 ? raw : applyTransforms(raw, pf.transforms);
  if (data === null) return;
  if (cstamp.length < stamp.length) cstamp = new Uint32Array(stamp.length);
  cgen = (cgen + 1) >>> 0;
  if (cgen === 0) {
    cstamp.fill(0);
    cgen = 1;
  }
  const { next, outStart, outList } = pf.dfa;
  let s = 0;
  for (let i = 0; i < data.length; i++) {
    s = next[s + data[i]!]!;
    if (s >= 0) continue; // no pattern ends here (output mark, automaton.ts markOutputs)
    s &= STATE_MASK;
    const k = s >>> 8;
    const a = outStart[k]!;
    const e = outStart[k + 1]!;
    for (let j = a; j < e; j++) {
      const p = pf.patterns[outList[j]!]!;
      if (cstamp[p.signature] === cgen) continue;
      if (!p.nocase && !exactAt(data, i + 1, p.bytes)) continue;
      cstamp[p.signature] = cgen;
      found.push(p.signature);
    }
  }
}

/**
 * Raw-stream prefilter (Ruleset.app.rawStream) over in-order stream bytes data[off, off+len) from
 * automaton state `state` (× 256): adds to `seen` each signature whose fast pattern ends in them
 * (case folded: a superset, verification decides). Returns the end state.
 */
export function scanRawStream(pf: AppRawPrefilter, state: number, data: Uint8Array, off: number, len: number, seen: number[]): number {
  const { outStart, outList } = pf.dfa;
  const tbl = scanTableOf(pf.dfa);
  let s = state;
  for (let i = off, e = off + len; i < e; i++) {
    s = tbl[s + data[i]!]!;
    if (s >= 0) continue;
    s &= 0x7fffffff;
    const k = s >>> 8;
    for (let j = outStart[k]!, b = outStart[k + 1]!; j < b; j++) {
      const si = pf.patterns[outList[j]!]!.signature;
      if (!seen.includes(si)) seen.push(si);
    }
  }
  return s;
}

/** The sign-bit scan table of an automaton (automaton.ts markOutputs): its own `next`. */
function scanTableOf(dfa: Dfa): Int32Array {
  return dfa.next;
}

/**
 * Adds to the `n` candidates in `out` the raw-stream signatures `seen` in the tx's direction
 * that belong to the flow's protocols (disjoint from appCandidates' lists), keeping `out`
 * sorted; returns the new count.
 */
export function addRawCandidates(ruleset: Ruleset, ruleProtocols: readonly string[], seen: readonly number[], out: number[], n: number): number {
  const before = n;
  for (const si of seen) {
    const app = ruleset.signatures[si]?.app;
    if (app !== undefined && ruleProtocols.includes(app)) out[n++] = si;
  }
  out.length = n;
  if (n > before) sortIndexes(out);
  return n;
}

const PLAIN = 0;
const GROWING = 1;
const STABLE = 2;
const KINDS = new WeakMap<AppPrefilter, number>();
/** How the protocol declares the prefilter's buffer: append-only, stable or neither (AppBufferSpec). */
function bufferKind(pf: AppPrefilter): number {
  let v = KINDS.get(pf);
  if (v === undefined) {
    const spec = APP_PROTOCOLS.find((p) => p.name === pf.protocol)?.buffers.find((b) => b.name === pf.buffer);
    v = spec?.appendOnly === true ? GROWING : spec?.stable === true ? STABLE : PLAIN;
    KINDS.set(pf, v);
  }
  return v;
}

/**
 * Prefilter of an append-only buffer: continues from where the previous call on this tx
 * direction stopped (the buffer starts with the bytes scanned then). Marks every signature found
 * so far (the buffer still holds those bytes).
 */
function scanGrowing(pf: AppPrefilter, pi: number, b: Uint8Array, out: number[], cache: AppPrefilterCache): void {
  let c = cache.get(pi);
  if (c === undefined || b.length < c.length) {
    // shorter than before: not the same buffer after all (contract broken), scan it whole
    c = { length: 0, state: 0, found: [] };
    cache.set(pi, c);
  }
  const found = c.found;
  if (b.length > c.length) {
    const tbl = scanTableOf(pf.dfa);
    let s = c.state;
    let i = c.length;
    const n = b.length - i;
    const w = warmupOf(pf);
    if (n >= GROWING_MULTI_MIN + 3 * w) {
      // Four independent chains over four parts of the new bytes, as the stream prefilter's scan4
      // (src/engine/detect/prefilter.ts): the walk is bound by one dependent table load per byte,
      // and four chains overlap them. Chain 0 continues the state; chains 1-3 start at the root
      // w = (longest pattern - 1) bytes before their part and report only hits ending in it; the
      // last chain's end state is the true one (it consumed more than the longest pattern). A copy
      // of that loop rather than a shared one taking a hit callback: the hottest loops stay
      // monomorphic, with their hit path inline.
      const steps = (n + 3 * w) >> 2;
      const st1 = i + steps - w;
      const st2 = st1 + steps - w;
      const st3 = st2 + steps - w;
      const r1 = st1 + w;
      const r2 = st2 + w;
      const r3 = st3 + w;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < steps; k++) {
        s = tbl[s + b[i + k]!]!;
        s1 = tbl[s1 + b[st1 + k]!]!;
        s2 = tbl[s2 + b[st2 + k]!]!;
        s3 = tbl[s3 + b[st3 + k]!]!;
        if ((s | s1 | s2 | s3) < 0) {
          // All four through one function, every time: a chain's hit path that had never run
          // when TurboFan compiled this loop deoptimized it at its first hit (three times per isolate).
          s = chainHit(pf, s, b, i + k, i, found);
          s1 = chainHit(pf, s1, b, st1 + k, r1, found);
          s2 = chainHit(pf, s2, b, st2 + k, r2, found);
          s3 = chainHit(pf, s3, b, st3 + k, r3, found);
        }
      }
      s = s3;
      i = st3 + steps;
    }
    for (; i < b.length; i++) {
      s = tbl[s + b[i]!]!;
      if (s >= 0) continue;
      s &= 0x7fffffff;
      growingHit(pf, s >>> 8, b, i, found);
    }
    c.state = s;
    c.length = b.length;
  }
  for (const si of found) mark(si, out);
}

/**
 * A scan chain's state after b[pos]: a marked state (< 0) is unmarked, and its patterns join
 * `found` when the position is in the chain's part (from `from` on; before, it is the warm-up).
 */
export function chainHit(pf: AppPrefilter, st: number, b: Uint8Array, pos: number, from: number, found: number[]): number {
  if (st >= 0) return st;
  const u = st & 0x7fffffff;
  if (pos >= from) growingHit(pf, u >>> 8, b, pos, found);
  return u;
}

/** New bytes of an append-only buffer at least this long (plus the warm-ups) are scanned with four chains. */
const GROWING_MULTI_MIN = 1024;

/** The patterns ending in state k at b[i]: their signatures join `found` (once; case-sensitive ones re-checked). */
function growingHit(pf: AppPrefilter, k: number, b: Uint8Array, i: number, found: number[]): void {
  const { outStart, outList } = pf.dfa;
  for (let j = outStart[k]!, e = outStart[k + 1]!; j < e; j++) {
    const p = pf.patterns[outList[j]!]!;
    if (found.includes(p.signature)) continue;
    if (!p.nocase && !exactAt(b, i + 1, p.bytes)) continue;
    found.push(p.signature);
  }
}

/** Per prefilter: longest pattern - 1 (the warm-up of the scan chains). */
const WARMUP = new WeakMap<AppPrefilter, number>();
function warmupOf(pf: AppPrefilter): number {
  let w = WARMUP.get(pf);
  if (w === undefined) {
    let max = 1;
    for (const p of pf.patterns) if (p.bytes.length > max) max = p.bytes.length;
    WARMUP.set(pf, (w = max - 1));
  }
  return w;
}

/** Ports of an app signature: `any` resolves to 1–65535 at compile, so this is a plain range test. */
function portOk(sig: Signature, port: number | undefined): boolean {
  if (port === undefined) return true;
  for (const r of sig.ports) if (port >= r.from && port <= r.to) return true;
  return false;
}

function listHolds(l: BufferList, b: Uint8Array, meter: RegexMeter, owner: number, tx: AppTx, ds: AppVerifyContext['datasets']): boolean {
  const data = l.transforms.length === 0 ? b : applyTransforms(b, l.transforms);
  if (data === null) return false;
  if (l.bsize !== undefined && !uintHolds(l.bsize, data.length)) return false;
  // byte_test/byte_jump `dce` on the stub data read in the PDU's byte order (Suricata sets
  // DETECT_CI_FLAGS_DCE_LE/BE only when inspecting dce_stub_data).
  const dceLittle = l.buffer === 'dcerpc.stub_data' && tx.dceLittleEndian === true;
  if (l.datasets === undefined) return matchConditions(l.conditions, data, data.length, meter, owner, dceLittle);
  // set/unset recorded by this list are dropped again when the list does not match after all
  const mark = ds?.mark() ?? 0;
  if (datasetsHold(l.datasets, data, ds) && matchConditions(l.conditions, data, data.length, meter, owner, dceLittle)) return true;
  ds?.rollback(mark);
  return false;
}

function datasetsHold(specs: readonly DatasetSpec[], data: Uint8Array, ds: AppVerifyContext['datasets']): boolean {
  for (const s of specs) {
    if (ds === undefined) {
      // no store: every set is empty
      if (s.cmd !== 'isnotset' || data.length === 0) return false;
      continue;
    }
    // The compiler gives every kept spec its set's type (resolveDatasets).
    if (!ds.test(s, s.type === undefined ? null : datasetKey(s.type, data), data.length === 0)) return false;
  }
  return true;
}

/** `ip.src` / `ip.dst` of a tx direction: to_server packets come from the client. */
function addrBuffer(buffer: string, dir: AppDirection, ctx: AppVerifyContext): Uint8Array | null {
  if (ctx.ip === undefined) return null;
  const src = buffer === 'ip.src';
  return ctx.ip(dir === 'to_server' ? src : !src);
}

const SPECS = new Map<string, AppKeywordSpec | undefined>();
/** The keyword's spec from the registry (a signature keeps only plain data). */
function keywordSpec(protocol: string, name: string): AppKeywordSpec | undefined {
  const key = `${protocol}:${name}`;
  if (SPECS.has(key)) return SPECS.get(key);
  const spec = APP_PROTOCOLS.find((p) => p.name === protocol)?.keywords.find((k) => k.name === name);
  SPECS.set(key, spec);
  return spec;
}

/** Whether the tx raised `ev` (lower case; parsers name some events in upper case, as libhtp). */
function hasEvent(events: readonly string[], ev: string): boolean {
  for (const e of events) if (e.length === ev.length && e.toLowerCase() === ev) return true;
  return false;
}

/** The buffer can no longer appear (AppTx.bufferFinal; protocols without it: the direction is complete). */
function bufferFinal(tx: AppTx, name: string, dir: AppDirection): boolean {
  return tx.bufferFinal !== undefined ? tx.bufferFinal(name, dir) : tx.complete(dir);
}

/** See VerifyAppFn in ./types.ts. */
export const verifyAppSignature: VerifyAppFn = (sig: Signature, tx: AppTx, dir: AppDirection, ctx: AppVerifyContext, meter: RegexMeter = UNMETERED): boolean => {
  resetCaptures();
  if (sig.direction !== dir) return false;
  if (!portOk(sig, ctx.serverPort)) return false;
  ctx.datasets?.begin();
  if (sig.flowbits.length > 0 && !flowbitsHold(sig.flowbits, ctx.flowbits)) return false;
  if (!ruleStateHolds(sig, ctx)) return false;
  if (sig.appLayerProtocol !== undefined && !appLayerProtocolHolds(sig.appLayerProtocol, ctx.appProto)) return false;
  if (sig.dsize !== undefined) {
    const n = ctx.packetLength;
    if (n === undefined || n < sig.dsize.min || n > sig.dsize.max) return false;
  }
  if (sig.appEvents !== undefined) {
    for (const ev of sig.appEvents) if (!hasEvent(tx.events, ev)) return false;
  }
  if (sig.appKeywords !== undefined) {
    for (const k of sig.appKeywords) {
      const spec = keywordSpec(k.protocol, k.name);
      if (spec === undefined || !spec.match(tx, k.dir ?? dir, k.value, ctx.tsUs ?? 0)) return false;
    }
  }
  if (sig.buffers !== undefined) {
    for (const l of sig.buffers) {
      // a transactional rule (`=>`) reads each buffer in its own direction
      const ld = l.dir ?? dir;
      if (l.multi) {
        let any = false;
        let present = false;
        for (const inst of tx.multiBuffer(l.buffer, ld)) {
          present = true;
          if (l.absent === 'only') break;
          if (listHolds(l, inst, meter, sig.id, tx, ctx.datasets)) {
            any = true;
            break;
          }
        }
        if (!any && !(l.absent !== undefined && !present && bufferFinal(tx, l.buffer, ld))) return false;
      } else {
        const b = l.buffer === 'ip.src' || l.buffer === 'ip.dst' ? addrBuffer(l.buffer, ld, ctx) : tx.buffer(l.buffer, ld);
        if (b === null) {
          // absent: decided once the buffer is final (before, it may still come)
          if (l.absent === undefined || !bufferFinal(tx, l.buffer, ld)) return false;
        } else if (l.absent === 'only' || !listHolds(l, b, meter, sig.id, tx, ctx.datasets)) return false;
      }
    }
  }
  if (sig.conditions.length > 0) {
    const st = ctx.stream;
    if (st === undefined) return false;
    const len = Math.min(ctx.streamLength ?? st.length, st.length);
    if (!matchConditions(sig.conditions, st, len, meter, sig.id)) {
      // Suricata inspects the raw stream in chunks from its raw progress, not from the stream
      // start: absolute positions (offset, depth, startswith, endswith) anchor on the data not
      // yet inspected. The window is where this direction resumed after the peer last spoke.
      const from = ctx.rawFrom ?? 0;
      if (from <= 0 || from >= len || !matchConditions(sig.conditions, st.subarray(from, len), len - from, meter, sig.id)) return false;
    }
  }
  return true;
};

/**
 * A signature's first buffer list when it starts with a content confined to a fixed window
 * (offset/depth or startswith, not relative): on an append-only buffer, once the buffer reaches
 * the window's end those bytes never change, so a miss there is a miss for good.
 */
interface AnchoredHead {
  readonly list: BufferList;
  readonly content: ContentCondition;
  readonly lo: number;
  readonly hi: number;
}
const HEADS = new WeakMap<Signature, AnchoredHead | null>();
function anchoredHead(sig: Signature): AnchoredHead | null {
  let h = HEADS.get(sig);
  if (h !== undefined) return h;
  h = null;
  const l = sig.buffers?.[0];
  const c = l?.conditions[0];
  if (l !== undefined && !l.multi && l.absent === undefined && l.transforms.length === 0 && c?.kind === 'content') {
    if (!c.negated && c.vars === undefined && c.distance === undefined && c.within === undefined && !c.endswith) {
      const lo = c.offset ?? 0;
      let hi = c.depth !== undefined ? lo + c.depth : Infinity;
      if (c.startswith) hi = Math.min(hi, lo + c.bytes.length);
      if (Number.isFinite(hi)) h = { list: l, content: c, lo, hi };
    }
  }
  HEADS.set(sig, h);
  return h;
}

/** Append-only buffer names per protocol (AppBufferSpec.appendOnly). */
const APPEND_ONLY = new Map<string, ReadonlySet<string>>();
function appendOnly(protocol: string, buffer: string): boolean {
  let set = APPEND_ONLY.get(protocol);
  if (set === undefined) {
    const p = APP_PROTOCOLS.find((x) => x.name === protocol);
    set = new Set(p === undefined ? [] : p.buffers.filter((b) => b.appendOnly === true).map((b) => b.name));
    APPEND_ONLY.set(protocol, set);
  }
  return set.has(buffer);
}

/**
 * After verifyAppSignature said no: true when the signature can never match this tx in `dir`
 * however the tx goes on. Its first list (always evaluated, and before any regex) is on a buffer
 * the tx's protocol declares append-only and starts with a content confined to a fixed window
 * that the buffer already covers without the content in it. The detect stage then stops
 * verifying it on this tx (ET's `http.response_body; content:"200"; startswith;` rules were
 * re-verified on every chunk of every response body).
 */
export function missedForGood(sig: Signature, tx: AppTx, dir: AppDirection, protocol: string): boolean {
  const h = anchoredHead(sig);
  if (h === null || !appendOnly(protocol, h.list.buffer)) return false;
  const b = tx.buffer(h.list.buffer, h.list.dir ?? dir);
  if (b === null || b.length < h.hi) return false;
  return findBytes(b, h.hi, h.content.bytes, h.content.nocase, h.lo) < 0;
}
