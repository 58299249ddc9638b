import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrRange, parseCidr } from '../../../src/blocklist/address.js';
import {
  addElementsCommands,
  baseChainComments,
  baseChainRules,
  buildInstallBatch,
  deleteElementsCommands,
  replaceElementsCommands,
} from '../../../src/blocklist/ruleset.js';

const verbs = (cmds: Record<string, unknown>[]) => cmds.map((c) => Object.keys(c)[0]);
const objOf = (c: Record<string, unknown>) => Object.values(c)[0] as Record<string, Record<string, unknown>>;

test('install batch: only add table/set/chain, flushes only the base chains and allow sets, never bypass or iso chains', () => {
  const b = buildInstallBatch({ defaultTimeoutMs: 3600_000, allow: [cidrRange(parseCidr('127.0.0.0/8')), cidrRange(parseCidr('::1'))] });
  const text = JSON.stringify(b);
  assert.ok(!text.includes('"delete"'), 'no delete in an install');
  assert.ok(!text.includes('ruleset'), 'never flush ruleset');
  const flushed = b.filter((c) => 'flush' in c).map((c) => { const o = objOf(c); const k = Object.keys(o)[0]!; return `${k} ${String(o[k]!.name)}`; });
  assert.deepEqual(flushed.sort(), ['chain forward', 'chain input', 'chain output', 'set allow4', 'set allow6']);
  for (const c of b) {
    const o = objOf(c);
    for (const v of Object.values(o)) {
      assert.equal(v.family, 'inet');
      if ('table' in v) assert.equal(v.table, 'bulwark');
      else assert.equal(v.name, 'bulwark');
    }
  }
  const sets = b.filter((c) => 'add' in c && objOf(c).set).map((c) => objOf(c).set!);
  const b4 = sets.find((s) => s.name === 'blocked4')!;
  assert.deepEqual(b4.flags, ['timeout'], 'single addresses: a hash set (nft does not read 100k elements per operation)');
  assert.equal(b4.timeout, 3600);
  assert.deepEqual(sets.find((s) => s.name === 'blockednet6')!.flags, ['interval', 'timeout'], 'CIDRs: a small interval set');
  const canaries = b.filter((c) => 'add' in c && objOf(c).element?.name?.toString().startsWith('blocked')).map((c) => objOf(c).element!);
  assert.deepEqual(canaries.map((e) => [e.name, e.elem]), [
    ['blocked4', [{ elem: { val: '0.0.0.1', timeout: 3650 * 86400 } }]],
    ['blocked6', [{ elem: { val: '::2', timeout: 3650 * 86400 } }]],
  ]);
  const chains = b.filter((c) => 'add' in c && objOf(c).chain).map((c) => objOf(c).chain!);
  for (const n of ['bypass', 'iso_in', 'iso_out', 'iso_fwd']) {
    const ch = chains.find((c) => c.name === n);
    assert.ok(ch, `chain ${n} created`);
    assert.equal(ch.hook, undefined, `${n} is a regular chain`);
  }
  for (const n of ['input', 'forward', 'output']) {
    const ch = chains.find((c) => c.name === n)!;
    assert.equal(ch.hook, n);
    assert.equal(ch.prio, -10);
    assert.equal(ch.policy, 'accept');
  }
  assert.equal(verbs(b)[0], 'add');
});

test('migration from the interval layout: chains flushed first, then the old sets deleted and re-created', () => {
  const b = buildInstallBatch({ defaultTimeoutMs: 3600_000, migrate: true });
  const seq = b.map((c) => { const v = Object.keys(c)[0]!; const o = objOf(c); const k = Object.keys(o)[0]!; return `${v} ${k} ${typeof o[k]!.name === 'string' ? o[k]!.name : ''}`; });
  const firstDelete = seq.indexOf('delete set blocked4');
  assert.ok(firstDelete > 0);
  assert.ok(seq.slice(0, firstDelete).filter((x) => x.startsWith('flush chain')).length === 3, 'the referencing chains are emptied before the sets go');
  assert.ok(seq.indexOf('add set blocked4') > firstDelete);
  assert.ok(seq.includes('delete set blocked6'));
  assert.ok(!JSON.stringify(buildInstallBatch({ defaultTimeoutMs: 1000 })).includes('"delete"'));
});

test('install batch without allow leaves the allow sets alone', () => {
  const b = buildInstallBatch({ defaultTimeoutMs: 60_000 });
  assert.ok(!JSON.stringify(b).includes('"flush":{"set"'));
});

test('base chains: lo accept, jump bypass first, blocked-and-not-allowed drop, jump iso chain last', () => {
  const exprs = (chain: 'input' | 'forward' | 'output') => baseChainRules(chain).map((c) => JSON.stringify(objOf(c).rule!.expr));
  const input = exprs('input');
  assert.match(input[0]!, /"iif".*"lo".*accept/);
  assert.equal(input[1], JSON.stringify([{ jump: { target: 'bypass' } }]));
  assert.match(input[2]!, /"saddr".*"@blocked4".*"!=".*"saddr".*"@allow4".*drop/);
  assert.match(input[3]!, /"saddr".*"@blockednet4".*"!=".*"saddr".*"@allow4".*drop/);
  assert.match(input[4]!, /"ip6".*"saddr".*"@blocked6".*"@allow6".*drop/);
  assert.match(input[5]!, /"ip6".*"saddr".*"@blockednet6".*"@allow6".*drop/);
  for (const c of ['input', 'forward', 'output'] as const) {
    const comments = baseChainComments(c);
    assert.equal(new Set(comments).size, comments.length, `${c}: every rule has its own comment`);
    assert.ok(comments.every((x) => x.startsWith('bulwark: ')));
  }
  assert.equal(input.at(-1), JSON.stringify([{ jump: { target: 'iso_in' } }]));
  const output = exprs('output');
  assert.equal(output[2], JSON.stringify([{ match: { op: '==', left: { '&': [{ payload: { protocol: 'tcp', field: 'flags' } }, 'rst'] }, right: 'rst' } }, { goto: { target: 'iso_out' } }]), 'our RSTs skip the blocked drop but not isolation');
  assert.match(output[3]!, /"daddr".*"@blocked4"/);
  assert.equal(output.at(-1), JSON.stringify([{ jump: { target: 'iso_out' } }]));
  const fwd = exprs('forward');
  assert.equal(fwd[0], JSON.stringify([{ jump: { target: 'bypass' } }]));
  assert.equal(fwd.filter((e) => e.includes('drop')).length, 8, 'forward drops both directions, both families, addresses and CIDRs');
  assert.equal(fwd.at(-1), JSON.stringify([{ jump: { target: 'iso_fwd' } }]));
});

test('elements: one command per family, CIDRs as prefixes, timeouts in whole seconds rounded up', () => {
  const cmds = addElementsCommands([
    { address: '198.51.100.7', family: 4, timeoutMs: 1500 },
    { address: '203.0.113.0/24', family: 4, timeoutMs: 3600_000 },
    { address: '2001:db8::/64', family: 6, timeoutMs: 10_000 },
  ]);
  assert.deepEqual(cmds.map((c) => objOf(c).element!.name), ['blocked4', 'blockednet4', 'blockednet6'], 'one command per set');
  assert.deepEqual(objOf(cmds[0]!).element!.elem, [{ elem: { val: '198.51.100.7', timeout: 2 } }]);
  assert.deepEqual(objOf(cmds[1]!).element!.elem, [{ elem: { val: { prefix: { addr: '203.0.113.0', len: 24 } }, timeout: 3600 } }]);
});

test('replace is add → delete → add (works whether or not the element exists); delete is a plain delete', () => {
  assert.deepEqual(verbs(replaceElementsCommands([{ address: '198.51.100.7', family: 4, timeoutMs: 5000 }])), ['add', 'delete', 'add']);
  assert.deepEqual(verbs(deleteElementsCommands([{ address: '198.51.100.7', family: 4 }])), ['delete']);
  assert.deepEqual(deleteElementsCommands([]), []);
});
