/**
 * Naive reference matcher, written independently of automaton.ts and verify.ts so differential
 * tests (here and in src/engine) can compare the fast path against it:
 *
 *   referenceMatches(ruleset, dir, port, data)  — every signature that applies to the port,
 *                                                 evaluated by brute force (no automaton)
 *   rulesetMatches(ruleset, dir, port, data)    — the fast path: the group's DFA → candidates →
 *                                                 verifySignature (what the engine does)
 *
 * Both return sorted signature ids. Neither applies the flow's TCP state (established, flags,
 * stream); both apply payload conditions, packet header lists (from ctx.packetHeader), dsize,
 * flowbits tests and the verifier's flowint/xbits/stream_size tests.
 */
import type { Condition, Direction, Ruleset, Signature, VerifyContext } from './types.js';
import { scanDfa } from './automaton.js';
import { ruleStateHolds, verifySignature } from './verify.js';
import { applyTransforms } from './transforms.js';
import { uintHolds } from './options.js';
import { REGEX_NOMATCH } from '../regex/types.js';

const NO_BITS: VerifyContext = { flowbits: new Set() };

function lower(b: number): number {
  return b >= 65 && b <= 90 ? b + 32 : b;
}

function bytesAt(data: Uint8Array, pos: number, pat: Uint8Array, nocase: boolean): boolean {
  for (let k = 0; k < pat.length; k++) {
    const a = data[pos + k]!;
    const b = pat[k]!;
    if (nocase ? lower(a) !== lower(b) : a !== b) return false;
  }
  return true;
}

function readNumber(data: Uint8Array, len: number, pos: number, count: number, little: boolean, base: number | undefined): number | undefined {
  if (pos < 0 || pos + count > len) return undefined;
  const slice = Array.from(data.subarray(pos, pos + count));
  if (base !== undefined) {
    const text = String.fromCharCode(...slice);
    const digits = base === 16 ? /^[0-9a-fA-F]+/ : base === 8 ? /^[0-7]+/ : /^[0-9]+/;
    const m = digits.exec(text);
    return m ? parseInt(m[0], base) : undefined;
  }
  if (little) slice.reverse();
  return slice.reduce((v, b) => v * 256 + b, 0);
}

/** All end positions where condition `c` can succeed given detection pointer `prev` (pointer-keeping conditions return [prev]). */
function outcomes(c: Condition, data: Uint8Array, len: number, prev: number): number[] {
  switch (c.kind) {
    case 'content': {
      const n = c.bytes.length;
      const relative = c.distance !== undefined || c.within !== undefined;
      const out: number[] = [];
      for (let start = 0; start + n <= len; start++) {
        const end = start + n;
        let ok: boolean;
        if (relative) {
          const lo = prev + (c.distance ?? 0);
          ok = start >= lo && (c.within === undefined || end <= lo + c.within);
        } else {
          const lo = c.offset ?? 0;
          ok = start >= lo && (c.depth === undefined || end <= lo + c.depth);
        }
        if (c.startswith) ok = ok && start === (relative ? Math.max(0, prev + (c.distance ?? 0)) : (c.offset ?? 0));
        if (c.endswith) ok = ok && end === len;
        if (ok && bytesAt(data, start, c.bytes, c.nocase)) out.push(end);
      }
      if (c.negated) return out.length === 0 ? [prev] : [];
      return out;
    }
    case 'pcre': {
      const base = c.relative ? prev : 0;
      // Anchored at each start position: every leftmost match the verifier may try. Limit hits
      // and errors are no match (negated or not), like the verifier.
      const ov = new Int32Array(2);
      const ends: number[] = [];
      let failed = false;
      for (let from = 0; from <= len - base; from++) {
        const rc = c.regex.exec(data, base, len, ov, from, c.regex.limits, true);
        if (rc > 0) ends.push(ov[1]!);
        else if (rc !== REGEX_NOMATCH) failed = true;
      }
      if (c.negated) return ends.length === 0 && !failed ? [prev] : [];
      return ends;
    }
    case 'isdataat': {
      // Suricata: relative holds while pointer + N <= length, absolute while N < length
      const ok = c.relative ? prev + c.offset <= len : c.offset < len;
      return ok !== c.negated ? [prev] : [];
    }
    case 'byte_test': {
      const raw = readNumber(data, len, (c.relative ? prev : 0) + c.offset, c.count, c.endian === 'little', c.stringBase);
      if (raw === undefined) return [];
      let v = BigInt(raw);
      if (c.bitmask !== undefined) {
        v &= BigInt(c.bitmask);
        let m = BigInt(c.bitmask);
        while (m > 0n && (m & 1n) === 0n) {
          m >>= 1n;
          v >>= 1n;
        }
      }
      const x = BigInt(c.value);
      const r = { '<': v < x, '>': v > x, '=': v === x, '!': v !== x, '<=': v <= x, '>=': v >= x, '&': (v & x) !== 0n, '^': (v ^ x) !== 0n }[c.op];
      return r !== c.negated ? [prev] : [];
    }
    case 'byte_jump': {
      const pos = (c.relative ? prev : 0) + c.offset;
      const raw = readNumber(data, len, pos, c.count, c.endian === 'little', c.stringBase);
      if (raw === undefined) return [];
      let jump = raw * c.multiplier;
      if (c.align) jump = Math.ceil(jump / 4) * 4;
      const target = Math.max(0, (c.fromBeginning ? 0 : pos + c.count) + jump + c.postOffset);
      return target <= len ? [target] : [];
    }
    case 'byte_extract':
    case 'byte_math':
    case 'base64_decode':
    case 'base64_data':
      // Path-dependent state (variables, decoded buffer): not modelled by this breadth-first reference.
      throw new Error(`reference matcher: ${c.kind} is not modelled`);
  }
}

/** Brute-force evaluation of one signature's payload conditions, dsize and flowbits tests. */
export function referenceMatch(sig: Signature, data: Uint8Array, length: number, ctx: VerifyContext = NO_BITS): boolean {
  const len = Math.min(length, data.length);
  if (sig.dsize && !(len >= sig.dsize.min && len <= sig.dsize.max)) return false;
  for (const f of sig.flowbits) {
    const has = f.names.map((n) => ctx.flowbits.has(n));
    if (f.op === 'isset' && !(f.mode === 'all' ? has.every(Boolean) : has.some(Boolean))) return false;
    if (f.op === 'isnotset' && !(f.mode === 'all' ? has.every((h) => !h) : has.some((h) => !h))) return false;
  }
  // Flow and host state tests (flowint, xbits, stream_size) are not what this reference
  // cross-checks: the verifier's own evaluation of them applies to both paths.
  if (!ruleStateHolds(sig, ctx)) return false;
  if (!reachable(sig.conditions, data, len)) return false;
  if (sig.packetBuffers !== undefined) {
    for (const l of sig.packetBuffers) {
      const raw = ctx.packetHeader?.(l.buffer) ?? null;
      if (raw === null) return false;
      const b = l.transforms.length === 0 ? raw : applyTransforms(raw, l.transforms);
      if (b === null || (l.bsize !== undefined && !uintHolds(l.bsize, b.length))) return false;
      if (!reachable(l.conditions, b, b.length)) return false;
    }
  }
  return true;
}

/**
 * Breadth-first over the set of reachable detection pointers (no backtracking limit needed:
 * the set is bounded by the buffer length).
 */
function reachable(conds: readonly Condition[], data: Uint8Array, len: number): boolean {
  let pointers = new Set<number>([0]);
  for (const c of conds) {
    const next = new Set<number>();
    for (const p of pointers) for (const e of outcomes(c, data, len, p)) next.add(e);
    if (next.size === 0) return false;
    pointers = next;
  }
  return true;
}

/** Raw-stream signatures only: app-layer ones are inspected per transaction (verify-app.ts). */
function appliesTo(sig: Signature, direction: Direction, port: number): boolean {
  return sig.app === undefined && sig.direction === direction && sig.ports.some((r) => port >= r.from && port <= r.to);
}

/** Ids of every signature for (direction, port) that matches `data`, found without the automaton. */
export function referenceMatches(ruleset: Ruleset, direction: Direction, port: number, data: Uint8Array, length = data.length, ctx: VerifyContext = NO_BITS): number[] {
  const out: number[] = [];
  for (const s of ruleset.signatures) if (appliesTo(s, direction, port) && referenceMatch(s, data, length, ctx)) out.push(s.id);
  return out.sort((a, b) => a - b);
}

/** Ids found by the fast path: the port group's DFA, then verifySignature on each candidate. */
export function rulesetMatches(ruleset: Ruleset, direction: Direction, port: number, data: Uint8Array, length = data.length, ctx: VerifyContext = NO_BITS): number[] {
  const gi = (direction === 'to_server' ? ruleset.groupByPort.toServer : ruleset.groupByPort.toClient)[port] ?? -1;
  if (gi < 0) return [];
  const g = ruleset.groups[gi]!;
  const candidates = new Set<number>(g.unanchored);
  // (pattern ids past g.patterns are the app layer's raw-stream patterns merged in: not this path's)
  scanDfa(g.dfa, data, length, (p) => {
    if (p < g.patterns.length) candidates.add(g.patterns[p]!.signature);
  });
  const out: number[] = [];
  for (const i of candidates) {
    const s = ruleset.signatures[i]!;
    // A (merged) group can hold signatures of other ports: check the port like the engine does.
    if (!appliesTo(s, direction, port)) continue;
    if (verifySignature(s, data, length, ctx)) out.push(s.id);
  }
  return out.sort((a, b) => a - b);
}
