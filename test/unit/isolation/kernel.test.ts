import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkKernel, parseKernelView } from '../../../src/isolation/kernel.js';
import { compileElements } from '../../../src/isolation/ruleset.js';
import type { EffectiveRule } from '../../../src/isolation/types.js';
import type { NftListOutput } from '../../../src/blocklist/types.js';

const fixtures = new URL('../../fixtures/isolation/', import.meta.url);
const load = (n: string): NftListOutput => JSON.parse(readFileSync(new URL(n, fixtures), 'utf8')) as NftListOutput;
const rules = JSON.parse(readFileSync(new URL('state-rules.json', fixtures), 'utf8')) as EffectiveRule[];

// kernel-manual.json: `nft -j list table inet bulwark` captured after the blocklist install batch and apply-manual.nft.
test('read-back of a real kernel listing matches what was written (nft rewrites ranges and protocol names)', () => {
  const v = parseKernelView(load('kernel-manual.json'));
  assert.equal(v.tablePresent, true);
  assert.deepEqual(v.dropRules, { iso_in: true, iso_out: true, iso_fwd: true });
  assert.deepEqual(v.hooked, { input: true, output: true, forward: true });
  assert.equal(v.unparsed, 0);
  assert.equal(v.rstWindow, true);
  assert.ok(v.on.ipv4 !== undefined && v.on.ipv4 > 3590);
  assert.deepEqual(v.counters.iso_dropped_in, { packets: 0, bytes: 0 });
  const expected = compileElements(rules);
  const check = checkKernel(v, expected, v.on.ipv4 * 1000);
  assert.deepEqual(check.problems, []);
  assert.equal(check.matches, true);
});

test('differences are reported: missing elements, drifted deadline, lifted kernel', () => {
  const v = parseKernelView(load('kernel-manual.json'));
  const fewer = compileElements(rules.slice(1));
  const c1 = checkKernel(v, fewer, (v.on.ipv4 ?? 0) * 1000);
  assert.equal(c1.matches, false);
  assert.ok(c1.problems.some((p) => /^set iso_xout4 has \d+ elements, expected \d+/.test(p)), c1.problems.join('; '));
  assert.equal(c1.missing, false);
  const c2 = checkKernel(v, compileElements(rules), 60_000);
  assert.ok(c2.problems.some((p) => p.startsWith('iso_on ipv4 expires in')));
  const lifted = parseKernelView(load('kernel-lifted.json'));
  assert.deepEqual(lifted.on, {});
  assert.deepEqual(lifted.dropRules, { iso_in: false, iso_out: false, iso_fwd: false });
  assert.equal(lifted.hooked.input, true);
  const c3 = checkKernel(lifted, compileElements(rules), 60_000);
  assert.equal(c3.missing, true);
  assert.ok(c3.problems.includes('iso_on has no ipv4 element (deadline gone)'));
  assert.equal(checkKernel(parseKernelView({ nftables: [] }), compileElements([]), 1000).problems[0], 'table inet bulwark is missing');
});

test('other tables in a ruleset listing are ignored', () => {
  const foreign: NftListOutput = {
    nftables: [
      { table: { family: 'ip', name: 'filter', handle: 1 } },
      { chain: { family: 'ip', table: 'filter', name: 'input', handle: 1, type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
      { rule: { family: 'ip', table: 'filter', chain: 'input', handle: 2, expr: [{ jump: { target: 'iso_in' } }] } },
      { set: { family: 'ip', table: 'filter', name: 'iso_on', type: 'nf_proto', handle: 3, elem: [{ elem: { val: 'ipv4', expires: 100 } }] } },
    ],
  };
  const v = parseKernelView(foreign);
  assert.equal(v.tablePresent, false);
  assert.equal(v.hooked.input, false);
  assert.deepEqual(v.on, {});
  const both = parseKernelView({ nftables: [...foreign.nftables, ...load('kernel-manual.json').nftables] });
  assert.equal(both.tablePresent, true);
  assert.deepEqual(both.dropRules, { iso_in: true, iso_out: true, iso_fwd: true });
});
