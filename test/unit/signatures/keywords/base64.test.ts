/** base64_decode / base64_data (Suricata 7/8, BASE64_MODE_RELAX). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rule, skipped, matches } from './helpers.js';
import { decodeBase64Relax, parseBase64Decode, BASE64_DECODE_MAX } from '../../../../src/signatures/keywords/base64.js';
import { latin1 } from '../../../../src/signatures/content.js';
import { compileRuleset, chooseAppFastPattern } from '../../../../src/signatures/compile.js';

const dec = (s: string) => Buffer.from(decodeBase64Relax(latin1(s), 0, s.length)).toString('latin1');

test('RELAX decoding: padding, a trailing partial block, stop at the first invalid byte', () => {
  assert.equal(dec('SGVsbG8gV29ybGQ='), 'Hello World');
  assert.equal(dec('dGhpc2lzYXRlc3Q='), 'thisisatest');
  assert.equal(dec('dGhpc2lz'), 'thisis');
  assert.equal(dec('dGhpc2l'), 'thisi'); // partial block keeps its whole bytes
  assert.equal(dec('dGhp&c2lz'), 'thi'); // stops at '&'
  assert.equal(dec(''), '');
});

test('parse: Suricata order bytes, offset, relative; defaults', () => {
  assert.deepEqual(parseBase64Decode(undefined), { kind: 'base64_decode', bytes: BASE64_DECODE_MAX, offset: 0, relative: false });
  assert.deepEqual(parseBase64Decode('bytes 17, offset 1, relative'), { kind: 'base64_decode', bytes: 17, offset: 1, relative: true });
  assert.deepEqual(parseBase64Decode('offset 0,relative'), { kind: 'base64_decode', bytes: BASE64_DECODE_MAX, offset: 0, relative: true });
  assert.throws(() => parseBase64Decode('bytes 1, offset 2, relatve'));
  assert.equal(skipped('content:"a"; base64_data; content:"b";').reason, 'invalid rule');
});

test('base64_data: later contents inspect the decoded bytes from their start (suricata-verify base64 shape)', () => {
  const s = rule('content:"arg"; base64_decode:bytes 17, offset 1, relative; base64_data; content:"thisisatest";');
  assert.equal(matches(s, 'GET /?arg=dGhpc2lzYXRlc3Q= HTTP/1.1'), true);
  assert.equal(matches(rule('content:"arg"; base64_decode:bytes 10, offset 1, relative; base64_data; content:"test";'), 'GET /?arg=dGhpc2lzYXRlc3Q='), false);
  assert.equal(matches(rule('content:"arg"; base64_decode:bytes 17, offset 1, relative; base64_data; content:"toast";'), 'GET /?arg=dGhpc2lzYXRlc3Q='), false);
  // startswith on the decoded buffer
  const sw = rule('content:"foobar="; base64_decode:relative; base64_data; content:"|9e|"; startswith;');
  assert.equal(matches(sw, 'foobar=ngAB'), true); // 'ngAB' → 9e 00 01
  assert.equal(matches(sw, 'foobar=AJ4A'), false); // 00 9e 00: not at the start
  // Nothing decoded: no match
  assert.equal(matches(rule('content:"k="; base64_decode:relative; base64_data; content:"x";'), 'k=&&&'), false);
  // A content after base64_data is never the fast pattern (the raw stream does not contain it).
  assert.equal(rule('content:"k="; base64_decode:relative; base64_data; content:"a long decoded pattern"; fast_pattern;').conditions.findIndex((c) => c.kind === 'base64_data'), 2);
});

test('base64_data after a base64_decode in a content-modifier buffer (http_uri) continues in that buffer; never the app fast pattern', () => {
  const text = 'alert http any any -> any any (msg:"b"; content:"arg"; http_uri; base64_decode:bytes 17, offset 1, relative; base64_data; content:"thisisatest"; sid:1;)';
  const rs = compileRuleset([{ file: 'b.rules', text }], {});
  assert.deepEqual(rs.stats.problems, []);
  const s = rs.signatures[0]!;
  assert.deepEqual(s.conditions, []);
  const uri = s.buffers!.find((l) => l.buffer === 'http.uri')!;
  assert.deepEqual(uri.conditions.map((c) => c.kind), ['content', 'base64_decode', 'base64_data', 'content']);
  // the prefilter pattern is "arg" (in the raw URI), not the decoded "thisisatest"
  assert.deepEqual(s.appFastPattern, [s.buffers!.indexOf(uri), 0]);
  assert.deepEqual(chooseAppFastPattern([{ ...uri, conditions: [uri.conditions[1]!, uri.conditions[2]!, uri.conditions[3]!] }]), undefined);
  // a sticky buffer after base64_data ends it
  const t2 = 'alert http any any -> any any (msg:"c"; content:"arg"; http_uri; base64_decode:relative; base64_data; content:"x"; http.user_agent; content:"curl"; sid:2;)';
  const s2 = compileRuleset([{ file: 'c.rules', text: t2 }], {}).signatures[0]!;
  assert.deepEqual(s2.buffers!.find((l) => l.buffer === 'http.user_agent')!.conditions.map((c) => c.kind), ['content']);
  assert.deepEqual(s2.buffers!.find((l) => l.buffer === 'http.uri')!.conditions.map((c) => c.kind), ['content', 'base64_decode', 'base64_data', 'content']);
});
