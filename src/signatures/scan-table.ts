/**
 * Compact scan tables: the stream prefilter's hot loop is bound by one dependent table load per
 * byte, mostly cache misses into the automaton's 1 KiB rows. A Uint16 table (state index in bits
 * 0-14, bit 15 set on transitions into a state with output) halves the bytes each row takes, so
 * more of the automaton stays in cache. With the ET Open automaton (13.7k states) it scans the
 * bench capture's TCP payloads ~6 % faster than the Int32 sign-bit table (Dfa.next with its
 * output marks), whole packets (more varied bytes, more of the table touched) ~35 %, in half the
 * memory. Automata over 32,768 states keep the Int32 table.
 */
import type { Dfa } from './types.js';
import { FOLD, STATE_MASK } from './automaton.js';

/** Largest automaton a compact table can index (15 bits of state). */
export const COMPACT_MAX_STATES = 0x8000;

/**
 * t[k*256 + b] = next state index of state k on byte b, | 0x8000 when that state has output;
 * null over COMPACT_MAX_STATES states. O(states × 256): the compile worker builds it
 * (PortGroup.scan16) so the engine's setRuleset does not.
 */
export function compactScanTable(dfa: Pick<Dfa, 'next' | 'outStart' | 'stateCount'>): Uint16Array | null {
  const { next, outStart, stateCount } = dfa;
  if (stateCount > COMPACT_MAX_STATES) return null;
  const flag = new Uint16Array(stateCount);
  for (let k = 0; k < stateCount; k++) if (outStart[k + 1]! !== outStart[k]!) flag[k] = 0x8000;
  // Shared memory, as the automaton: the workers of a sharded scan read one copy.
  const t = new Uint16Array(new SharedArrayBuffer(next.length * 2));
  for (let i = 0; i < next.length; i++) {
    const k = (next[i]! & STATE_MASK) >>> 8;
    t[i] = k | flag[k]!;
  }
  return t;
}

/**
 * A compact table over byte classes: t[(k << shift) | cls[b]] = next state index of state k on
 * byte b, | 0x8000 when that state has output. The classes are exact: every byte no pattern has
 * (folded) leads each state to the root, so they share class 0; an upper-case letter shares its
 * lower-case letter's column (the automaton folds case). App buffer automata use few distinct
 * bytes (ET's http bodies: ~70), so rows of 128 Uint16 instead of 256 Int32 make a table ~4x
 * smaller (file.data 4 MB -> 1 MB), and far more of it stays in cache during a walk. Null over
 * COMPACT_MAX_STATES states.
 */
export interface ClassScanTable {
  readonly table: Uint16Array;
  readonly cls: Uint8Array;
  readonly shift: number;
}

export function classScanTable(dfa: Pick<Dfa, 'next' | 'outStart' | 'stateCount'>, patterns: readonly { bytes: Uint8Array }[]): ClassScanTable | null {
  const { next, stateCount } = dfa;
  if (stateCount > COMPACT_MAX_STATES) return null;
  const cls = new Uint8Array(256);
  let n = 1;
  for (const p of patterns) {
    for (const b of p.bytes) {
      const f = FOLD[b]!;
      if (cls[f] === 0) cls[f] = n++;
    }
  }
  for (let b = 0x41; b <= 0x5a; b++) cls[b] = cls[b + 0x20]!;
  let shift = 0;
  while (1 << shift < n) shift++;
  const table = new Uint16Array(stateCount << shift);
  for (let k = 0; k < stateCount; k++) {
    for (let b = 0; b < 256; b++) {
      const v = next[k * 256 + b]!;
      table[(k << shift) | cls[b]!] = ((v & STATE_MASK) >>> 8) | (v < 0 ? 0x8000 : 0);
    }
  }
  return { table, cls, shift };
}
