/** Suricata / Snort .rules importer: every supported keyword, and the skip reasons. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRule, splitOptions } from '../../../src/signatures/rules.js';
import { compileRuleset } from '../../../src/signatures/compile.js';
import { resolvePorts } from '../../../src/signatures/ports.js';
import { latin1 } from '../../../src/signatures/content.js';
import { verifySignature, EMPTY_CONTEXT } from '../../../src/signatures/verify.js';
import { defaultConfig } from '../../../src/config/types.js';
import type { Draft, Skip } from '../../../src/signatures/parsed.js';
import type { ContentCondition, Signature } from '../../../src/signatures/types.js';

const vars = defaultConfig().databases.vars;

function ok(opts: string, header = 'alert tcp $EXTERNAL_NET any -> $HOME_NET 80'): Draft {
  const r = parseRule(`${header} (msg:"t"; ${opts} sid:1000001; rev:3;)`, 't.rules', 7, { vars });
  assert.ok(!('reason' in r), `skipped: ${'reason' in r ? r.message : ''}`);
  return r;
}
function skip(opts: string, header = 'alert tcp $EXTERNAL_NET any -> $HOME_NET 80'): Skip {
  const r = parseRule(`${header} (msg:"t"; ${opts} sid:1000001;)`, 't.rules', 7, { vars });
  assert.ok('reason' in r, 'expected a skip');
  return r;
}
function sigOf(d: Draft): Signature {
  return { ...d.sig, ports: resolvePorts(d.portSpec, [{ from: 80, to: 80 }]), fastPatternIndex: -1 };
}
const content = (d: Draft, i: number) => d.sig.conditions[i] as ContentCondition;
const run = (d: Draft, payload: string) => verifySignature(sigOf(d), latin1(payload), payload.length, EMPTY_CONTEXT);

test('header: action, ports, variables, lists, ranges, negation', () => {
  const d = ok('content:"x";', 'alert tcp $EXTERNAL_NET any -> $HOME_NET [80,8000:8002,!8001]');
  assert.deepEqual(resolvePorts(d.portSpec, []), [{ from: 80, to: 80 }, { from: 8000, to: 8000 }, { from: 8002, to: 8002 }]);
  assert.equal(d.sig.action, 'alert');
  assert.equal(ok('content:"x";', 'drop tcp any any -> any 22').sig.action, 'block');
  const h = ok('content:"x";', 'alert tcp any any -> any $HTTP_PORTS');
  assert.ok(resolvePorts(h.portSpec, []).some((r) => r.from <= 8080 && r.to >= 8080));
  // any → the any-port set, never 65535 ports; negation applies within it
  const a = ok('content:"x";', 'alert tcp any any -> any any');
  assert.deepEqual(resolvePorts(a.portSpec, [{ from: 22, to: 22 }, { from: 80, to: 80 }]), [{ from: 22, to: 22 }, { from: 80, to: 80 }]);
  const n = ok('content:"x";', 'alert tcp any any -> any !80');
  assert.deepEqual(resolvePorts(n.portSpec, [{ from: 22, to: 22 }, { from: 80, to: 80 }]), [{ from: 22, to: 22 }]);
  // a wide range is intersected with the any-port set
  const w = ok('content:"x";', 'alert tcp any any -> any 1024:');
  assert.deepEqual(resolvePorts(w.portSpec, [{ from: 80, to: 80 }, { from: 8080, to: 8080 }]), [{ from: 8080, to: 8080 }]);
  assert.equal(ok('content:"x";').sig.source.line, 7);
  assert.equal(ok('content:"x";').sig.rev, 3);
});

test('flow: direction, established, stream', () => {
  const a = ok('flow:established,to_server; content:"x";');
  assert.equal(a.sig.direction, 'to_server');
  assert.equal(a.sig.established, true);
  const b = ok('flow:from_server,not_established,only_stream; content:"x";', 'alert tcp $HOME_NET 80 -> any any');
  assert.equal(b.sig.direction, 'to_client');
  assert.equal(b.sig.established, false);
  assert.equal(b.sig.stream, 'only');
  assert.deepEqual(resolvePorts(b.portSpec, []), [{ from: 80, to: 80 }]); // the server's (source) port
  assert.equal(ok('flow:to_client,no_stream; content:"x";', 'alert tcp any 80 -> any any').sig.stream, 'no');
  assert.equal(ok('flow:from_client; content:"x";').sig.direction, 'to_server');
});

test('metadata keywords: msg sid rev classtype priority metadata reference', () => {
  const d = ok('content:"x"; classtype:web-application-attack; reference:cve,2021-44228; reference:url,example.org/a; metadata:signature_severity Critical, created_at 2021_12_10;');
  assert.equal(d.sig.id, 1000001);
  assert.equal(d.sig.name, 't');
  assert.equal(d.sig.category, 'web-application-attack');
  assert.deepEqual(d.sig.references, ['CVE-2021-44228', 'https://example.org/a']);
  assert.equal(d.sig.severity, 'critical');
  assert.equal(ok('content:"x"; priority:3;').sig.severity, 'low');
  assert.equal(ok('content:"x"; classtype:attempted-admin;').sig.severity, 'high');
});

test('content with |hex|, escapes, negation and modifiers', () => {
  const d = ok('content:"GET|20|/a\\;b"; nocase; offset:0; depth:20; content:!"evil"; distance:0; within:10; content:"z"; fast_pattern; startswith; content:"end"; endswith;');
  const c0 = content(d, 0);
  assert.deepEqual([...c0.bytes], [...latin1('GET /a;b')]);
  assert.equal(c0.nocase, true);
  assert.equal(c0.offset, 0);
  assert.equal(c0.depth, 20);
  const c1 = content(d, 1);
  assert.equal(c1.negated, true);
  assert.equal(c1.distance, 0);
  assert.equal(c1.within, 10);
  assert.equal(content(d, 2).fastPattern, true);
  assert.equal(content(d, 2).startswith, true);
  assert.equal(content(d, 3).endswith, true);
  assert.equal(ok('content:"a"; fast_pattern:only;').sig.conditions.length, 1);
  assert.equal(ok('content:"abcdef"; fast_pattern:1,3;').sig.conditions.length, 1);
});

test('pcre modifiers i s m x and R; buffer modifiers select their buffer (K has none: skipped)', () => {
  const d = ok('content:"A"; pcre:"/^b c # comment\n/Rxi";');
  assert.equal(run(d, 'ABC'), true);
  assert.equal(run(d, 'AxBC'), false);
  assert.equal(run(ok('content:"a"; pcre:"/a.b/s";'), 'a\nb'), true);
  assert.equal(run(ok('content:"a"; pcre:"/a.b/";'), 'a\nb'), false);
  assert.equal(run(ok('content:"a"; pcre:"/^b$/m";'), 'a\nb\nc'), true);
  assert.equal(run(ok('content:"a"; pcre:"/\\Ab/";'), 'ab'), false);
  assert.equal(run(ok('content:"a"; pcre:"/[[:digit:]]{3}/";'), 'a123'), true);
  assert.equal(ok('pcre:"/a/U";').sig.buffers?.[0]?.buffer, 'http.uri');
  assert.equal(ok('pcre:"/a/H";').sig.buffers?.[0]?.buffer, 'http.header');
  assert.equal(skip('pcre:"/a/K";').reason, 'pcre: buffer modifier /K');
  assert.equal(run(ok('content:"x"; pcre:"/(?i)ab/";'), 'xAB'), true);
});

test('PCRE constructs JavaScript lacked now load and match with PCRE semantics', () => {
  // possessive: a++ never gives an 'a' back, so a++a cannot match
  assert.equal(run(ok('content:"x"; pcre:"/xa++a/";'), 'xaaa'), false);
  assert.equal(run(ok('content:"x"; pcre:"/xa++b/";'), 'xaaab'), true);
  // atomic group
  assert.equal(run(ok('content:"x"; pcre:"/x(?>a+)a/";'), 'xaaa'), false);
  assert.equal(run(ok('content:"x"; pcre:"/x(?>a+)b/";'), 'xaab'), true);
  // inline option in the middle
  assert.equal(run(ok('content:"x"; pcre:"/xa(?i)b/";'), 'xaB'), true);
  assert.equal(run(ok('content:"x"; pcre:"/xa(?i)b/";'), 'xAb'), false);
  // backreference (the group is numbered although plain groups do not capture by default)
  assert.equal(run(ok('content:"q"; pcre:"/q(\\w)\\1/";'), 'qzz'), true);
  assert.equal(run(ok('content:"q"; pcre:"/q(\\w)\\1/";'), 'qzy'), false);
  // \g{-1} relative backreference, recursion, conditional
  assert.equal(run(ok('content:"q"; pcre:"/q(\\w)\\g{-1}/";'), 'qkk'), true);
  assert.equal(run(ok('content:"("; pcre:"/^(\\((?:[^()]|(?1))*\\))$/";'), '(a(b)c)'), true);
  assert.equal(run(ok('content:"("; pcre:"/^(\\((?:[^()]|(?1))*\\))$/";'), '(a(b c)'), false);
  assert.equal(run(ok('content:"k"; pcre:"/^(<)?k(?(1)>|)$/";'), '<k>'), true);
  assert.equal(run(ok('content:"k"; pcre:"/^(<)?k(?(1)>|)$/";'), '<k'), false);
  // \G anchors at the start offset: for a relative pcre, the detection pointer
  assert.equal(run(ok('content:"ab"; pcre:"/\\Gc/R";'), 'abc'), true);
  assert.equal(run(ok('content:"ab"; pcre:"/\\Gc/R";'), 'abxc'), false);
  // lookbehind (fixed length alternatives of different lengths are allowed by PCRE2)
  assert.equal(run(ok('content:"="; pcre:"/(?<=id|name)=\\d/";'), 'name=1'), true);
  assert.equal(run(ok('content:"="; pcre:"/(?<=id|name)=\\d/";'), 'nam=1'), false);
  // \Q...\E
  assert.equal(run(ok('content:"a"; pcre:"/\\Qa.b\\E/";'), 'a.b'), true);
  assert.equal(run(ok('content:"a"; pcre:"/\\Qa.b\\E/";'), 'axb'), false);
});

test('Suricata-only modifiers A E G O B', () => {
  // A: anchored at the start of the subject (or the detection pointer with R)
  assert.equal(run(ok('content:"b"; pcre:"/b/A";'), 'ab'), false);
  assert.equal(run(ok('content:"a"; pcre:"/b/AR";'), 'ab'), true);
  // E: $ only at the very end, not before a final newline
  assert.equal(run(ok('content:"a"; pcre:"/a$/";'), 'a\n'), true);
  assert.equal(run(ok('content:"a"; pcre:"/a$/E";'), 'a\n'), false);
  // G: ungreedy — a relative content right after a lazy match
  const g = ok('content:"<"; pcre:"/<.+>/G"; content:">"; distance:0; within:1;');
  assert.equal(run(g, '<a>>'), true);
  assert.equal(run(ok('content:"<"; pcre:"/<.+>/"; content:">"; distance:0; within:1;'), '<a>>'), false);
  // O and B are accepted; O selects the override limits
  const o = ok('content:"a"; pcre:"/ab/O";');
  const pc = o.sig.conditions[1];
  assert.equal(pc?.kind === 'pcre' && pc.overrideLimits, true);
  assert.equal(run(ok('content:"a"; pcre:"/ab/B";'), 'ab'), true);
  assert.equal(skip('pcre:"/a/UB";').reason, 'invalid rule');
  assert.equal(skip('pcre:"/a/BU";').reason, 'invalid rule');
  assert.equal(skip('pcre:"/a/UH";').reason, 'invalid rule');
  assert.equal(skip('pcre:"/a/L";').reason, 'invalid rule');
});

test('a regex PCRE2 refuses is an invalid rule with PCRE2\'s message and the offset', () => {
  const s = skip('content:"a"; pcre:"/a(b/";');
  assert.equal(s.reason, 'invalid rule');
  assert.match(s.message, /missing closing parenthesis at offset 3/);
  assert.match(skip('content:"a"; pcre:"/a{2,1}/";').message, /numbers out of order in \{\} quantifier at offset 5/);
  assert.match(skip('content:"a"; pcre:"/(?<=a+)b/";').message, /lookbehind assertion is not fixed length at offset/);
});

test('dsize, flags, isdataat, byte_test, byte_jump', () => {
  assert.deepEqual(ok('dsize:>10;').sig.dsize, { min: 11, max: Number.MAX_SAFE_INTEGER });
  assert.deepEqual(ok('dsize:100<>200;').sig.dsize, { min: 101, max: 199 });
  assert.deepEqual(ok('dsize:<5;').sig.dsize, { min: 0, max: 4 });
  assert.deepEqual(ok('dsize:7;').sig.dsize, { min: 7, max: 7 });
  assert.deepEqual(ok('flags:S,12;').sig.flags, { mask: 2, mode: '', ignore: 192 });
  assert.deepEqual(ok('flags:+SA;').sig.flags, { mask: 18, mode: '+', ignore: 0 });
  assert.deepEqual(ok('flags:FPU*;').sig.flags, { mask: 41, mode: '*', ignore: 0 });
  assert.deepEqual(ok('content:"a"; isdataat:!2,relative;').sig.conditions[1], { kind: 'isdataat', offset: 2, relative: true, negated: true });
  assert.deepEqual(ok('content:"a"; byte_test:2,!=,0x10,1,relative,little;').sig.conditions[1], {
    kind: 'byte_test', count: 2, op: '=', negated: true, value: 16, offset: 1, relative: true, endian: 'little',
  });
  const bt = ok('content:"a"; byte_test:3,>,99,0,relative,string,dec;').sig.conditions[1];
  assert.equal(bt?.kind === 'byte_test' && bt.stringBase, 10);
  const bj = ok('content:"a"; byte_jump:4,0,relative,little,multiplier 2,align,post_offset -1;').sig.conditions[1];
  assert.deepEqual(bj, { kind: 'byte_jump', count: 4, offset: 0, relative: true, endian: 'little', multiplier: 2, postOffset: -1, align: true, fromBeginning: false });
  assert.equal(skip('content:"a"; byte_test:4,>,1,0,dce,little;').reason, 'invalid rule');
  const be = ok('content:"a"; byte_extract:4,0,len,relative; content:"b"; distance:len;').sig;
  assert.deepEqual(be.conditions[1], { kind: 'byte_extract', count: 4, offset: 0, relative: true, endian: 'big', multiplier: 1, align: 0, slot: 0, name: 'len' });
  assert.deepEqual(be.conditions[2]?.kind === 'content' && be.conditions[2].vars, { distance: 0 });
  assert.equal(be.varCount, 1);
  assert.equal(skip('content:"a"; content:"b"; distance:nosuchvar;').reason, 'invalid rule');
});

test('threshold, detection_filter, flowbits', () => {
  assert.deepEqual(ok('content:"a"; threshold: type limit, track by_src, count 1, seconds 60;').sig.rateFilter, { type: 'limit', track: 'by_src', count: 1, seconds: 60 });
  assert.deepEqual(ok('content:"a"; detection_filter:track by_dst, count 5, seconds 30;').sig.rateFilter, { type: 'detection_filter', track: 'by_dst', count: 5, seconds: 30 });
  assert.equal(skip('content:"a"; threshold: type limit, track by_rule, count 1, seconds 60;').reason, 'threshold track by_rule');
  const f = ok('content:"a"; flowbits:set,ET.x; flowbits:isset,a|b; flowbits:isnotset,c&d; flowbits:unset,e; flowbits:toggle,g; flowbits:noalert;').sig.flowbits;
  assert.deepEqual(f, [
    { op: 'set', names: ['ET.x'], mode: 'all' },
    { op: 'isset', names: ['a', 'b'], mode: 'any' },
    { op: 'isnotset', names: ['c', 'd'], mode: 'all' },
    { op: 'unset', names: ['e'], mode: 'all' },
    { op: 'toggle', names: ['g'], mode: 'all' },
    { op: 'noalert', names: [], mode: 'all' },
  ]);
});

test('standalone noalert; means flowbits:noalert (a rule that only sets a bit raises no event)', () => {
  assert.deepEqual(ok('content:"a"; flowbits:set,x; noalert;').sig.flowbits, [
    { op: 'set', names: ['x'], mode: 'all' },
    { op: 'noalert', names: [], mode: 'all' },
  ]);
});

test('skips with reasons: protocols, sticky buffers, outbound, bidirectional, invalid', () => {
  assert.equal(skip('content:"a";', 'alert udp any any -> any 53').reason, 'protocol udp');
  // tls and ssh are registered protocols now: a protocol and a buffer nobody registers
  assert.equal(skip('content:"a";', 'alert modbus any any -> any any').reason, 'protocol modbus');
  assert.equal(skip('krb5.cname; content:"a";').reason, 'unsupported keyword krb5.cname');
  assert.equal(skip('content:"a";', 'alert tcp $HOME_NET any -> $EXTERNAL_NET 80').reason, 'outbound rule (this host as client)');
  // Offline rules-only scans load them (RulesOptions.outboundRules), direction and ports as written.
  const out = parseRule('alert tcp $HOME_NET any -> $EXTERNAL_NET 80 (content:"a"; sid:9;)', 't.rules', 1, { vars, outboundRules: true });
  assert.ok(!('reason' in out));
  assert.equal(out.sig.direction, 'to_server');
  assert.deepEqual(resolvePorts(out.portSpec, []), [{ from: 80, to: 80 }]);
  assert.equal(skip('content:"a";', 'alert tcp any any <> any 80').reason, 'bidirectional rule (<>)');
  const bad = skip('content:"|4G|";');
  assert.equal(bad.reason, 'invalid rule');
  assert.match(bad.message, /^t\.rules:7: bad hex digit 'G'/);
  assert.equal(skip('nocase; content:"a";').reason, 'invalid rule');
  assert.equal(skip('content:"abcd"; depth:2;').reason, 'invalid rule');
  assert.equal(skip('content:"a";', 'alert tcp any any -> any $NOPE').reason, 'undefined port variable');
  assert.equal(skip('flowint:n,=,1;').reason, 'flowint/xbits in a rule without payload conditions');
  assert.equal(skip('flow:established,only_frag; content:"a";').reason, 'flow only_frag');
});

test('splitOptions keeps quoted semicolons and escapes', () => {
  assert.deepEqual(splitOptions('msg:"a;b"; content:"x\\;y"; nocase;'), [
    { name: 'msg', value: '"a;b"' },
    { name: 'content', value: '"x\\;y"' },
    { name: 'nocase', value: undefined },
  ]);
});

test('compile: any → union of the other rules ports; skipped counts per reason; duplicate sid', () => {
  const text = [
    'alert tcp any any -> any 80 (msg:"a"; content:"aaa"; sid:1;)',
    'alert tcp any any -> any 445 (msg:"b"; content:"bbb"; sid:2;)',
    'alert tcp any any -> any any (msg:"c"; content:"ccc"; sid:3;)',
    'alert udp any any -> any 53 (msg:"d"; content:"d"; sid:4;)',
    'alert tcp any any -> any 80 (msg:"e"; content:"e"; sid:1;)',
    '# alert tcp any any -> any 80 (msg:"disabled"; content:"x"; sid:5;)',
  ].join('\n');
  const rs = compileRuleset([{ file: 'x.rules', text }], { vars });
  assert.deepEqual(rs.ports, [80, 445]);
  assert.deepEqual(rs.signatures.find((s) => s.id === 3)?.ports, [{ from: 80, to: 80 }, { from: 445, to: 445 }]);
  assert.deepEqual(rs.stats.skipped, { 'duplicate sid': 1, 'protocol udp': 1 });
  assert.equal(rs.stats.loaded, 3);
  // to_server: one group for 80 and 445; to_client: sid 3 alone (any any -> any any reads both ways).
  assert.deepEqual(rs.groups.map((g) => g.key), ['to_server:80', 'to_server:445', 'to_client:80,445']);
  const configured = compileRuleset([{ file: 'x.rules', text }], { vars, anyPorts: [22] });
  assert.deepEqual(configured.ports, [22, 80, 445]);
});

test('a header that reads the same both ways matches both directions (a to_client twin), unless flow or buffers fix one', () => {
  const both = ok('content:"x";', 'alert tcp any any -> any any');
  assert.equal(both.sig.direction, 'to_server');
  assert.equal(both.bothDirections, true);
  assert.equal(ok('content:"x";', 'alert tcp 10.0.0.0/8 any -> 10.0.0.0/8 any').bothDirections, true);
  assert.equal(ok('flow:to_server; content:"x";', 'alert tcp any any -> any any').bothDirections, undefined);
  assert.equal(ok('flow:established; content:"x";', 'alert tcp any any -> any any').bothDirections, true);
  assert.equal(ok('content:"x";', 'alert tcp any any -> any 80').bothDirections, undefined);
  assert.equal(ok('content:"x";', 'alert tcp $EXTERNAL_NET any -> $HOME_NET any').bothDirections, undefined);
  assert.equal(ok('http.uri; content:"x";', 'alert http any any -> any any').bothDirections, undefined);
  const text = [
    'alert tcp any any -> any any (msg:"both"; content:"ccc"; sid:3;)',
    'alert tcp any any -> any 80 (msg:"one"; content:"aaa"; sid:1;)',
    'alert tcp any any -> any any (msg:"dup"; content:"ddd"; sid:3;)',
  ].join('\n');
  const rs = compileRuleset([{ file: 'x.rules', text }], { vars });
  const threes = rs.signatures.filter((s) => s.id === 3);
  assert.deepEqual(threes.map((s) => s.direction).sort(), ['to_client', 'to_server']);
  assert.ok(threes.every((s) => s.name === 'both'), 'the duplicate sid and its twin are dropped together');
  assert.equal(rs.stats.loaded, 2);
  assert.deepEqual(rs.stats.skipped, { 'duplicate sid': 1 });
  assert.equal(rs.signatures.filter((s) => s.id === 1).length, 1);
});

test('pass rules load with their Suricata action (they never alert: the alert queue applies them)', () => {
  const d = ok('content:"a";', 'pass tcp any any -> any 80');
  assert.equal(d.sig.ruleAction, 'pass');
  assert.equal(d.sig.action, 'alert');
  assert.equal(ok('content:"a";', 'drop tcp any any -> any 80').sig.ruleAction, 'drop');
  assert.equal(ok('content:"a";', 'rejectsrc tcp any any -> any 80').sig.ruleAction, 'rejectsrc');
});

test('header-only rules: IP-only (ports any, no negation, no direction) or per packet, with the header as written', () => {
  const ip = ok('', 'alert tcp 192.168.1.0/24 any -> any any');
  assert.equal(ip.sig.headerOnly, 'iponly');
  assert.equal(ip.bothDirections, undefined);
  assert.deepEqual(ip.sig.header?.src, { pos4: [[0xc0a80100, 0xc0a801ff]], pos6: [], neg4: [], neg6: [] });
  assert.equal(ip.sig.header.dst, null);
  // flowbits:set and flow state keep a rule IP-only (Suricata's IP-only compatible keywords)
  assert.equal(ok('flowbits:set,x; flow:established;', 'alert tcp any any -> any any').sig.headerOnly, 'iponly');
  // a negated address (Suricata: "like IP-only"), ports or a direction: every packet
  assert.equal(ok('', 'alert tcp 10.0.0.1 any -> !10.0.0.1 any').sig.headerOnly, 'packet');
  const ported = ok('', 'alert tcp any any -> any 80');
  assert.equal(ported.sig.headerOnly, 'packet');
  assert.deepEqual(ported.sig.header?.dstPorts, [{ from: 80, to: 80 }]);
  assert.equal(ported.sig.header.srcPorts, null);
  const dir = ok('flow:to_client;', 'alert tcp any any -> any any');
  assert.equal(dir.sig.headerOnly, 'packet');
  assert.equal(dir.sig.header?.dir, 'to_client');
  assert.equal(skip('', 'alert tcp !any any -> any any').reason, 'invalid rule');
  assert.equal(skip('', 'alert tcp 300.1.1.1 any -> any any').reason, 'invalid rule');
  // app-layer-protocol without payload conditions is Suricata's protocol-detection-only rule: a
  // per-packet header rule (never IP-only) that keeps its keyword, which the engine evaluates on
  // the packets ending a direction's protocol detection, so it cannot alert on every flow
  const pd = ok('app-layer-protocol:tls; prefilter;', 'alert tcp any any -> any any');
  assert.equal(pd.sig.headerOnly, 'packet');
  assert.deepEqual(pd.sig.appLayerProtocol, { names: ['tls'], negated: false });
  // negated (it would also match flows whose detection failed, which the engine does not report)
  // or 'failed': skipped
  assert.equal(skip('app-layer-protocol:!tls;', 'alert tcp any any -> any any').reason, 'no payload, dsize or flags condition');
  assert.equal(skip('app-layer-protocol:failed;', 'alert tcp any any -> any any').reason, 'no payload, dsize or flags condition');
});

test('compile: header-only rules stay out of the port groups and the intercepted ports', () => {
  const r = compileRuleset([{ file: 't.rules', text: 'alert tcp any any -> any any (sid:1;)\nalert tcp any any -> any 8080 (sid:2;)\nalert tcp any any -> any 80 (content:"x"; sid:3;)\n' }], { vars: defaultConfig().databases.vars });
  assert.equal(r.signatures.length, 3);
  assert.deepEqual(r.ports, [80]);
  for (const g of r.groups) for (const p of g.patterns) assert.equal(r.signatures[p.signature]!.id, 3);
  for (const g of r.groups) assert.deepEqual(g.unanchored, []);
});
