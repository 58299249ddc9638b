/**
 * Signature verifier: evaluates the payload conditions of one signature on a buffer after the
 * automaton reported its fast pattern (contract: VerifyFn in types.ts, semantics in
 * docs/signatures.md "Matching semantics"). Pure, allocation-light, no side effects.
 *
 * Conditions run in order with a detection pointer `prev` (end of the previous content/pcre
 * match, 0 at start), like Suricata's content inspection: a relative condition that fails makes
 * the previous positive match retry at its next occurrence (bounded by RECURSION_BUDGET).
 */
import type {
  BufferList,
  ByteJumpCondition,
  ByteTestCondition,
  Condition,
  ContentCondition,
  FlowbitOp,
  PcreCondition,
  Signature,
  TcpFlagsMatch,
  VerifyContext,
  VerifyFn,
} from './types.js';
import { FOLD } from './automaton.js';
import { REGEX_NOMATCH } from '../regex/types.js';
import { UNMETERED, type RegexMeter } from '../regex/meter.js';
import { MAX_RULE_VARS, evalByteExtract, evalByteMath, readNumber, resolve } from './keywords/bytes.js';
import { evalBase64Decode } from './keywords/base64.js';
import { flowintHolds } from './keywords/flowint.js';
import { streamSizeHolds } from './keywords/stream-size.js';
import { applyTransforms } from './transforms.js';
import { uintHolds } from './options.js';
import { PCRE_CAPTURE_MAX, type PcreCapture } from './pcre.js';

/** Upper bound on backtracking steps per verify (Suricata's inspection recursion limit is 3000). */
export const RECURSION_BUDGET = 3000;

/** Whether condition `c` is evaluated relative to the detection pointer. */
export function isRelative(c: Condition): boolean {
  switch (c.kind) {
    case 'content':
      return c.distance !== undefined || c.within !== undefined;
    case 'pcre':
    case 'isdataat':
    case 'byte_test':
    case 'byte_extract':
    case 'byte_math':
    case 'base64_decode':
      return c.relative;
    case 'byte_jump':
      return c.relative && !c.fromBeginning && c.fromEnd !== true;
    case 'base64_data':
      return false;
  }
}

/** Whether `c`, when it succeeds, moves the detection pointer. */
export function movesPointer(c: Condition): boolean {
  // byte_extract/byte_math leave the pointer after the bytes they read (Suricata's buffer_offset);
  // base64_data starts a new buffer.
  return ((c.kind === 'content' || c.kind === 'pcre') && !c.negated) || c.kind === 'byte_jump' || c.kind === 'byte_extract' || c.kind === 'byte_math' || c.kind === 'base64_data';
}

/**
 * endMatters[i]: a later condition depends on where condition i matched, so all its occurrences
 * may have to be tried. Cached per conditions array (signatures are immutable after compile).
 */
const endMattersCache = new WeakMap<readonly Condition[], Uint8Array>();
function endMatters(conds: readonly Condition[]): Uint8Array {
  let m = endMattersCache.get(conds);
  if (m) return m;
  m = new Uint8Array(conds.length);
  for (let i = 0; i < conds.length; i++) {
    for (let j = i + 1; j < conds.length; j++) {
      const c = conds[j]!;
      if (isRelative(c)) {
        m[i] = 1;
        break;
      }
      if (movesPointer(c)) break;
    }
  }
  endMattersCache.set(conds, m);
  return m;
}

/** First index >= from where `pat` occurs in data[0..end), or -1. */
export function findBytes(data: Uint8Array, end: number, pat: Uint8Array, nocase: boolean, from: number): number {
  const n = pat.length;
  const last = end - n;
  if (from < 0) from = 0;
  if (!nocase) {
    if (last < from) return -1;
    const first = pat[0]!;
    if (data.length - end <= 64) {
      // The native search finds the first byte about twice as fast where it is rare; it runs to
      // the array's end, so only where that is (about) `end`.
      for (let i = from; i <= last; i++) {
        i = data.indexOf(first, i);
        if (i < 0 || i > last) return -1;
        let k = 1;
        while (k < n && data[i + k] === pat[k]) k++;
        if (k === n) return i;
      }
      return -1;
    }
    for (let i = from; i <= last; i++) {
      if (data[i] !== first) continue;
      let k = 1;
      while (k < n && data[i + k] === pat[k]) k++;
      if (k === n) return i;
    }
    return -1;
  }
  const first = FOLD[pat[0]!]!;
  for (let i = from; i <= last; i++) {
    if (FOLD[data[i]!] !== first) continue;
    let k = 1;
    while (k < n && FOLD[data[i + k]!] === FOLD[pat[k]!]) k++;
    if (k === n) return i;
  }
  return -1;
}

/** Window [start, endLimit) in which a content's match must lie, given the detection pointer. */
function contentWindow(c: ContentCondition, prev: number, length: number, slots: Float64Array): { lo: number; hi: number } {
  let lo: number;
  let hi: number;
  const v = c.vars;
  if (c.distance !== undefined || c.within !== undefined || v?.distance !== undefined || v?.within !== undefined) {
    const distance = v?.distance !== undefined ? slots[v.distance]! : c.distance;
    const within = v?.within !== undefined ? slots[v.within]! : c.within;
    lo = prev + (distance ?? 0);
    hi = within !== undefined ? lo + within : length;
  } else {
    lo = v?.offset !== undefined ? slots[v.offset]! : (c.offset ?? 0);
    const depth = v?.depth !== undefined ? slots[v.depth]! : c.depth;
    hi = depth !== undefined ? lo + depth : length;
  }
  if (c.startswith) hi = Math.min(hi, lo + c.bytes.length);
  if (lo < 0) lo = 0;
  if (hi > length) hi = length;
  return { lo, hi };
}

interface State {
  data: Uint8Array;
  length: number;
  budget: number;
  /** Runs the pcre conditions (limits, budget, counters). */
  meter: RegexMeter;
  /** Signature id, for the meter's per-signature counters. */
  owner: number;
  /** byte_extract/byte_math variables of this verify. */
  slots: Float64Array;
  /** Output of the last base64_decode on this path. */
  decoded: Uint8Array | null;
  /** byte_test/byte_jump `dce` read little endian (the buffer is DCERPC stub data of a little-endian PDU). */
  dceLittle: boolean;
  /** Index of the open-ended relative content (openEnded) whose last evaluation found no occurrence at all, else -1. */
  gone: number;
}

/** Whole-match offsets of the last pcre; read right after each exec, before recursing. */
const OVECTOR = new Int32Array(2);
/** Offsets of a pcre with capture variables: the whole match and up to PCRE_CAPTURE_MAX groups. */
const CAPTURE_OVECTOR = new Int32Array(2 * (PCRE_CAPTURE_MAX + 1));

/** One captured variable of the verification in progress. */
export interface CapturedVar {
  type: PcreCapture['type'];
  name: string;
  /** The captured bytes as latin1 text (one char per byte). */
  value: string;
}

/**
 * Captures of the verification in progress, per pcre condition: a later match of the same pcre
 * (a retry after backtracking) replaces an earlier one, so when the signature matches these are
 * the captures of its matching path. Reset by every verify; read with takeCaptures right after a
 * verify that matched (verifies do not nest).
 */
const CAPTURED = new Map<PcreCondition, CapturedVar[]>();

/** Drops the captures of an earlier verification. */
export function resetCaptures(): void {
  if (CAPTURED.size > 0) CAPTURED.clear();
}

/** The capture variables of the signature that just matched, in rule order; null when none. */
export function takeCaptures(): CapturedVar[] | null {
  if (CAPTURED.size === 0) return null;
  const out = [...CAPTURED.values()].flat();
  CAPTURED.clear();
  return out.length > 0 ? out : null;
}

/** Suricata: capture i is group i + 1; an unset or empty group sets nothing. */
function recordCaptures(c: PcreCondition, data: Uint8Array, rc: number): void {
  const caps = c.captures!;
  const out: CapturedVar[] = [];
  for (let i = 0; i < caps.length; i++) {
    const g = i + 1;
    if (g >= rc) break;
    const a = CAPTURE_OVECTOR[2 * g]!;
    const e = CAPTURE_OVECTOR[2 * g + 1]!;
    if (a < 0 || e <= a) continue;
    out.push({ type: caps[i]!.type, name: caps[i]!.name, value: latin1Text(data, a, e) });
  }
  CAPTURED.set(c, out);
}

function latin1Text(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i += 8192) s += String.fromCharCode(...b.subarray(i, Math.min(to, i + 8192)));
  return s;
}

function applyBitmask(v: number, mask: number | undefined): number {
  if (mask === undefined) return v;
  let r = Number(BigInt(Math.trunc(v)) & BigInt(mask));
  let m = mask;
  while (m !== 0 && m % 2 === 0) {
    m /= 2;
    r = Math.floor(r / 2);
  }
  return r;
}

const NO_SLOTS = new Float64Array(0);
/** Variables of the verify in progress (verifies do not nest; a rule writes a slot before reading it). */
const SCRATCH_SLOTS = new Float64Array(MAX_RULE_VARS);

export function byteTestHolds(c: ByteTestCondition, data: Uint8Array, length: number, prev: number, slots: Float64Array = NO_SLOTS, dceLittle = false): boolean {
  const offset = c.offsetVar !== undefined ? slots[c.offsetVar]! : c.offset;
  const count = c.countVar !== undefined ? slots[c.countVar]! : c.count;
  if (c.countVar !== undefined && (count < 1 || count > (c.stringBase === undefined ? 8 : 23))) return false;
  const pos = (c.relative ? prev : 0) + offset;
  const raw = readNumber(data, length, pos, count, endianOf(c, dceLittle), c.stringBase)?.value;
  if (raw === undefined) return false; // Suricata: an extraction failure never matches, negated or not
  const v = applyBitmask(raw, c.bitmask);
  const value = c.valueVar !== undefined ? slots[c.valueVar]! : c.value;
  let r: boolean;
  switch (c.op) {
    case '<':
      r = v < value;
      break;
    case '>':
      r = v > value;
      break;
    case '=':
      r = v === value;
      break;
    case '!':
      r = v !== value;
      break;
    case '<=':
      r = v <= value;
      break;
    case '>=':
      r = v >= value;
      break;
    case '&':
      r = (BigInt(Math.trunc(v)) & BigInt(Math.trunc(value))) !== 0n;
      break;
    case '^':
      r = (BigInt(Math.trunc(v)) ^ BigInt(Math.trunc(value))) !== 0n;
      break;
  }
  return c.negated ? !r : r;
}

/**
 * Suricata `dce`: little endian when the inspected buffer is the stub data of a little-endian
 * DCERPC PDU (DETECT_CI_FLAGS_DCE_LE), else big endian (the payload, other buffers).
 */
function endianOf(c: ByteTestCondition | ByteJumpCondition, dceLittle: boolean): 'big' | 'little' {
  if (c.dce !== true) return c.endian;
  return dceLittle ? 'little' : 'big';
}

/** New detection pointer after a byte_jump, or undefined when the jump fails or leaves the buffer. */
export function byteJumpTarget(c: ByteJumpCondition, data: Uint8Array, length: number, prev: number, slots: Float64Array = NO_SLOTS, dceLittle = false): number | undefined {
  // Suricata 7/8 DetectBytejumpDoMatch.
  if (length === 0) return undefined;
  const count = c.countVar !== undefined ? slots[c.countVar]! : c.count;
  if (count < 0 || count > (c.stringBase === undefined ? 8 : 23)) return undefined;
  const offset = c.offsetVar !== undefined ? slots[c.offsetVar]! : c.offset;
  let pos = offset;
  if (c.relative) {
    pos += prev;
    if (count > 0 && length - pos <= 0) return undefined; // no relative base left
  }
  let raw: number;
  let used: number;
  if (count === 0) {
    if (pos < 0 || pos > length) return undefined;
    raw = 0;
    used = 0;
  } else {
    const r = readNumber(data, length, pos, count, endianOf(c, dceLittle), c.stringBase);
    if (r === undefined) return undefined;
    raw = r.value;
    used = r.used;
  }
  let v = applyBitmask(raw, c.bitmask) * c.multiplier;
  if (c.align && v % 4 !== 0) v += 4 - (v % 4);
  v += c.postOffset;
  let target = c.fromBeginning ? v : c.fromEnd === true ? length + v : pos + used + v;
  // A jump before the buffer start lands on the start; past the end fails.
  if (target < 0) target = 0;
  if (target > length) return undefined;
  return target;
}

function evalFrom(conds: readonly Condition[], i: number, prev: number, st: State, em: Uint8Array): boolean {
  if (i === conds.length) return true;
  if (--st.budget < 0) return false;
  const c = conds[i]!;
  switch (c.kind) {
    case 'content': {
      const { lo, hi } = contentWindow(c, prev, st.length, st.slots);
      if (c.negated) {
        const found = contentFound(c, st, lo, hi);
        return !found && evalFrom(conds, i + 1, prev, st, em);
      }
      if (c.endswith) {
        const at = st.length - c.bytes.length;
        if (at < lo || st.length > hi || findBytes(st.data, st.length, c.bytes, c.nocase, at) !== at) return false;
        return evalFrom(conds, i + 1, st.length, st, em);
      }
      let at = findBytes(st.data, hi, c.bytes, c.nocase, lo);
      if (at < 0) {
        if (openEnded(c)) st.gone = i;
        return false;
      }
      while (true) {
        st.gone = -1;
        if (evalFrom(conds, i + 1, at + c.bytes.length, st, em)) return true;
        if (em[i] === 0 || st.budget < 0 || c.startswith) return false;
        if (st.gone === i + 1) {
          // The next content does not occur after this match, so not after a later one either
          // (its window only shrinks): each later occurrence fails as the first step of that
          // attempt, charged to the budget as the attempt would have been.
          do {
            at = findBytes(st.data, hi, c.bytes, c.nocase, at + 1);
            if (at < 0) return false;
          } while (--st.budget >= 0);
          return false;
        }
        at = findBytes(st.data, hi, c.bytes, c.nocase, at + 1);
        if (at < 0) return false;
      }
    }
    case 'pcre': {
      // Suricata runs a relative pcre on the buffer from the detection pointer on (so `^` anchors
      // there) and retries after a failed chain from one past the previous match's start. A limit
      // hit, an error or a skipped check is no match, negated or not (Suricata: a matching error is
      // never a match).
      const base = c.relative ? prev : 0;
      const ov = OVECTOR;
      if (c.negated) {
        const rc = st.meter.exec(c.regex, st.data, base, st.length, ov, 0, c.overrideLimits, st.owner);
        return rc === REGEX_NOMATCH && evalFrom(conds, i + 1, prev, st, em);
      }
      let from = 0;
      const cov = c.captures === undefined ? ov : CAPTURE_OVECTOR;
      while (from <= st.length - base) {
        const rc = st.meter.exec(c.regex, st.data, base, st.length, cov, from, c.overrideLimits, st.owner);
        if (rc <= 0) return false;
        if (c.captures !== undefined) recordCaptures(c, st.data, rc);
        const mStart = cov[0]!;
        const mEnd = cov[1]!;
        if (evalFrom(conds, i + 1, mEnd, st, em)) return true;
        if (em[i] === 0 || st.budget < 0) return false;
        from = mStart - base + 1;
      }
      return false;
    }
    case 'isdataat': {
      // Suricata: absolute `isdataat:N` needs a byte at N; relative needs N bytes after the
      // pointer (prev + N <= length). A variable of 100,000,000 or more never has data.
      const n = c.offsetVar !== undefined ? st.slots[c.offsetVar]! : c.offset;
      const ok = n < 100_000_000 && (c.relative ? prev + n <= st.length : n < st.length);
      return (c.negated ? !ok : ok) && evalFrom(conds, i + 1, prev, st, em);
    }
    case 'byte_test':
      return byteTestHolds(c, st.data, st.length, prev, st.slots, st.dceLittle) && evalFrom(conds, i + 1, prev, st, em);
    case 'byte_jump': {
      const t = byteJumpTarget(c, st.data, st.length, prev, st.slots, st.dceLittle);
      return t !== undefined && evalFrom(conds, i + 1, t, st, em);
    }
    case 'byte_extract': {
      const r = evalByteExtract(c, st.data, st.length, prev);
      if (r === undefined) return false;
      st.slots[c.slot] = r.value;
      return evalFrom(conds, i + 1, r.end, st, em);
    }
    case 'byte_math': {
      const count = resolve(c.count, st.slots);
      const r = evalByteMath(c, st.data, st.length, prev, count, resolve(c.rvalue, st.slots));
      if (r === undefined) return false;
      st.slots[c.slot] = r.value;
      return evalFrom(conds, i + 1, r.end, st, em);
    }
    case 'base64_decode': {
      const d = evalBase64Decode(c, st.data, st.length, prev);
      if (d.length === 0) return false;
      const saved = st.decoded;
      st.decoded = d;
      const ok = evalFrom(conds, i + 1, prev, st, em);
      st.decoded = saved;
      return ok;
    }
    case 'base64_data': {
      // The rest of the rule inspects the decoded bytes, from their start (Suricata).
      const d = st.decoded;
      if (d === null || d.length === 0) return false;
      const data = st.data;
      const length = st.length;
      st.data = d;
      st.length = d.length;
      const ok = evalFrom(conds, i + 1, 0, st, em);
      st.data = data;
      st.length = length;
      return ok;
    }
  }
}

/**
 * A relative content whose window runs from the detection pointer (plus a fixed distance) to the
 * buffer end: not found from one pointer, it is not found from any later one.
 */
function openEnded(c: ContentCondition): boolean {
  return c.distance !== undefined && c.within === undefined && c.vars === undefined && !c.startswith && !c.endswith && !c.negated;
}

function contentFound(c: ContentCondition, st: State, lo: number, hi: number): boolean {
  if (c.endswith) {
    const at = st.length - c.bytes.length;
    return at >= lo && st.length <= hi && findBytes(st.data, st.length, c.bytes, c.nocase, at) === at;
  }
  return findBytes(st.data, hi, c.bytes, c.nocase, lo) >= 0;
}

/** flowbits isset / isnotset tests (set, unset, toggle and noalert are the caller's business). */
export function flowbitsHold(ops: readonly FlowbitOp[], bits: ReadonlySet<string>): boolean {
  for (const op of ops) {
    if (op.op === 'isset') {
      const ok = op.mode === 'all' ? op.names.every((n) => bits.has(n)) : op.names.some((n) => bits.has(n));
      if (!ok) return false;
    } else if (op.op === 'isnotset') {
      const ok = op.mode === 'all' ? op.names.every((n) => !bits.has(n)) : op.names.some((n) => !bits.has(n));
      if (!ok) return false;
    }
  }
  return true;
}

/** `app-layer-protocol:`: the flow's protocol is (not) the named one; unknown yet never matches. */
export function appLayerProtocolHolds(a: { names: string[]; negated: boolean }, proto: string | undefined): boolean {
  if (proto === undefined) return false;
  const hit = a.names.includes(proto);
  return a.negated ? !hit : hit;
}

/** TCP flags test (`flags:` keyword) on one packet's flag byte; the engine calls it per packet. */
export function tcpFlagsMatch(f: TcpFlagsMatch, flags: number): boolean {
  const v = flags & ~f.ignore & 0xff;
  switch (f.mode) {
    case '':
      return v === f.mask;
    case '+':
      return (v & f.mask) === f.mask;
    case '*':
      return (v & f.mask) !== 0;
    case '!':
      return (v & f.mask) === 0;
  }
}

/**
 * Runs one condition list on `data[0, length)` with the detection pointer at 0 (a buffer list of
 * an app signature, or the raw conditions of one), with Suricata's recursion limit.
 */
export function matchConditions(conds: readonly Condition[], data: Uint8Array, length: number, meter: RegexMeter, owner: number, dceLittle = false): boolean {
  if (conds.length === 0) return true;
  // One signature's lists share its byte_extract/byte_math variables, as Suricata's byte_values do.
  const st: State = { data, length: Math.min(length, data.length), budget: RECURSION_BUDGET, meter, owner, slots: SCRATCH_SLOTS, decoded: null, dceLittle, gone: -1 };
  return evalFrom(conds, 0, 0, st, endMatters(conds));
}

/** The flow/host state tests of a signature: flowint, xbits, stream_size (flowbits: flowbitsHold). */
export function ruleStateHolds(sig: Signature, ctx: VerifyContext): boolean {
  if (sig.flowints !== undefined) {
    const vars = ctx.flowints ?? NO_FLOWINTS;
    for (const f of sig.flowints) if (!flowintHolds(f, vars)) return false;
  }
  if (sig.xbits !== undefined) {
    for (const x of sig.xbits) {
      if (x.op === 'isset' && ctx.xbits?.holds(x) !== true) return false;
      if (x.op === 'isnotset' && ctx.xbits !== undefined && !ctx.xbits.holds(x)) return false;
    }
  }
  if (sig.streamSize !== undefined) for (const s of sig.streamSize) if (!streamSizeHolds(s, ctx.streamSize)) return false;
  return true;
}

/** See VerifyFn in types.ts. */
export const verifySignature: VerifyFn = (sig: Signature, data: Uint8Array, length: number, ctx: VerifyContext, meter: RegexMeter = UNMETERED): boolean => {
  resetCaptures();
  const len = Math.min(length, data.length);
  if (sig.dsize && (len < sig.dsize.min || len > sig.dsize.max)) return false;
  if (sig.flowbits.length > 0 && !flowbitsHold(sig.flowbits, ctx.flowbits)) return false;
  if (!ruleStateHolds(sig, ctx)) return false;
  if (sig.appLayerProtocol !== undefined && !appLayerProtocolHolds(sig.appLayerProtocol, ctx.appProto)) return false;
  if (sig.conditions.length > 0) {
    const slots = sig.varCount !== undefined && sig.varCount > 0 ? SCRATCH_SLOTS : NO_SLOTS;
    const st: State = { data, length: len, budget: RECURSION_BUDGET, meter, owner: sig.id, slots, decoded: null, dceLittle: false, gone: -1 };
    if (!evalFrom(sig.conditions, 0, 0, st, endMatters(sig.conditions))) return false;
  }
  return sig.packetBuffers === undefined || packetBuffersHold(sig.packetBuffers, ctx, meter, sig.id);
};

/**
 * The packet header lists of a signature, after its payload conditions as Suricata runs its
 * packet inspection engines; a header the packet lacks (tcp.hdr of a non-TCP packet) fails.
 */
function packetBuffersHold(lists: readonly BufferList[], ctx: VerifyContext, meter: RegexMeter, owner: number): boolean {
  const get = ctx.packetHeader;
  if (get === undefined) return false;
  for (const l of lists) {
    const raw = get(l.buffer);
    if (raw === null) return false;
    const b = l.transforms.length === 0 ? raw : applyTransforms(raw, l.transforms);
    if (b === null) return false;
    if (l.bsize !== undefined && !uintHolds(l.bsize, b.length)) return false;
    if (!matchConditions(l.conditions, b, b.length, meter, owner)) return false;
  }
  return true;
}

const NO_FLOWINTS: ReadonlyMap<string, number> = new Map();

/** Convenience for tests and tools: verify with no flowbits set. */
export const EMPTY_CONTEXT: VerifyContext = { flowbits: new Set<string>() };
