import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDfa } from '../../../src/signatures/automaton.js';
import { latin1 } from '../../../src/signatures/content.js';
import { mergeRawPatterns, rawStateMap } from '../../../src/signatures/raw-merge.js';
import { compileRuleset } from '../../../src/signatures/compile.js';
import { rulesetMatches } from '../../../src/signatures/reference.js';
import type { GroupPattern, PortGroup } from '../../../src/signatures/types.js';

const pat = (s: string, signature: number): GroupPattern => {
  const bytes = latin1(s);
  return { signature, length: bytes.length, nocase: true, bytes };
};

/** Deterministic pseudo-random bytes over a small alphabet, so patterns occur often. */
function noise(n: number, seed: number, alphabet: string): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = alphabet.charCodeAt((x >>> 16) % alphabet.length);
  }
  return out;
}

test('rawStateMap: the merged state maps to the raw automaton state at every byte, and the raw outputs are the same, in the same order', () => {
  const group = ['GET ', 'abab', 'ba', 'xyz', 'Host:'].map((s, i) => pat(s, i));
  const raw = ['ab', 'bab', 'aab', 'zz', 'ost', 'b'].map((s, i) => pat(s, 100 + i));
  const rawDfa = buildDfa(raw);
  const merged = buildDfa([...group, ...raw]);
  const map = rawStateMap(merged, rawDfa);
  assert.equal(map.length, merged.stateCount);
  const data = noise(4000, 7, 'abzABostxyGH: ');
  let m = 0;
  let r = 0;
  for (let i = 0; i < data.length; i++) {
    m = merged.next[m + data[i]!]! & 0x7fffffff;
    r = rawDfa.next[r + data[i]!]! & 0x7fffffff;
    assert.equal(map[m >>> 8], r, `state at byte ${i}`);
    const fromMerged: number[] = [];
    for (let j = merged.outStart[m >>> 8]!; j < merged.outStart[(m >>> 8) + 1]!; j++) {
      const id = merged.outList[j]!;
      if (id >= group.length) fromMerged.push(raw[id - group.length]!.signature);
    }
    const fromRaw: number[] = [];
    for (let j = rawDfa.outStart[r >>> 8]!; j < rawDfa.outStart[(r >>> 8) + 1]!; j++) fromRaw.push(raw[rawDfa.outList[j]!]!.signature);
    assert.deepEqual(fromMerged, fromRaw, `outputs at byte ${i}`);
  }
});

test('mergeRawPatterns: raw patterns join the groups of their direction within the budget', () => {
  const mk = (direction: 'to_server' | 'to_client', pats: string[]): PortGroup => {
    const patterns = pats.map((s, i) => pat(s, i));
    return { key: direction, direction, dfa: buildDfa(patterns), patterns, unanchored: [] };
  };
  const rawPats = { to_server: [pat('QUIT', 9)], to_client: [] as GroupPattern[] };
  const raw = { to_server: { dfa: buildDfa(rawPats.to_server), patterns: rawPats.to_server }, to_client: { dfa: buildDfa([]), patterns: rawPats.to_client } };
  const gs = [mk('to_server', ['USER']), mk('to_client', ['220 '])];
  const before = gs[1]!.dfa;
  assert.equal(mergeRawPatterns(gs, raw, 1000), 4);
  assert.equal(gs[0]!.dfa.stateCount, 1 + 4 + 4);
  assert.equal(gs[0]!.raw?.patterns, rawPats.to_server);
  assert.equal(gs[1]!.raw, undefined, 'nothing to merge in that direction');
  assert.equal(gs[1]!.dfa, before);
  // Over budget: the group keeps its own automaton (the app layer keeps its raw pass).
  const tight = [mk('to_server', ['USER'])];
  assert.equal(mergeRawPatterns(tight, raw, 3), 0);
  assert.equal(tight[0]!.raw, undefined);
  assert.equal(tight[0]!.dfa.stateCount, 5);
});

test('compileRuleset merges an app rule\'s raw-stream fast pattern into the stream group, which still finds only its own signatures', () => {
  const rs = compileRuleset([
    {
      file: 'r.rules',
      text: [
        'alert tcp any any -> any 25 (msg:"stream"; content:"EVIL"; sid:1;)',
        'alert smtp any any -> any any (msg:"raw"; flow:to_server; content:"QUIT"; sid:2;)',
      ].join('\n'),
    },
  ], { vars: { HOME_NET: 'any', EXTERNAL_NET: 'any' } });
  const g = rs.groups.find((x) => x.direction === 'to_server')!;
  assert.ok(g.raw !== undefined);
  assert.deepEqual(g.raw.patterns.map((p) => rs.signatures[p.signature]!.id), [2]);
  assert.equal(g.raw.rawState.length, g.dfa.stateCount);
  // The reference fast path (port group → verify) ignores the merged raw patterns.
  assert.deepEqual(rulesetMatches(rs, 'to_server', 25, latin1('QUIT EVIL')), [1]);
  // The states the merge adds are counted.
  assert.equal(rs.stats.states, g.dfa.stateCount + rs.app!.rawStream!.to_server.dfa.stateCount + rs.app!.rawStream!.to_client.dfa.stateCount + rs.app!.prefilters.reduce((a, p) => a + p.dfa.stateCount, 0));
});
