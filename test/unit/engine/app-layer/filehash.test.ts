/** filemd5/filesha1/filesha256 (src/engine/app-layer/filehash.ts): value, list file format, matching, digests. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { FileHasher, matchFileHash, parseFileHashList, parseFileHashValue, type FileHashParsed } from '../../../../src/engine/app-layer/filehash.js';

const MD5 = '44d88612fea8a8f36de82e1278abb02f';

test('value: a file name, `!` negates, empty refused', () => {
  assert.deepEqual(parseFileHashValue('md5', ' target.md5 '), { algo: 'md5', negated: false, file: 'target.md5', hashes: null });
  assert.deepEqual(parseFileHashValue('sha256', '!list'), { algo: 'sha256', negated: true, file: 'list', hashes: null });
  assert.throws(() => parseFileHashValue('md5', null), /needs a file of hashes/);
  assert.throws(() => parseFileHashValue('md5', '!'), /needs a file of hashes/);
});

test('list: comments, blank and indented lines skipped, hex of the exact length, lower-cased, cut at 64', () => {
  const r = parseFileHashList(`# comment\n\n  indented ignored\n${MD5.toUpperCase()}\n${MD5.replace('4', 'a')}`, 'md5', 10);
  assert.ok('hashes' in r);
  assert.deepEqual([...r.hashes], [MD5, MD5.replace('4', 'a')]);
  // Suricata removes one trailing newline byte only: CRLF leaves \r and the length is wrong
  const crlf = parseFileHashList(`${MD5}\r\n`, 'md5', 10);
  assert.deepEqual(crlf, { line: 1, message: 'hash string not 32 characters' });
  assert.deepEqual(parseFileHashList(`${MD5}  file.exe\n`, 'md5', 10), { line: 1, message: 'hash string not 32 characters' });
  assert.deepEqual(parseFileHashList(`${'g'.repeat(32)}\n`, 'md5', 10), { line: 1, message: 'hash string is not hex' });
  const sha = 'ab'.repeat(32);
  const long = parseFileHashList(`${sha}  trailing name cut at 64\n`, 'sha256', 10);
  assert.ok('hashes' in long && long.hashes.has(sha));
  assert.deepEqual(parseFileHashList(`${MD5}\n${MD5.replace('4', 'b')}\n`, 'md5', 1), { line: 2, message: 'more than 1 hashes' });
});

test('match: only closed files with the digest; negation; no list loaded never matches', () => {
  const p: FileHashParsed = { algo: 'md5', negated: false, file: 'x', hashes: new Set([MD5]) };
  const closed = { closed: true, digests: { md5: MD5 } };
  assert.equal(matchFileHash([closed], p), true);
  assert.equal(matchFileHash([{ closed: false, digests: { md5: MD5 } }], p), false);
  assert.equal(matchFileHash([{ closed: true }], p), false, 'no digest computed');
  assert.equal(matchFileHash([{ closed: true, digests: { md5: 'f'.repeat(32) } }], p), false);
  assert.equal(matchFileHash([{ closed: true, digests: { md5: 'f'.repeat(32) } }], { ...p, negated: true }), true);
  assert.equal(matchFileHash([closed], { ...p, negated: true }), false);
  assert.equal(matchFileHash([closed], { ...p, hashes: null }), false);
});

test('FileHasher: incremental digests equal the whole-buffer ones', () => {
  const h = new FileHasher(['md5', 'sha1', 'sha256']);
  h.update(Buffer.from('hello '));
  h.update(Buffer.from('world'));
  const d = h.finish();
  for (const a of ['md5', 'sha1', 'sha256'] as const) assert.equal(d[a], createHash(a).update('hello world').digest('hex'));
});
