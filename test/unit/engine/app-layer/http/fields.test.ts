/** Field parsers of the HTTP parser: libhtp's method table lookup (methodAt, lineStart). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LINE_EMPTY, LINE_METHOD, LINE_OTHER, M_CONNECT, M_HEAD, indexOfLf, lineStart, lineStartJoined, methodAt, segmentView } from '../../../../../src/engine/app-layer/http/fields.js';

// libhtp htp_convert_method_to_number, in its order (the index is the method number here)
const TABLE = [
  'GET', 'PUT', 'POST', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE',
  'LOCK', 'UNLOCK', 'VERSION-CONTROL', 'CHECKOUT', 'UNCHECKOUT', 'CHECKIN', 'UPDATE', 'LABEL', 'REPORT', 'MKWORKSPACE',
  'MKACTIVITY', 'BASELINE-CONTROL', 'MERGE', 'INVALID', 'HEAD',
];
const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

test('methodAt: every method by its number, exact and case-sensitive, inside a larger array', () => {
  TABLE.forEach((m, k) => {
    const d = b(`xx${m} /`);
    assert.equal(methodAt(d, 2, 2 + m.length), k, m);
    assert.equal(methodAt(d, 2, 1 + m.length), -1, `${m} cut`);
    assert.equal(methodAt(b(m.toLowerCase()), 0, m.length), -1, `${m} lower case`);
    // same first byte and length, another last byte (UNLOCK/UPDATE, MERGE/MKCOL share both)
    const other = b(m.slice(0, -1) + (m.endsWith('Z') ? 'Y' : 'Z'));
    assert.equal(methodAt(other, 0, m.length), -1, `${m} last byte`);
  });
  assert.equal(TABLE[M_CONNECT], 'CONNECT');
  assert.equal(TABLE[M_HEAD], 'HEAD');
});

test('methodAt equals a plain table search over random tokens of method-like bytes', () => {
  let a = 12345;
  const r = (): number => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return a / 4294967296;
  };
  const alphabet = 'GETPUOSDLCNHAKMVRIFBWY-e \x00\xff';
  const pick = (): string => alphabet.charAt(Math.floor(r() * alphabet.length));
  for (let i = 0; i < 20000; i++) {
    const base = r() < 0.5 ? TABLE[Math.floor(r() * TABLE.length)]! : '';
    let s = base;
    const len = base === '' ? Math.floor(r() * 18) : base.length;
    if (base === '') for (let j = 0; j < len; j++) s += pick();
    else if (r() < 0.7) {
      const p = Math.floor(r() * s.length);
      s = s.slice(0, p) + pick() + s.slice(p + 1);
    }
    assert.equal(methodAt(b(s), 0, s.length), TABLE.indexOf(s), JSON.stringify(s));
  }
});

test('lineStart: the first token after whitespace is a method, something else, or nothing', () => {
  const at = (s: string): number => lineStart(b(s), 0, s.length);
  assert.equal(at('GET / HTTP/1.1\r\n'), LINE_METHOD);
  assert.equal(at(' \tPOST /x\r\n'), LINE_METHOD);
  assert.equal(at('get / HTTP/1.1\r\n'), LINE_OTHER);
  assert.equal(at('GETX /\r\n'), LINE_OTHER);
  assert.equal(at('alpha beta\r\n'), LINE_OTHER);
  assert.equal(at(' \r\n'), LINE_EMPTY);
});

test('lineStart: a line whose first byte starts no method is OTHER without a token scan, any other first byte still goes through the table', () => {
  const firsts = new Set(TABLE.map((m) => m.charCodeAt(0)));
  for (let c = 0; c < 256; c++) {
    const ch = String.fromCharCode(c);
    const line = ` ${ch}ET / HTTP/1.1\r\n`;
    // 'G' makes GET; anything else (whitespace included: the token is then 'ET') is no method
    const want = c === 0x47 ? LINE_METHOD : LINE_OTHER;
    assert.equal(lineStart(b(line), 0, line.length), want, `first byte ${c}`);
    // every method still found after any first byte that starts one
    if (firsts.has(c)) for (const m of TABLE.filter((x) => x.charCodeAt(0) === c)) assert.equal(lineStart(b(`\t${m} /\n`), 0, m.length + 4), LINE_METHOD, m);
  }
  // a whitespace-only line ends the skip at the range end: empty, whatever follows the range
  const d = b('  \r\nGET');
  assert.equal(lineStart(d, 0, 4), LINE_EMPTY);
});

test('indexOfLf finds the first LF from an offset; segmentView keeps indexes, hides what follows the end, and is a plain Uint8Array', () => {
  const d = b('ab\ncd\nef');
  assert.equal(indexOfLf(d, 0), 2);
  assert.equal(indexOfLf(d, 3), 5);
  assert.equal(indexOfLf(d, 6), -1);
  assert.equal(indexOfLf(d, 99), -1);
  const whole = segmentView(Buffer.from('ab\ncd'), 5);
  assert.equal(whole.constructor, Uint8Array, 'a Buffer segment is read through a plain view');
  assert.deepEqual([...whole], [...b('ab\ncd')]);
  const v = segmentView(d.subarray(1), 3); // 'b\ncd' cut to 'b\nc'
  assert.equal(v.length, 3);
  assert.equal(indexOfLf(v, 0), 1);
  assert.equal(indexOfLf(v, 2), -1, 'the LF after the end is not seen');
  // a view over part of a larger buffer, as a capture buffer hands out
  const big = new Uint8Array(Buffer.from('xxxx12\n34\n56', 'latin1'));
  const seg = new Uint8Array(big.buffer, 4, 8); // '12\n34\n5' then '6' beyond
  assert.equal(indexOfLf(segmentView(seg, 5), 3), -1);
  assert.equal(indexOfLf(segmentView(seg, 6), 3), 5);
});

test('lineStartJoined equals lineStart of the two parts joined, for random splits of method-like lines', () => {
  let a = 987654;
  const r = (): number => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return a / 2 ** 32;
  };
  const pieces = [...TABLE, 'GETS', 'HEA', 'x', 'get', ' ', '\t', '\r', 'OPTIONSX', 'VERSION-CONTROLS', 'MKACTIVITY'];
  for (let i = 0; i < 5000; i++) {
    let line = '';
    const parts = 1 + Math.floor(r() * 4);
    for (let k = 0; k < parts; k++) line += pieces[Math.floor(r() * pieces.length)]! + (r() < 0.5 ? ' ' : '');
    line += '\r\n';
    const cut = Math.floor(r() * line.length);
    const head = b(`${line.slice(0, cut)}????`); // a buffer longer than its content
    const pre = 'zz';
    const rest = b(pre + line.slice(cut) + 'GET');
    const want = lineStart(b(line), 0, line.length);
    assert.equal(lineStartJoined(head, cut, rest, pre.length, pre.length + line.length - cut), want, JSON.stringify([line, cut]));
  }
});
