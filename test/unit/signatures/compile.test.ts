import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRuleset, chooseFastPattern } from '../../../src/signatures/compile.js';
import { latin1 } from '../../../src/signatures/content.js';
import type { ContentCondition } from '../../../src/signatures/types.js';

function synthetic(n: number): string {
  let seed = 7;
  const rnd = (k: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % k;
  };
  const alpha = 'abcdefghijklmnopqrstuvwxyz0123456789/_-.';
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    let a = '';
    let b = '';
    for (let k = 0; k < 6 + rnd(12); k++) a += alpha[rnd(alpha.length)]!;
    for (let k = 0; k < 3 + rnd(6); k++) b += alpha[rnd(alpha.length)]!;
    const port = [80, 443, 445, 8080, 21, 25, 3306, 6379][rnd(8)]!;
    lines.push(`alert tcp $EXTERNAL_NET any -> $HOME_NET ${port} (msg:"synthetic ${i}"; flow:established,to_server; content:"${a}"; ${rnd(2) ? 'nocase; ' : ''}content:"${b}"; distance:0; sid:${1_000_000 + i}; rev:1;)`);
  }
  return lines.join('\n');
}

test('compiling 20,000 rules takes ≤ 10 s and stays within the memory bound', () => {
  const rs = compileRuleset([{ file: 'synthetic.rules', text: synthetic(20_000) }], { vars: { HOME_NET: 'any', EXTERNAL_NET: 'any' } });
  assert.equal(rs.stats.loaded, 20_000);
  assert.ok(rs.stats.compileMs < 10_000, `${rs.stats.compileMs} ms`);
  assert.ok((rs.stats.states ?? 0) <= 262_144);
  console.log(`# 20,000 synthetic rules: ${rs.stats.compileMs} ms, ${rs.stats.states ?? 0} states, ${(rs.stats.memoryBytes / 2 ** 20).toFixed(1)} MiB, ${rs.groups.length} groups`);
});

test('compile is deterministic (same input → same ruleset, file order irrelevant)', () => {
  const a = 'alert tcp any any -> any 80 (msg:"a"; content:"aaaa"; sid:1;)';
  const b = 'alert tcp any any -> any 81 (msg:"b"; content:"bbbb"; sid:2;)';
  const r1 = compileRuleset([{ file: 'a.rules', text: a }, { file: 'b.rules', text: b }], { now: () => 0 });
  const r2 = compileRuleset([{ file: 'b.rules', text: b }, { file: 'a.rules', text: a }], { now: () => 0 });
  assert.deepEqual(r1.signatures.map((s) => s.id), r2.signatures.map((s) => s.id));
  assert.deepEqual(r1.groups.map((g) => g.key), r2.groups.map((g) => g.key));
  assert.deepEqual(r1.groups.map((g) => [...g.dfa.next]), r2.groups.map((g) => [...g.dfa.next]));
  assert.deepEqual(r1.ports, [80, 81]);
  assert.equal(r1.groupByPort.toServer[80], 0);
  assert.equal(r1.groupByPort.toServer[81], 1);
  assert.equal(r1.groupByPort.toServer[82], -1);
});

test('fast pattern: the given fast_pattern, else the longest positive content; none → unanchored', () => {
  const c = (t: string, o: Partial<ContentCondition> = {}): ContentCondition => ({ kind: 'content', bytes: latin1(t), nocase: false, negated: false, startswith: false, endswith: false, fastPattern: false, ...o });
  assert.equal(chooseFastPattern([c('GET '), c('/cgi-bin/test.cgi'), c('x')]), 1);
  assert.equal(chooseFastPattern([c('GET ', { fastPattern: true }), c('/cgi-bin/test.cgi')]), 0);
  assert.equal(chooseFastPattern([c('aaaaaaaaaaaaaaaaaaaa', { negated: true }), c('ab')]), 1);
  assert.equal(chooseFastPattern([c('x', { negated: true })]), -1);
  const rs = compileRuleset([{ file: 'x.rules', text: 'alert tcp any any -> any 80 (msg:"d"; dsize:>1000; sid:9;)\nalert tcp any any -> any 80 (msg:"e"; content:"ABCdef"; content:"|00 01|"; sid:10;)' }]);
  const g = rs.groups[0]!;
  assert.deepEqual(g.unanchored, [0]);
  assert.equal(g.patterns.length, 1);
  assert.equal(g.patterns[0]!.nocase, false); // case-sensitive with letters: engine re-checks
  assert.equal(g.patterns[0]!.length, 6);
});

test('long contents are cut to maxPatternLength in the automaton but verified in full', () => {
  const long = 'A'.repeat(10) + 'B'.repeat(40);
  const rs = compileRuleset([{ file: 'x.rules', text: `alert tcp any any -> any 80 (msg:"l"; content:"${long}"; sid:11;)` }], { maxPatternLength: 16 });
  assert.equal(rs.groups[0]!.patterns[0]!.length, 16);
  assert.equal(rs.groups[0]!.dfa.stateCount, 17);
});

test('state limit refuses an oversized ruleset with BULWARK_ERR_LIMIT', () => {
  assert.throws(() => compileRuleset([{ file: 's.rules', text: synthetic(200) }], { vars: { HOME_NET: 'any', EXTERNAL_NET: 'any' }, maxTotalStates: 100 }), /automaton states/);
});
