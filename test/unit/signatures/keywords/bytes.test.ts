/** byte_extract, byte_math and variables in later keywords (Suricata 7/8 semantics). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rule, skipped, matches } from './helpers.js';
import { RuleVars, evalByteMath, parseByteMath } from '../../../../src/signatures/keywords/bytes.js';
import { latin1 } from '../../../../src/signatures/content.js';

// The payload of suricata-verify's byte-extract-01 test: "0123456789" as ASCII digits.
const DIGITS = '1023456789';

test('byte_extract feeds content depth/offset/distance/within (suricata-verify byte-extract-01 rules)', () => {
  // "10" at 0..2, "34" at 3..5 in "1023456789"
  assert.equal(matches(rule('byte_extract:2,0,two1,string,dec; content:"|33 34|"; offset:0; depth:two1;'), '3423456789'), true);
  // extracted 10 → depth 10 from offset 0: "34" at 3 is inside
  assert.equal(matches(rule('byte_extract:2,0,v,string,dec; content:"|33 34|"; offset:0; depth:v;'), DIGITS), true);
  // 1 byte at 2 = "2" → depth 2 from offset 3: "34" at 3..5 fits
  assert.equal(matches(rule('byte_extract:1,2,d,string,dec; content:"|33 34|"; offset:3; depth:d;'), DIGITS), true);
  assert.equal(matches(rule('byte_extract:1,1,d,string,dec; content:"|33 34|"; offset:3; depth:d;'), DIGITS), false); // depth 0 → nothing fits
  // distance from a variable: "3" at 3 → "34" must start >= 2+3 after "10"... "10" ends at 2, 2+3=5: "34" at 3 is too early
  assert.equal(matches(rule('byte_extract:1,3,dd,string,dec; content:"|31 30|"; content:"|33 34|"; distance:dd;'), DIGITS), false);
  assert.equal(matches(rule('byte_extract:1,1,dd,string,dec; content:"|31 30|"; content:"|33 34|"; distance:dd;'), DIGITS), true); // "0" → distance 0
  // binary extraction, then relative content right after the extracted bytes
  const s = rule('content:"LEN"; byte_extract:2,0,n,relative; content:"X"; distance:n; within:1;');
  assert.equal(matches(s, 'LEN\x00\x03abcX'), true);
  assert.equal(matches(s, 'LEN\x00\x02abcX'), false);
});

test('byte_extract multiplier and align; unknown variables are refused', () => {
  const s = rule('byte_extract:1,0,n,multiplier 2,align 4; isdataat:n;');
  // 3*2=6 → aligned to 8: a byte at offset 8 is needed
  assert.equal(matches(s, '\x03xxxxxxxx'), true);
  assert.equal(matches(s, '\x03xxxxxxx'), false);
  assert.equal(skipped('content:"a"; isdataat:nope;').reason, 'invalid rule');
  assert.equal(skipped('content:"a"; byte_extract:9,0,x;').reason, 'invalid rule'); // > 8 bytes binary
  assert.equal(skipped('content:"a"; byte_extract:2,0,x,dce;').reason, 'byte_extract dce');
});

test('byte_math operators, variables as bytes and rvalue, uint64 wrap and bitmask', () => {
  const vars = new RuleVars();
  const m = (t: string) => parseByteMath(t, vars);
  const data = latin1('\x10\x02\xff');
  assert.equal(evalByteMath(m('bytes 1, offset 0, oper +, rvalue 5, result a'), data, 3, 0, 1, 5)?.value, 0x15);
  assert.equal(evalByteMath(m('bytes 1, offset 0, oper <<, rvalue 2, result a'), data, 3, 0, 1, 2)?.value, 0x40);
  assert.equal(evalByteMath(m('bytes 1, offset 0, oper >>, rvalue 4, result a'), data, 3, 0, 1, 4)?.value, 1);
  assert.equal(evalByteMath(m('bytes 1, offset 0, oper /, rvalue 0, result a'), data, 3, 0, 1, 0), undefined);
  assert.equal(evalByteMath(m('bytes 1, offset 1, oper -, rvalue 3, result a'), data, 3, 0, 1, 3)?.value, 2 ** 64 - 1); // wraps
  assert.equal(evalByteMath(m('bytes 1, offset 2, oper *, rvalue 1, result a, bitmask 0xf0'), data, 3, 0, 1, 1)?.value, 0xf);
  // Rule form: rvalue from byte_extract, result used by byte_test (suricata-verify detect-bytemath-mult-04 shape).
  const s = rule('byte_extract:1,0,x; byte_math:bytes 1, offset 1, oper *, rvalue x, result r; byte_test:1,=,r,2;');
  assert.equal(matches(s, '\x03\x04\x0c'), true);
  assert.equal(matches(s, '\x03\x04\x0d'), false);
  // bytes from a variable (detect-bytemath-05 shape)
  const b = rule('byte_extract:1,0,n; byte_math:bytes n, offset 1, oper +, rvalue 1, result r; byte_test:2,=,r,1;');
  assert.equal(matches(b, '\x02\x01\x00'), false); // reads 0x0100 + 1 = 0x0101, byte_test reads 0x0100
  assert.equal(skipped('content:"a"; byte_math:bytes 1, offset 0, oper &, rvalue 1, result r;').reason, 'invalid rule');
  assert.equal(skipped('content:"a"; byte_math:bytes 1, offset 0, oper +, rvalue zz, result r;').reason, 'invalid rule');
});

test('byte_jump: variable count, from_end, bitmask, 0 bytes, jumps before the start land on it (Suricata 7/8)', () => {
  // detect-bytejump-02 shape: the count comes from a variable
  const v = rule('content:"|00 00 00|"; byte_extract:1,0,n,relative; byte_jump:n,0,relative; isdataat:1,relative;');
  assert.equal(matches(v, '\x00\x00\x00\x01\x02abc'), true); // n=1 → reads 0x02 at 4, jumps to 5+2=7 → 1 byte left
  assert.equal(matches(v, '\x00\x00\x00\x01\x03abc'), false); // lands at 8 = end: no byte after it
  // detect-bytejump-05 shape: 0 bytes, negative post_offset clamps to the buffer start
  const z = rule('content:"|0A 95 00 20|"; byte_jump:0,0,relative,post_offset -10; content:"NSLO"; distance:0; within:4;');
  assert.equal(matches(z, 'NSLO\x0a\x95\x00\x20'), true);
  const fe = rule('content:"Q"; byte_jump:1,0,relative,from_end,post_offset -3; content:"end"; distance:0; within:3;');
  assert.equal(matches(fe, 'Q\x00 the end'), true);
  const bm = rule('content:"L"; byte_jump:1,0,relative,bitmask 0xf0; content:"Z"; distance:0; within:1;');
  assert.equal(matches(bm, 'L\x23abZ'), true); // 0x23 & 0xf0 >> 4 = 2 → 2+2 = 4
  assert.equal(skipped('content:"a"; byte_jump:1,0,from_end,from_beginning;').reason, 'invalid rule');
});

test('byte_test with a variable value and offset', () => {
  const s = rule('byte_extract:1,0,off; byte_extract:1,1,val; byte_test:1,=,val,off;');
  assert.equal(matches(s, '\x03\x41xA'), true);
  assert.equal(matches(s, '\x03\x41xB'), false);
});
