/**
 * One automaton pass per stream byte: the app-layer raw-stream patterns of a direction
 * (AppRuleset.rawStream) are copied into the automaton of each port group of that direction, so
 * the stream prefilter's scan also finds them and the app layer does not scan the same bytes a
 * second time (engine/detect/prefilter.ts reports them, engine/detect/app-tx.ts consumes them).
 *
 * Exactness: the app layer's raw scan has its own automaton state, which restarts at other points
 * than the prefilter's (protocol probing replays held bytes; an upgrade replays its leftover).
 * The raw automaton's state is a function of the merged automaton's state (an Aho-Corasick state
 * is the longest suffix of the input in the trie; the raw trie is part of the merged one, so the
 * raw state is the longest suffix of the merged state's string in the raw trie). `rawState` maps
 * every merged state to it; the app layer takes the prefilter's hits of a chunk only when the
 * mapped start state equals its own raw state, which makes them exactly the hits its own scan
 * would have found (same positions, same order), and otherwise scans as before.
 */
import { buildDfa, countStates, STATE_MASK } from './automaton.js';
import type { Dfa, GroupPattern, PortGroup } from './types.js';

/**
 * rawState[k] = the raw automaton's state (× 256) for merged state k: the homomorphism
 * raw.next[m(s) + b] = m(merged.next[s + b]), propagated breadth-first from the roots.
 * O(states × 256), like the scan tables (built by the compile worker).
 */
export function rawStateMap(merged: Dfa, raw: Dfa): Int32Array {
  const map = new Int32Array(merged.stateCount).fill(-1);
  const queue = new Int32Array(merged.stateCount);
  map[0] = 0;
  queue[0] = 0;
  let head = 0;
  let tail = 1;
  const mn = merged.next;
  const rn = raw.next;
  while (head < tail) {
    const s = queue[head++]! * 256;
    const r = map[s >>> 8]!;
    for (let b = 0; b < 256; b++) {
      // Both tables carry output marks in bit 31 (automaton.ts markOutputs).
      const k = (mn[s + b]! & STATE_MASK) >>> 8;
      if (map[k] === -1) {
        map[k] = rn[r + b]! & STATE_MASK;
        queue[tail++] = k;
      }
    }
  }
  return map;
}

/**
 * Replaces the automaton of each group with one that also holds `raw[direction]`'s patterns
 * (pattern ids from patterns.length on are raw.patterns, see PortGroup.raw), in group order while
 * the states this adds stay within `budget` (each group gets its own copy of the raw patterns;
 * the groups left out keep the separate raw pass). Returns the states added.
 */
export function mergeRawPatterns(groups: readonly PortGroup[], raw: Readonly<Record<'to_server' | 'to_client', { dfa: Dfa; patterns: GroupPattern[] }>>, budget: number): number {
  let added = 0;
  for (const g of groups) {
    const r = raw[g.direction];
    if (r.patterns.length === 0) continue;
    const all = [...g.patterns, ...r.patterns];
    const extra = countStates(all) - g.dfa.stateCount;
    if (added + extra > budget) continue;
    const dfa = buildDfa(all);
    g.dfa = dfa;
    g.raw = { patterns: r.patterns, rawState: rawStateMap(dfa, r.dfa) };
    added += extra;
  }
  return added;
}
