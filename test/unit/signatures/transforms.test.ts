/** Sticky-buffer transforms, golden cases from Suricata's own unit tests (rust/src/detect/transforms/*.rs) and docs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { applyTransforms, base64Decode, parseTransform, transformKey, urlDecode } from '../../../src/signatures/transforms.js';
import type { Transform } from '../../../src/signatures/types.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const s = (x: Uint8Array | null): string | null => (x === null ? null : Buffer.from(x).toString('latin1'));
const t = (name: string, value?: string): Transform => parseTransform(name, value);
const run = (input: string, ...ts: Transform[]): string | null => s(applyTransforms(b(input), ts));

test('case transforms', () => {
  assert.equal(run('AbC-1é', t('to_lowercase')), 'abc-1é');
  assert.equal(run('AbC-1', t('to_uppercase')), 'ABC-1');
});

test('strip_whitespace and compress_whitespace (a run keeps its first whitespace byte)', () => {
  assert.equal(run(' a \t b\r\n\x0b\x0cc ', t('strip_whitespace')), 'abc');
  assert.equal(run(' A B C D ', t('compress_whitespace')), ' A B C D ');
  assert.equal(run('I  \t J', t('compress_whitespace')), 'I J');
  assert.equal(run('I\t  J', t('compress_whitespace')), 'I\tJ');
});

test('url_decode: Suricata test vector, + is a space, broken escapes kept', () => {
  assert.equal(s(urlDecode(b("Suricata%20is+%27%61wesome%21%27%25%30%30%ZZ%4"))), "Suricata is 'awesome!'%00%ZZ%4");
  assert.equal(run('%', t('url_decode')), '%');
  assert.equal(run('%4g', t('url_decode')), '%4g');
  assert.equal(run('%%41', t('url_decode')), '%%41');
});

test('dotprefix, header_lowercase, strip_pseudo_headers', () => {
  assert.equal(run('hello.google.com', t('dotprefix')), '.hello.google.com');
  assert.equal(run('', t('dotprefix')), '');
  assert.equal(run('Header1: Value1\nheader2:Value2\n', t('header_lowercase')), 'header1: Value1\nheader2:Value2\n');
  assert.equal(run('Host: A\r\nUser-Agent: B:C\r\n', t('header_lowercase')), 'host: A\r\nuser-agent: B:C\r\n');
  assert.equal(run('Header1: Value1\n:method:get\nheader2:Value2\n', t('strip_pseudo_headers')), 'Header1: Value1\nheader2:Value2\n');
});

test('hashes: raw digest bytes', () => {
  for (const [name, alg] of [['to_md5', 'md5'], ['to_sha1', 'sha1'], ['to_sha256', 'sha256']] as const) {
    assert.deepEqual(applyTransforms(b('abc'), [t(name)]), new Uint8Array(createHash(alg).update('abc').digest()));
  }
  // chain as in Suricata's docs: compress_whitespace then to_sha256
  assert.deepEqual(applyTransforms(b('GET  /  HTTP/1.1'), [t('compress_whitespace'), t('to_sha256')]), new Uint8Array(createHash('sha256').update('GET / HTTP/1.1').digest()));
});

test('xor with a repeating key', () => {
  assert.equal(run('\x0d\x0e\x0d\x0e', t('xor', '"0d0e"')), '\x00\x00\x00\x00');
  assert.equal(run('ab', t('xor', '"20"')), 'AB');
  assert.throws(() => t('xor', '"abc"'), /hex key/);
  // quotes are optional (SIGMATCH_QUOTES_OPTIONAL)
  assert.equal(run('ab', t('xor', '20')), 'AB');
});

test('xor with an offset and a key read from the buffer (Suricata 9 xor.rs)', () => {
  const key = 0x42;
  const enc = String.fromCharCode(key) + Array.from(b('hello'), (c) => String.fromCharCode(c ^ key)).join('');
  // key byte at 0, XOR from 1: the key byte itself stays
  assert.equal(run(enc, t('xor', 'offset 1,extract 1 0')), '\x42hello');
  assert.equal(run(enc, t('xor', 'offset 1,var 1 0')), '\x42hello');
  // 2-byte key cycling from the start offset
  const k2 = [0x10, 0x20];
  const enc2 = 'XY' + String.fromCharCode(...k2) + Array.from(b('world'), (c, i) => String.fromCharCode(c ^ k2[i % 2]!)).join('');
  assert.equal(run(enc2, t('xor', 'offset 4,extract 2 2')), 'XY\x10\x20world');
  // static key with an offset
  assert.equal(run('abAB', t('xor', 'offset 2,"20"')), 'abab');
  // key or start outside the buffer: the buffer is left as it is
  assert.equal(run('abc', t('xor', 'extract 1 200')), 'abc');
  assert.equal(run('abc', t('xor', 'offset 5,"20"')), 'abc');
  assert.throws(() => t('xor', 'extract 1'), /extract BYTES OFFSET/);
  assert.throws(() => t('xor', 'extract 0 0'), /1 to 255/);
  assert.throws(() => t('xor', 'offset 1'), /offset N,KEY/);
  assert.throws(() => t('xor', 'offset x,"20"'), /invalid offset/);
  assert.notEqual(transformKey([t('xor', 'offset 1,extract 1 0')]), transformKey([t('xor', 'offset 2,extract 1 0')]));
});

test('gunzip and zlib_deflate: bounded output (default 1024), broken input gives an empty buffer', () => {
  const text = 'This is compressed then base64-encoded\n';
  const gz = s(new Uint8Array(gzipSync(text)))!;
  const zl = s(new Uint8Array(deflateSync(text)))!;
  assert.equal(run(gz, t('gunzip')), text);
  assert.equal(run(zl, t('zlib_deflate')), text);
  assert.equal(run(gz, t('gunzip', 'max-size 8')), 'This is ');
  assert.equal(run(zl, t('zlib_deflate', 'max-size=8')), 'This is ');
  assert.equal(run(s(new Uint8Array(gzipSync('x'.repeat(5000))))!, t('gunzip'))!.length, 1024);
  assert.equal(run(s(new Uint8Array(gzipSync('x'.repeat(5000))))!, t('gunzip', 'max-size 2kb'))!.length, 2048);
  // wrong framing: an error, so an empty buffer
  assert.equal(run(zl, t('gunzip')), '');
  assert.equal(run('not compressed', t('zlib_deflate')), '');
  assert.throws(() => t('gunzip', 'max-size 0'), /max-size 0/);
  assert.throws(() => t('gunzip', 'size 8'), /expected max-size/);
  assert.throws(() => t('gunzip', 'max-size 8, max-size 9'), /twice/);
});

test('subslice: Suricata subslice.rs vectors', () => {
  const x = 'this is suricata';
  assert.equal(run(x, t('subslice', '1')), 'his is suricata');
  assert.equal(run(x, t('subslice', '00,9')), 'this is s');
  assert.equal(run(x, t('subslice', '1,12')), 'his is suric');
  assert.equal(run(x, t('subslice', '13,-12')), ' is suric');
  assert.equal(run(x, t('subslice', '2, 30')), '');
  assert.equal(run(x, t('subslice', '2, 30, truncate')), 'is is suricata');
  assert.equal(run(x, t('subslice', '-8')), 'suricata');
  assert.equal(run(x, t('subslice', '-20')), '');
  assert.equal(run(x, t('subslice', '-20, TRUNCATE')), x);
  assert.equal(run('curl/7.64.1', t('subslice', '0, -30, truncate')), '');
  assert.equal(run('curl/7.64.1', t('subslice', '0, -30')), '');
  assert.equal(run('curl/7.64.1', t('subslice', '-11, -6, truncate')), 'curl/');
  for (const bad of ['f, y', '0:-10', '1 1', '1,0', '', '1, 2, nottruncate', '1, 2, 3, 4', '1, 2, truncate, extra']) {
    assert.throws(() => t('subslice', bad), /subslice/, bad);
  }
});

test('from_base64: modes, offset and bytes as Suricata applies them', () => {
  assert.equal(run('VGhpcyBpcyBTdXJpY2F0YQ==', t('from_base64')), 'This is Suricata');
  assert.equal(s(base64Decode(b('VGhpc#yBpcw=='), 'rfc4648')), 'Thi');
  assert.equal(s(base64Decode(b('VGhpc#yBpcw=='), 'rfc2045')), 'This is');
  assert.equal(base64Decode(b('VGhpc#yBpcw=='), 'strict'), null);
  assert.equal(run('xxVGhpcw==', t('from_base64', 'offset 2')), 'This');
  assert.equal(run('VGhpcyBpcw==', t('from_base64', 'bytes 4')), 'Thi');
  // offset past the end, or bytes covering all that is left: the buffer stays as it was
  assert.equal(run('VGhp', t('from_base64', 'offset 4')), 'VGhp');
  assert.equal(run('VGhp', t('from_base64', 'bytes 4')), 'VGhp');
  // nothing decodable: an error buffer, no match
  assert.equal(run('####', t('from_base64')), null);
  assert.throws(() => t('from_base64', 'mode foo'), /invalid mode/);
  assert.throws(() => t('from_base64', 'bytes 4, bytes 5'), /twice/);
  assert.throws(() => t('from_base64', 'bytes x'), /byte_extract/);
});

test('pcrexform: the first capture group replaces the buffer; no match leaves it', () => {
  assert.equal(run('Authorization: Basic abc', t('pcrexform', '"Basic (.*)"')), 'abc');
  assert.equal(run('nothing here', t('pcrexform', '"Basic (.*)"')), 'nothing here');
  assert.throws(() => t('pcrexform', '"no group"'), /capture group/);
});

test('unsupported transforms are named, options refused where there are none', () => {
  assert.throws(() => t('luaxform', 'x'), (e: Error & { reason?: string }) => e.reason === 'unsupported transform luaxform');
  assert.throws(() => t('to_lowercase', 'x'), /takes no value/);
  assert.equal(transformKey([t('to_lowercase'), t('xor', '"0102"'), t('from_base64', 'mode strict')]), 'to_lowercase|xor(0102,0)|from_base64(0,0,strict)');
});
