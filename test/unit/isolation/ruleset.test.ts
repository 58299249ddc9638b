import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildApplyScript, buildLiftScript, compileElements } from '../../../src/isolation/ruleset.js';
import { disjoint, subtract, cidrRange, boxKey, type Box } from '../../../src/isolation/boxes.js';
import type { EffectiveRule } from '../../../src/isolation/types.js';

const fixtures = new URL('../../fixtures/isolation/', import.meta.url);
const rules = JSON.parse(readFileSync(new URL('state-rules.json', fixtures), 'utf8')) as EffectiveRule[];

function rule(p: Partial<EffectiveRule>): EffectiveRule {
  return { id: 'device/1', source: 'device', direction: 'inbound', protocol: 'tcp', remote: ['198.51.100.20'], localPorts: [{ from: 22, to: 22 }], remotePorts: 'any', description: '', ...p };
}

test('elements: direction picks the sets, remote family picks v4/v6, ports become ranges', () => {
  const el = compileElements([
    rule({}),
    rule({ id: 'device/2', direction: 'both', protocol: 'udp', remote: ['2001:db8::/64'], localPorts: 'any', remotePorts: [{ from: 53, to: 53 }, { from: 5353, to: 5353 }] }),
    rule({ id: 'device/3', direction: 'outbound', protocol: 'icmp', remote: ['203.0.113.0/24'], localPorts: 'any', remotePorts: 'any' }),
    rule({ id: 'device/4', direction: 'outbound', protocol: 'any', remote: 'any', localPorts: 'any', remotePorts: [{ from: 123, to: 123 }] }),
  ]);
  assert.deepEqual(el.iso_xin4.texts, ['198.51.100.20 . 6 . 22 . 0-65535']);
  assert.deepEqual(el.iso_xin6.texts, ['2001:db8::/64 . 17 . 0-65535 . 53', '2001:db8::/64 . 17 . 0-65535 . 5353']);
  assert.deepEqual(el.iso_xout4.texts, ['0.0.0.0/0 . 17 . 0-65535 . 123', '0.0.0.0/0 . 6 . 0-65535 . 123', '203.0.113.0/24 . 1 . 0-65535 . 0-65535']);
  assert.deepEqual(el.iso_xout6.texts, ['2001:db8::/64 . 17 . 0-65535 . 53', '2001:db8::/64 . 17 . 0-65535 . 5353', '::/0 . 17 . 0-65535 . 123', '::/0 . 6 . 0-65535 . 123']);
});

test('overlapping exclusions are made disjoint (the kernel refuses overlaps) without changing the union', () => {
  const el = compileElements([
    rule({ id: 'a', remote: ['198.51.100.0/24'], localPorts: [{ from: 22, to: 30 }] }),
    rule({ id: 'b', remote: ['198.51.100.12'], localPorts: [{ from: 25, to: 40 }] }),
    rule({ id: 'c', remote: ['198.51.100.12'], localPorts: [{ from: 22, to: 22 }] }),
  ]);
  assert.deepEqual(el.iso_xin4.texts, ['198.51.100.0/24 . 6 . 22-30 . 0-65535', '198.51.100.12 . 6 . 31-40 . 0-65535']);
  // Brute-force check of the union on a grid of sample points.
  const a: Box = [cidrRange('198.51.100.0/24').range, [6n, 6n], [22n, 30n], [0n, 65535n]];
  const b: Box = [cidrRange('198.51.100.12').range, [6n, 6n], [25n, 40n], [0n, 65535n]];
  const pieces = disjoint([b, a], 100);
  const inside = (x: Box, p: bigint[]): boolean => x.every((r, i) => r[0] <= p[i]! && p[i]! <= r[1]);
  for (const addr of [cidrRange('198.51.100.11').range[0], cidrRange('198.51.100.12').range[0], cidrRange('198.51.101.1').range[0]]) {
    for (let port = 20n; port <= 42n; port++) {
      const p = [addr, 6n, port, 1000n];
      const want = inside(a, p) || inside(b, p);
      const hits = pieces.filter((x) => inside(x, p)).length;
      assert.equal(hits, want ? 1 : 0, `point ${p.join(',')}`);
    }
  }
  assert.deepEqual(subtract(a, a), []);
  assert.equal(subtract(b, a).length, 1);
  assert.equal(boxKey(subtract(b, a)[0]!), `${cidrRange('198.51.100.12').range[0]}-${cidrRange('198.51.100.12').range[0]}|6-6|31-40|0-65535`);
});

test('a rule expanding past the per-rule bound is refused', () => {
  const ports = Array.from({ length: 16 }, (_, i) => ({ from: 1000 + i * 2, to: 1000 + i * 2 }));
  assert.throws(() => compileElements([rule({ direction: 'both', protocol: 'any', localPorts: ports, remotePorts: ports })]), /expands to 1024 kernel elements/);
});

test('the isolation batch for a given state is exactly the reviewed script', () => {
  const script = buildApplyScript({ elements: compileElements(rules), timeLeftMs: 3_600_000, rstWindowMs: 20_000, agent: { kind: 'gid', id: 990 } });
  assert.equal(script, readFileSync(new URL('apply-manual.nft', fixtures), 'utf8'));
  const lines = script.split('\n');
  assert.ok(lines.includes('add element inet bulwark iso_on { ipv4 timeout 3600000ms, ipv6 timeout 3600000ms }'), 'deadline is the element timeout');
  assert.ok(lines.includes('add element inet bulwark iso_rst { ipv4 timeout 20000ms, ipv6 timeout 20000ms }'));
  assert.ok(lines.includes('add rule inet bulwark iso_out meta skgid 990 ct mark set 0x00004277 accept'));
  for (const c of ['in', 'out', 'fwd']) {
    assert.equal(lines.filter((l) => l.startsWith(`add rule inet bulwark iso_${c} `))[0], `add rule inet bulwark iso_${c} meta nfproto != @iso_on return`);
    assert.equal(lines.filter((l) => l.startsWith(`add rule inet bulwark iso_${c} `)).at(-1), `add rule inet bulwark iso_${c} meta nfproto @iso_on counter name iso_dropped_${c} drop`);
  }
  assert.ok(!script.includes('flush ruleset'));
  assert.ok(!/\b(add|flush|delete) (table|chain) inet bulwark (input|output|forward)\b/.test(script), 'never touches the blocklist base chains');
});

test('no RST window and no agent rule when not asked; lift script deletes only iso_* sets', () => {
  const script = buildApplyScript({ elements: compileElements([]), timeLeftMs: 500, rstWindowMs: 0, agent: { kind: 'none' } });
  assert.ok(!script.includes('add element inet bulwark iso_rst'));
  assert.ok(!script.includes('meta sk'));
  assert.ok(script.includes('iso_on { ipv4 timeout 1000ms, ipv6 timeout 1000ms }'), 'timeouts are at least 1 s');
  const lift = buildLiftScript();
  assert.equal(lift, readFileSync(new URL('lift.nft', fixtures), 'utf8'));
  for (const l of lift.trim().split('\n')) assert.match(l, /^(add table inet bulwark|(add|flush) chain inet bulwark iso_(in|out|fwd|pin|pout)|add counter inet bulwark iso_dropped_\w+|(add|delete) set inet bulwark iso_\w+.*)$/);
});
