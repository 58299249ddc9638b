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
  ByteJumpCondition,
  ByteTestCondition,
  Condition,
  ContentCondition,
  FlowbitOp,
  Signature,
  TcpFlagsMatch,
  VerifyContext,
  VerifyFn,
} from './types.js';
import { FOLD } from './automaton.js';
import { REGEX_NOMATCH } from '../regex/types.js';
import { UNMETERED, type RegexMeter } from '../regex/meter.js';

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
      return c.relative;
    case 'byte_jump':
      return c.relative && !c.fromBeginning;
  }
}

/** Whether `c`, when it succeeds, moves the detection pointer. */
export function movesPointer(c: Condition): boolean {
  return ((c.kind === 'content' || c.kind === 'pcre') && !c.negated) || c.kind === 'byte_jump';
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
function contentWindow(c: ContentCondition, prev: number, length: number): { lo: number; hi: number } {
  let lo: number;
  let hi: number;
  if (c.distance !== undefined || c.within !== undefined) {
    lo = prev + (c.distance ?? 0);
    hi = c.within !== undefined ? lo + c.within : length;
  } else {
    lo = c.offset ?? 0;
    hi = c.depth !== undefined ? lo + c.depth : length;
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
}

/** Whole-match offsets of the last pcre; read right after each exec, before recursing. */
const OVECTOR = new Int32Array(2);

/** Reads a byte_test/byte_jump number; undefined when out of bounds or not a number. */
export function extractNumber(
  data: Uint8Array,
  length: number,
  pos: number,
  count: number,
  endian: 'big' | 'little',
  stringBase: 8 | 10 | 16 | undefined,
): number | undefined {
  if (pos < 0 || pos + count > length) return undefined;
  if (stringBase !== undefined) {
    let v = 0;
    let digits = 0;
    for (let i = pos; i < pos + count; i++) {
      const ch = data[i]!;
      let d: number;
      if (ch >= 0x30 && ch <= 0x39) d = ch - 0x30;
      else if (ch >= 0x61 && ch <= 0x66) d = ch - 0x61 + 10;
      else if (ch >= 0x41 && ch <= 0x46) d = ch - 0x41 + 10;
      else break; // like strtoul: stop at the first non-digit
      if (d >= stringBase) break;
      v = v * stringBase + d;
      digits++;
    }
    return digits === 0 ? undefined : v;
  }
  let v = 0;
  if (endian === 'big') for (let i = 0; i < count; i++) v = v * 256 + data[pos + i]!;
  else for (let i = count - 1; i >= 0; i--) v = v * 256 + data[pos + i]!;
  return v;
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

export function byteTestHolds(c: ByteTestCondition, data: Uint8Array, length: number, prev: number): boolean {
  const pos = (c.relative ? prev : 0) + c.offset;
  const raw = extractNumber(data, length, pos, c.count, c.endian, c.stringBase);
  if (raw === undefined) return false; // Suricata: an extraction failure never matches, negated or not
  const v = applyBitmask(raw, c.bitmask);
  let r: boolean;
  switch (c.op) {
    case '<':
      r = v < c.value;
      break;
    case '>':
      r = v > c.value;
      break;
    case '=':
      r = v === c.value;
      break;
    case '!':
      r = v !== c.value;
      break;
    case '<=':
      r = v <= c.value;
      break;
    case '>=':
      r = v >= c.value;
      break;
    case '&':
      r = (BigInt(Math.trunc(v)) & BigInt(Math.trunc(c.value))) !== 0n;
      break;
    case '^':
      r = (BigInt(Math.trunc(v)) ^ BigInt(Math.trunc(c.value))) !== 0n;
      break;
  }
  return c.negated ? !r : r;
}

/** New detection pointer after a byte_jump, or undefined when the jump fails or leaves the buffer. */
export function byteJumpTarget(c: ByteJumpCondition, data: Uint8Array, length: number, prev: number): number | undefined {
  const pos = (c.relative ? prev : 0) + c.offset;
  const raw = extractNumber(data, length, pos, c.count, c.endian, c.stringBase);
  if (raw === undefined) return undefined;
  let v = raw * c.multiplier;
  if (c.align && v % 4 !== 0) v += 4 - (v % 4);
  const target = (c.fromBeginning ? 0 : pos + c.count) + v + c.postOffset;
  if (target < 0 || target > length) return undefined;
  return target;
}

function evalFrom(conds: readonly Condition[], i: number, prev: number, st: State, em: Uint8Array): boolean {
  if (i === conds.length) return true;
  if (--st.budget < 0) return false;
  const c = conds[i]!;
  switch (c.kind) {
    case 'content': {
      const { lo, hi } = contentWindow(c, prev, st.length);
      if (c.negated) {
        const found = contentFound(c, st, lo, hi);
        return !found && evalFrom(conds, i + 1, prev, st, em);
      }
      if (c.endswith) {
        const at = st.length - c.bytes.length;
        if (at < lo || st.length > hi || findBytes(st.data, st.length, c.bytes, c.nocase, at) !== at) return false;
        return evalFrom(conds, i + 1, st.length, st, em);
      }
      let from = lo;
      while (true) {
        const at = findBytes(st.data, hi, c.bytes, c.nocase, from);
        if (at < 0) return false;
        if (evalFrom(conds, i + 1, at + c.bytes.length, st, em)) return true;
        if (em[i] === 0 || st.budget < 0 || c.startswith) return false;
        from = at + 1;
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
      while (from <= st.length - base) {
        const rc = st.meter.exec(c.regex, st.data, base, st.length, ov, from, c.overrideLimits, st.owner);
        if (rc <= 0) return false;
        const mStart = ov[0]!;
        if (evalFrom(conds, i + 1, ov[1]!, st, em)) return true;
        if (em[i] === 0 || st.budget < 0) return false;
        from = mStart - base + 1;
      }
      return false;
    }
    case 'isdataat': {
      // Suricata: relative holds while pointer + N <= length (data may end exactly there), absolute while N < length
      const ok = c.relative ? prev + c.offset <= st.length : c.offset < st.length;
      return (c.negated ? !ok : ok) && evalFrom(conds, i + 1, prev, st, em);
    }
    case 'byte_test':
      return byteTestHolds(c, st.data, st.length, prev) && evalFrom(conds, i + 1, prev, st, em);
    case 'byte_jump': {
      const t = byteJumpTarget(c, st.data, st.length, prev);
      return t !== undefined && evalFrom(conds, i + 1, t, st, em);
    }
  }
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
export function matchConditions(conds: readonly Condition[], data: Uint8Array, length: number, meter: RegexMeter, owner: number): boolean {
  if (conds.length === 0) return true;
  const st: State = { data, length: Math.min(length, data.length), budget: RECURSION_BUDGET, meter, owner };
  return evalFrom(conds, 0, 0, st, endMatters(conds));
}

/** See VerifyFn in types.ts. */
export const verifySignature: VerifyFn = (sig: Signature, data: Uint8Array, length: number, ctx: VerifyContext, meter: RegexMeter = UNMETERED): boolean => {
  const len = Math.min(length, data.length);
  if (sig.dsize && (len < sig.dsize.min || len > sig.dsize.max)) return false;
  if (sig.flowbits.length > 0 && !flowbitsHold(sig.flowbits, ctx.flowbits)) return false;
  if (sig.appLayerProtocol !== undefined && !appLayerProtocolHolds(sig.appLayerProtocol, ctx.appProto)) return false;
  if (sig.conditions.length === 0) return true;
  const st: State = { data, length: len, budget: RECURSION_BUDGET, meter, owner: sig.id };
  return evalFrom(sig.conditions, 0, 0, st, endMatters(sig.conditions));
};

/** Convenience for tests and tools: verify with no flowbits set. */
export const EMPTY_CONTEXT: VerifyContext = { flowbits: new Set<string>() };
