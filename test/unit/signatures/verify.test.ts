import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifySignature, EMPTY_CONTEXT, tcpFlagsMatch } from '../../../src/signatures/verify.js';
import { readNumber } from '../../../src/signatures/keywords/bytes.js';
import { latin1 } from '../../../src/signatures/content.js';
import { compileRegex } from '../../../src/regex/regex.js';
import type { Condition, ContentCondition, Signature } from '../../../src/signatures/types.js';

function c(text: string, o: Partial<Omit<ContentCondition, 'kind' | 'bytes'>> = {}): ContentCondition {
  return { kind: 'content', bytes: latin1(text), nocase: false, negated: false, startswith: false, endswith: false, fastPattern: false, ...o };
}

function sig(conditions: Condition[], extra: Partial<Signature> = {}): Signature {
  return {
    id: 1, rev: 1, gid: 1, name: 't', description: '', references: [], severity: 'high', category: 'x', metadata: [], action: 'alert',
    ports: [{ from: 80, to: 80 }], direction: 'to_server', conditions, fastPatternIndex: 0, flowbits: [],
    source: { file: 't', line: 1 }, ...extra,
  };
}

const v = (s: Signature, payload: string, bits: string[] = []) => verifySignature(s, latin1(payload), payload.length, { flowbits: new Set(bits) });

test('plain content, case-sensitive vs nocase', () => {
  assert.equal(v(sig([c('jndi')]), 'x${jndi:'), true);
  assert.equal(v(sig([c('jndi')]), 'x${JNDI:'), false);
  assert.equal(v(sig([c('jndi', { nocase: true })]), 'x${JnDi:'), true);
});

test('offset and depth bound the match (Suricata: depth counts from offset)', () => {
  const s = sig([c('SMB', { offset: 4, depth: 4 })]);
  assert.equal(v(s, '\x00\x00\x00\x00\xffSMB'), true); // SMB at 5..8 inside [4,8)
  assert.equal(v(s, '\x00\x00\x00\x00\xff\xffSMB'), false); // ends at 9 > 8
  assert.equal(v(s, 'SMB\x00\x00\x00\x00\x00'), false); // starts before offset
});

test('distance and within chain on the previous match, with backtracking', () => {
  const s = sig([c('A'), c('B', { distance: 0, within: 1 })]);
  assert.equal(v(s, 'AxAB'), true); // first A fails, second A succeeds
  assert.equal(v(s, 'AxBx'), false);
  const d = sig([c('GET'), c('passwd', { distance: 5 })]);
  assert.equal(v(d, 'GET /etc/passwd'), true); // passwd starts at 9 >= 3+5
  assert.equal(v(d, 'GET passwd'), false);
  const neg = sig([c('abc'), c('x', { distance: -2, within: 2 })]);
  assert.equal(v(neg, 'abxc abc'), false);
  assert.equal(v(sig([c('ab'), c('b', { distance: -1, within: 1 })]), 'ab'), true);
});

test('startswith and endswith', () => {
  assert.equal(v(sig([c('GET ', { startswith: true })]), 'GET / HTTP/1.1'), true);
  assert.equal(v(sig([c('GET ', { startswith: true })]), ' GET / HTTP/1.1'), false);
  assert.equal(v(sig([c('\r\n\r\n', { endswith: true })]), 'GET /\r\n\r\n'), true);
  assert.equal(v(sig([c('\r\n\r\n', { endswith: true })]), 'GET /\r\n\r\nbody'), false);
});

test('negated content', () => {
  const s = sig([c('USER'), c('anonymous', { negated: true, distance: 0, within: 12 })]);
  assert.equal(v(s, 'USER root\r\n'), true);
  assert.equal(v(s, 'USER anonymous\r\n'), false);
});

test('pcre absolute and relative (R), negated', () => {
  const abs = sig([c('x'), { kind: 'pcre', regex: compileRegex('\\$\\{[^}]*jndi', { caseless: true }), source: '/x/i', negated: false, relative: false, overrideLimits: false }]);
  assert.equal(v(abs, 'x ${JnDi:'), true);
  const rel = sig([c('B'), { kind: 'pcre', regex: compileRegex('^A'), source: '/^A/R', negated: false, relative: true, overrideLimits: false }]);
  // relative: the regex runs on the buffer from the end of 'B', so ^ anchors there (Suricata)
  assert.equal(v(rel, 'BA'), true);
  assert.equal(v(rel, 'BxA'), false);
  const rel2 = sig([c('B'), { kind: 'pcre', regex: compileRegex('A'), source: '/A/R', negated: false, relative: true, overrideLimits: false }]);
  assert.equal(v(rel2, 'ABC'), false);
  assert.equal(v(rel2, 'BCA'), true);
  const negp = sig([c('x'), { kind: 'pcre', regex: compileRegex('y'), source: '!/y/', negated: true, relative: false, overrideLimits: false }]);
  assert.equal(v(negp, 'xz'), true);
  assert.equal(v(negp, 'xy'), false);
});

test('isdataat absolute, relative and negated', () => {
  // Suricata (detect-engine-content-inspection.c; its DetectIsdataatTestPacket01 on "Hi all!":
  // content "Hi"; isdataat:5,relative matches, isdataat:6,relative does not): relative needs
  // N bytes after the pointer, absolute a byte at N.
  assert.equal(v(sig([c('AB'), { kind: 'isdataat', offset: 4, relative: true, negated: false }]), 'ABcde'), false);
  assert.equal(v(sig([c('AB'), { kind: 'isdataat', offset: 3, relative: true, negated: false }]), 'ABcde'), true);
  assert.equal(v(sig([c('Hi'), { kind: 'isdataat', offset: 5, relative: true, negated: false }]), 'Hi all!'), true);
  assert.equal(v(sig([c('Hi'), { kind: 'isdataat', offset: 6, relative: true, negated: false }]), 'Hi all!'), false);
  assert.equal(v(sig([{ kind: 'isdataat', offset: 6, relative: false, negated: false }]), 'Hi all!'), true);
  assert.equal(v(sig([{ kind: 'isdataat', offset: 7, relative: false, negated: false }]), 'Hi all!'), false);
  // Suricata (detect-engine-content-inspection.c): relative holds while pointer + N <= length;
  // its DetectIsdataatTestPacket01: "Hi" then isdataat:5,relative matches "Hi all!" (2 + 5 = 7).
  assert.equal(v(sig([c('AB'), { kind: 'isdataat', offset: 4, relative: true, negated: false }]), 'ABcde'), false);
  assert.equal(v(sig([c('AB'), { kind: 'isdataat', offset: 3, relative: true, negated: false }]), 'ABcde'), true);
  assert.equal(v(sig([c('AB'), { kind: 'isdataat', offset: 2, relative: true, negated: false }]), 'ABcde'), true);
  assert.equal(v(sig([c('AB'), { kind: 'isdataat', offset: 1, relative: true, negated: true }]), 'ABc'), false);
  assert.equal(v(sig([c('AB'), { kind: 'isdataat', offset: 5, relative: false, negated: false }]), 'ABcde'), false);
  assert.equal(v(sig([c('AB'), { kind: 'isdataat', offset: 4, relative: false, negated: false }]), 'ABcde'), true);
  assert.equal(v(sig([c('AB'), { kind: 'isdataat', offset: 1, relative: true, negated: true }]), 'AB'), true);
  assert.equal(v(sig([c('AB'), { kind: 'isdataat', offset: 10, relative: false, negated: false }]), 'AB'), false);
});

test('byte_test binary and string, with bitmask and negation', () => {
  const bt = (o: object) => sig([c('\xffSMB'), { kind: 'byte_test', count: 1, op: '=', negated: false, value: 0x72, offset: 0, relative: true, endian: 'big', ...o }]);
  assert.equal(v(bt({}), '\xffSMBr'), true);
  assert.equal(v(bt({}), '\xffSMBs'), false);
  assert.equal(v(bt({ negated: true }), '\xffSMBs'), true);
  assert.equal(v(bt({ count: 2, op: '>', value: 0x1000, endian: 'little' }), '\xffSMB\x00\x20'), true); // 0x2000
  assert.equal(v(bt({ count: 3, op: '>', value: 99, stringBase: 10 }), '\xffSMB100'), true);
  assert.equal(v(bt({ count: 1, op: '=', value: 1, bitmask: 0xf0 }), '\xffSMB\x10'), true);
  assert.equal(v(bt({ count: 1, op: '&', value: 0x80 }), '\xffSMB\x81'), true);
  assert.equal(v(bt({ count: 4 }), '\xffSMB\x00'), false); // out of bounds never matches
  assert.equal(readNumber(latin1('12ab'), 4, 0, 4, 'big', 16)?.value, 0x12ab);
});

test('byte_jump moves the pointer', () => {
  // length byte 3, skip 3 bytes, then "Z" must follow immediately
  const s = sig([
    c('L'),
    { kind: 'byte_jump', count: 1, offset: 0, relative: true, endian: 'big', multiplier: 1, postOffset: 0, align: false, fromBeginning: false },
    c('Z', { distance: 0, within: 1 }),
  ]);
  assert.equal(v(s, 'L\x03abcZ'), true);
  assert.equal(v(s, 'L\x02abcZ'), false);
  assert.equal(v(s, 'L\x09abcZ'), false); // jumps past the end
});

test('dsize and flowbits', () => {
  const s = sig([c('a')], { dsize: { min: 2, max: 3 } });
  assert.equal(v(s, 'a'), false);
  assert.equal(v(s, 'ab'), true);
  assert.equal(v(s, 'abcd'), false);
  const fb = sig([c('a')], { flowbits: [{ op: 'isset', names: ['x', 'y'], mode: 'all' }, { op: 'isnotset', names: ['z'], mode: 'any' }] });
  assert.equal(v(fb, 'a', ['x', 'y']), true);
  assert.equal(v(fb, 'a', ['x']), false);
  assert.equal(v(fb, 'a', ['x', 'y', 'z']), false);
  assert.equal(verifySignature(sig([]), new Uint8Array(0), 0, EMPTY_CONTEXT), true);
});

test('length bounds the data (bytes past length are not seen)', () => {
  const data = latin1('abcXYZ');
  assert.equal(verifySignature(sig([c('XYZ')]), data, 3, EMPTY_CONTEXT), false);
  assert.equal(verifySignature(sig([c('XYZ')]), data, 6, EMPTY_CONTEXT), true);
});

test('backtracking budget bounds pathological inputs', () => {
  const s = sig([c('a'), c('a', { distance: 0 }), c('a', { distance: 0 }), c('b', { distance: 0, within: 1 })]);
  const t0 = process.hrtime.bigint();
  assert.equal(v(s, 'a'.repeat(5000)), false);
  assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 500);
});

test('tcp flags modes', () => {
  const SYN = 2, ACK = 16, FIN = 1;
  assert.equal(tcpFlagsMatch({ mask: SYN, mode: '', ignore: 0 }, SYN), true);
  assert.equal(tcpFlagsMatch({ mask: SYN, mode: '', ignore: 0 }, SYN | ACK), false);
  assert.equal(tcpFlagsMatch({ mask: SYN, mode: '+', ignore: 0 }, SYN | ACK), true);
  assert.equal(tcpFlagsMatch({ mask: SYN | FIN, mode: '*', ignore: 0 }, FIN), true);
  assert.equal(tcpFlagsMatch({ mask: SYN, mode: '!', ignore: 0 }, ACK), true);
  assert.equal(tcpFlagsMatch({ mask: SYN, mode: '', ignore: 64 | 128 }, SYN | 128), true);
});
