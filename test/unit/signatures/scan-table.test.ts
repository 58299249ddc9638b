/**
 * Compact scan tables (src/signatures/scan-table.ts): the byte-class table must give, for every
 * state and every byte, the transition of the automaton's own table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDfa } from '../../../src/signatures/automaton.js';
import { classScanTable } from '../../../src/signatures/scan-table.js';

test('class scan table: every (state, byte) entry equals the automaton transition, output mark included', () => {
  let seed = 11;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  for (let round = 0; round < 30; round++) {
    // Letters of both cases, digits, binary bytes: a few distinct bytes per set, as app buffers have.
    const alphabet = Array.from({ length: 3 + rnd(40) }, () => [0x00, 0x0d, 0x41, 0x5a, 0x61, 0x7a, 0x2f, 0x90, 0xff][rnd(9)]! + rnd(6));
    const patterns = Array.from({ length: 1 + rnd(12) }, () => ({ bytes: Uint8Array.from({ length: 1 + rnd(8) }, () => alphabet[rnd(alphabet.length)]!) }));
    const dfa = buildDfa(patterns);
    const ct = classScanTable(dfa, patterns)!;
    assert.ok(ct.shift < 8, 'few distinct bytes: rows narrower than 256');
    assert.equal(ct.table.length, dfa.stateCount << ct.shift);
    for (let k = 0; k < dfa.stateCount; k++) {
      for (let b = 0; b < 256; b++) {
        const v = dfa.next[k * 256 + b]!;
        assert.equal(ct.table[(k << ct.shift) | ct.cls[b]!], ((v & 0x7fffffff) >>> 8) | (v < 0 ? 0x8000 : 0), `round ${round}, state ${k}, byte ${b}`);
      }
    }
  }
  assert.equal(classScanTable({ next: new Int32Array(0), outStart: new Int32Array(0x8002), stateCount: 0x8001 }, []), null);
});
