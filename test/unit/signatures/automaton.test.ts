import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDfa, countStates, scanDfa, foldBytes, STATE_MASK } from '../../../src/signatures/automaton.js';
import { latin1 } from '../../../src/signatures/content.js';

function hits(patterns: string[], input: string | Uint8Array): string[] {
  const dfa = buildDfa(patterns.map((p) => ({ bytes: latin1(p) })));
  const data = typeof input === 'string' ? latin1(input) : input;
  const out: string[] = [];
  scanDfa(dfa, data, data.length, (p, end) => out.push(`${patterns[p]!}@${end}`));
  return out.sort();
}

/** Naive folded search: the expected answer, computed without an automaton. */
function naive(patterns: string[], input: string): string[] {
  const hay = Buffer.from(foldBytes(latin1(input)));
  const out: string[] = [];
  patterns.forEach((p) => {
    const needle = Buffer.from(foldBytes(latin1(p)));
    for (let i = 0; i + needle.length <= hay.length; i++) if (hay.subarray(i, i + needle.length).equals(needle)) out.push(`${p}@${i + needle.length}`);
  });
  return out.sort();
}

test('overlapping patterns all reported (classic he/she/his/hers)', () => {
  const pats = ['he', 'she', 'his', 'hers'];
  assert.deepEqual(hits(pats, 'ushers'), ['he@4', 'hers@6', 'she@4']);
  assert.deepEqual(hits(pats, 'ushers'), naive(pats, 'ushers'));
});

test('patterns nested in each other and repeated', () => {
  const pats = ['a', 'aa', 'aaa', 'ab'];
  assert.deepEqual(hits(pats, 'aaab'), naive(pats, 'aaab'));
  assert.equal(hits(pats, 'aaab').length, 3 + 2 + 1 + 1);
});

test('nocase folding: upper-case input and upper-case patterns meet', () => {
  assert.deepEqual(hits(['jndi:'], '${JNDI:ldap'), ['jndi:@7']);
  assert.deepEqual(hits(['SELECT'], 'xx select yy'), ['SELECT@9']);
  assert.deepEqual(hits(['MiXeD'], 'mixedMIXED'), ['MiXeD@10', 'MiXeD@5']);
  // Non-letters are not folded: '[' (0x5B) and '{' (0x7B) stay distinct.
  assert.deepEqual(hits(['a['], 'a{ a['), ['a[@5']);
});

test('patterns at the very start and end of the buffer', () => {
  assert.deepEqual(hits(['GET ', 'HTTP/1.1'], 'GET / HTTP/1.1'), ['GET @4', 'HTTP/1.1@14']);
  assert.deepEqual(hits(['x'], 'x'), ['x@1']);
});

test('empty input reports nothing; empty pattern list scans fine', () => {
  assert.deepEqual(hits(['abc'], ''), []);
  assert.deepEqual(hits([], 'abc'), []);
});

test('binary bytes including 0x00 and 0xFF', () => {
  const pats = ['\x00\x00', '\xffSMB', '\xfe'];
  const input = 'x\x00\x00\x00\xffSMB\xfe';
  assert.deepEqual(hits(pats, input), naive(pats, input));
  assert.equal(hits(pats, input).length, 2 + 1 + 1);
});

test('random differential against naive search', () => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alpha = 'abAB\x00';
  for (let round = 0; round < 200; round++) {
    const pats: string[] = [];
    for (let k = 0; k < 1 + rnd(6); k++) {
      let p = '';
      for (let j = 0; j < 1 + rnd(4); j++) p += alpha[rnd(alpha.length)]!;
      pats.push(p);
    }
    let input = '';
    for (let j = 0; j < rnd(40); j++) input += alpha[rnd(alpha.length)]!;
    assert.deepEqual(hits(pats, input), naive(pats, input), `patterns ${JSON.stringify(pats)} input ${JSON.stringify(input)}`);
  }
});

test('state count is exact and identical prefixes share states', () => {
  const pats = ['abc', 'abd', 'ABX', 'b'];
  const dfa = buildDfa(pats.map((p) => ({ bytes: latin1(p) })));
  // root + a,ab,abc,abd,abx + b = 7
  assert.equal(dfa.stateCount, 7);
  assert.equal(countStates(pats.map((p) => ({ bytes: latin1(p) }))), 7);
  assert.equal(dfa.next.length, 7 * 256);
  assert.equal(dfa.outStart.length, 8);
  for (const v of dfa.next) assert.equal((v & STATE_MASK) % 256, 0);
  // Output marks: bit 31 exactly on the transitions into states where a pattern ends.
  for (const v of dfa.next) {
    const k = (v & STATE_MASK) >>> 8;
    assert.equal(v < 0, dfa.outStart[k + 1]! > dfa.outStart[k]!);
  }
  // One shared table: scan workers read it without a copy.
  assert.ok(dfa.next.buffer instanceof SharedArrayBuffer);
});

test('deterministic: same patterns give identical arrays', () => {
  const pats = ['foo', 'bar', 'baz', 'fo'];
  const a = buildDfa(pats.map((p) => ({ bytes: latin1(p) })));
  const b = buildDfa(pats.map((p) => ({ bytes: latin1(p) })));
  assert.deepEqual(a.next, b.next);
  assert.deepEqual(a.outList, b.outList);
});

test('empty pattern is refused', () => {
  assert.throws(() => buildDfa([{ bytes: new Uint8Array(0) }]), /empty/);
});

test('states are numbered breadth-first: shallow states (visited by most bytes) take the first rows', () => {
  // Inserted so that insertion order would number deep states of the first pattern before the
  // second pattern's first byte.
  const pats = ['zyxwvu', 'a', 'Bc', 'zq', 'cb'];
  const dfa = buildDfa(pats.map((p) => ({ bytes: latin1(p) })));
  // Depth of each state = shortest path from the root (an Aho-Corasick state is a string of that length).
  const depth = new Int32Array(dfa.stateCount).fill(-1);
  depth[0] = 0;
  const queue = [0];
  for (let h = 0; h < queue.length; h++) {
    const k = queue[h]!;
    for (let b = 0; b < 256; b++) {
      const c = (dfa.next[k * 256 + b]! & STATE_MASK) >>> 8;
      if (depth[c] === -1) {
        depth[c] = depth[k]! + 1;
        queue.push(c);
      }
    }
  }
  for (let k = 1; k < dfa.stateCount; k++) assert.ok(depth[k]! >= depth[k - 1]!, `state ${k} (depth ${depth[k]}) after depth ${depth[k - 1]}`);
  // Depth 1 in byte order: a, b, c, z.
  const first = ['a', 'b', 'c', 'z'].map((ch) => (dfa.next[ch.charCodeAt(0)]! & STATE_MASK) >>> 8);
  assert.deepEqual(first, [1, 2, 3, 4]);
  // Same matches as before renumbering (outputs move with their states).
  assert.deepEqual(hits(pats, 'zyxwvuBCcbzQ'), naive(pats, 'zyxwvuBCcbzQ'));
});
