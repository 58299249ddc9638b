/**
 * Fully expanded Aho-Corasick DFA over bytes, in one Int32Array with states pre-multiplied by 256
 * (layout: see Dfa in types.ts). Pure and deterministic: the same pattern list always gives the
 * same arrays.
 *
 * Case handling: every pattern is inserted ASCII-folded (A-Z → a-z) and the transitions on
 * upper-case bytes copy the lower-case ones, so the automaton is case-insensitive as a whole.
 * This keeps one trie for nocase and case-sensitive patterns (one state per distinct folded
 * prefix). A case-sensitive pattern with letters therefore produces candidates that differ in
 * case; callers re-check those (GroupPattern.nocase = false) and verifySignature checks every
 * content anyway.
 */
import type { Dfa } from './types.js';

export interface AutomatonPattern {
  bytes: Uint8Array;
}

/** ASCII lower-case table: FOLD[b] is b with A-Z mapped to a-z. */
export const FOLD: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) t[i] = i >= 0x41 && i <= 0x5a ? i + 0x20 : i;
  return t;
})();

export function foldBytes(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = FOLD[b[i]!]!;
  return out;
}

/** True when the pattern has no ASCII letters, so a folded match is an exact match. */
export function isCaseless(b: Uint8Array): boolean {
  for (const x of b) if ((x >= 0x41 && x <= 0x5a) || (x >= 0x61 && x <= 0x7a)) return false;
  return true;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function lcp(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Exact number of trie states (root included) the folded patterns need. */
export function countStates(patterns: readonly AutomatonPattern[]): number {
  const folded = patterns.map((p) => foldBytes(p.bytes)).sort(compareBytes);
  let states = 1;
  let prev: Uint8Array = new Uint8Array(0);
  for (const f of folded) {
    states += f.length - lcp(prev, f);
    prev = f;
  }
  return states;
}

/**
 * Builds the DFA. Pattern ids in `outList` are indexes into `patterns`. Empty patterns are a
 * programming error (they would match at every byte) and throw.
 */
export function buildDfa(patterns: readonly AutomatonPattern[]): Dfa {
  const folded = patterns.map((p, i) => {
    if (p.bytes.length === 0) throw new Error(`automaton: pattern ${i} is empty`);
    return foldBytes(p.bytes);
  });
  // Sorting gives the exact state count up front, so the table is allocated once at its final size.
  const order = folded.map((_, i) => i).sort((a, b) => compareBytes(folded[a]!, folded[b]!) || a - b);
  let stateCount = 1;
  let prev: Uint8Array = new Uint8Array(0);
  for (const i of order) {
    const f = folded[i]!;
    stateCount += f.length - lcp(prev, f);
    prev = f;
  }
  // Shared memory: the scan workers of `bulwark scan --workers` (src/engine/shard/) read the same
  // tables instead of a copy each; a SharedArrayBuffer is as fast to read as an ArrayBuffer.
  const next = new Int32Array(new SharedArrayBuffer(stateCount * 256 * 4));
  // While building the trie, next[s*256+b] = child*256 or 0 (the root is never a child).
  const own: (number[] | undefined)[] = new Array<number[] | undefined>(stateCount);
  // The trie, one depth at a time over the sorted patterns, so states are numbered breadth-first
  // (by depth, then prefix): the shallow states nearly every byte of a scan visits take the
  // table's first rows instead of being scattered over all of it as in insertion order (13.7k
  // states, 7 MB compact for ET Open), and the walk's loads that miss the caches hit far fewer
  // pages. At each depth the patterns sharing a prefix are adjacent in sorted order: a pattern
  // gets a new state unless the previous one still long enough has the same parent and byte.
  let maxLen = 0;
  for (const f of folded) if (f.length > maxLen) maxLen = f.length;
  const at = new Int32Array(folded.length); // each pattern's state (× 256) at the current depth
  let used = 1;
  for (let depth = 0; depth < maxLen; depth++) {
    let prevParent = -1;
    let prevByte = -1;
    let prevChild = 0;
    for (const i of order) {
      const f = folded[i]!;
      if (f.length <= depth) continue;
      const parent = at[i]!;
      const b = f[depth]!;
      if (parent !== prevParent || b !== prevByte) {
        prevChild = used++ * 256;
        prevParent = parent;
        prevByte = b;
        next[parent + b] = prevChild;
        // Upper-case input follows the lower-case edge (patterns are folded).
        if (b >= 0x61 && b <= 0x7a) next[parent + b - 0x20] = prevChild;
      }
      at[i] = prevChild;
      // Identical patterns are adjacent in index order (the sort's tie-break): outputs by pattern id.
      if (f.length === depth + 1) (own[prevChild >>> 8] ??= []).push(i);
    }
  }
  if (used !== stateCount) throw new Error(`automaton: ${used} trie states built, ${stateCount} counted`);
  // Breadth-first. When state s is dequeued its row still holds only trie edges (non-zero) and
  // zeros: every zero becomes the transition of its fail state, whose row is already complete
  // because fail states are shallower.
  const fail = new Int32Array(stateCount);
  const outs: (number[] | undefined)[] = new Array<number[] | undefined>(stateCount);
  const queue = new Int32Array(stateCount);
  let head = 0;
  let tail = 0;
  outs[0] = own[0];
  for (let b = 0; b < 256; b++) {
    const c = next[b]!;
    // Upper-case aliases point at the same child: enqueue it once, via its lower-case byte.
    if (c !== 0 && FOLD[b] === b) queue[tail++] = c; // fail = root (0)
  }
  while (head < tail) {
    const s = queue[head++]!;
    const k = s >>> 8;
    const f = fail[k]! * 256;
    if (s !== 0) {
      const mine = own[k];
      const inherited = outs[f >>> 8];
      outs[k] = mine && inherited ? mine.concat(inherited) : (mine ?? inherited);
    }
    for (let b = 0; b < 256; b++) {
      const c = next[s + b]!;
      if (c === 0) {
        next[s + b] = next[f + b]!;
      } else if (FOLD[b] === b) {
        fail[c >>> 8] = next[f + b]! >>> 8;
        queue[tail++] = c;
      }
    }
  }
  const outStart = new Int32Array(stateCount + 1);
  let total = 0;
  for (let k = 0; k < stateCount; k++) {
    outStart[k] = total;
    total += outs[k]?.length ?? 0;
  }
  outStart[stateCount] = total;
  const outList = new Int32Array(total);
  for (let k = 0; k < stateCount; k++) {
    const o = outs[k];
    if (o) outList.set(o, outStart[k]);
  }
  markOutputs(next, outStart, stateCount);
  return { next, outStart, outList, stateCount };
}

/** The state (× 256) a `next` entry leads to: the entry without its output mark (bit 31). */
export const STATE_MASK = 0x7fffffff;

/**
 * Sets bit 31 on every transition into a state that has output, so a scan loop tests `s < 0`
 * instead of reading outStart per byte (~20 % faster). Done in place: one table serves the
 * scanners and the reference walks (which mask with STATE_MASK), instead of a second copy of
 * each automaton (67 MB for ET Open).
 */
function markOutputs(next: Int32Array, outStart: Int32Array, stateCount: number): void {
  for (let i = 0; i < next.length; i++) {
    const to = next[i]!;
    const k = to >>> 8;
    if (k < stateCount && outStart[k + 1]! !== outStart[k]!) next[i] = to | 0x80000000;
  }
}


/**
 * Reference scan of a DFA (the engine has its own inlined loop). Calls `onMatch(patternId, end)`
 * for every pattern occurrence, `end` being the index one past its last byte.
 */
export function scanDfa(dfa: Dfa, data: Uint8Array, length: number, onMatch: (pattern: number, end: number) => void): void {
  const { next, outStart, outList } = dfa;
  let s = 0;
  const n = Math.min(length, data.length);
  for (let i = 0; i < n; i++) {
    s = next[s + data[i]!]! & STATE_MASK;
    const k = s >>> 8;
    const a = outStart[k]!;
    const e = outStart[k + 1]!;
    for (let j = a; j < e; j++) onMatch(outList[j]!, i + 1);
  }
}

/** Bytes held by a DFA's arrays. */
export function dfaBytes(dfa: Dfa): number {
  return dfa.next.byteLength + dfa.outStart.byteLength + dfa.outList.byteLength;
}
