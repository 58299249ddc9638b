/** Unpacking rule sources: real tarballs from tar(1), and hostile or broken ones built by hand. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readTar, sanitizePath, unpack } from '../../../src/rules/archive.js';
import { isBulwarkError } from '../../../src/errors.js';
import { tarEntry, tarEnd } from './tar.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-archive-'));
test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const refused = (re: RegExp) => (e: unknown) => isBulwarkError(e) && re.test(e.message);

test('a tar.gz made by tar(1) in ET layout unpacks to rules/*.rules and the config files', () => {
  const src = join(dir, 'et');
  mkdirSync(join(src, 'rules'), { recursive: true });
  writeFileSync(join(src, 'rules', 'emerging-scan.rules'), 'alert tcp any any -> any 22 (msg:"x"; content:"y"; sid:1;)\n');
  writeFileSync(join(src, 'rules', 'classification.config'), 'config classification: attempted-recon,Attempted Information Leak,2\n');
  // GNU long names (> 100 bytes) and a link inside the archive are fine.
  const long = `${'d'.repeat(60)}/${'f'.repeat(60)}.rules`;
  mkdirSync(join(src, 'rules', 'd'.repeat(60)));
  writeFileSync(join(src, 'rules', long), 'alert tcp any any -> any 22 (msg:"z"; content:"w"; sid:2;)\n');
  symlinkSync('emerging-scan.rules', join(src, 'rules', 'link.rules'));
  const tgz = join(dir, 'emerging.rules.tar.gz');
  execFileSync('tar', ['-czf', tgz, '-C', src, 'rules']);
  const u = unpack(readFileSync(tgz), 'emerging.rules.tar.gz');
  assert.equal(u.kind, 'tar');
  assert.deepEqual(u.files.map((f) => f.path).sort(), ['rules/classification.config', `rules/${long}`, 'rules/emerging-scan.rules'].sort());
  assert.ok(u.skipped.some((s) => s.startsWith('rules/link.rules ->')));
  // pax format too
  const pax = join(dir, 'pax.tar');
  execFileSync('tar', ['--format=pax', '-cf', pax, '-C', src, 'rules']);
  assert.equal(unpack(readFileSync(pax), 'pax.tar').files.length, 3);
});

test('plain and gzip single files', () => {
  const text = 'alert tcp any any -> any 80 (sid:1;)\n';
  assert.deepEqual(unpack(Buffer.from(text), 'custom.rules').files.map((f) => [f.path, f.data.toString()]), [['custom.rules', text]]);
  const g = unpack(gzipSync(text), 'custom.rules.gz');
  assert.equal(g.kind, 'gzip');
  assert.equal(g.files[0]!.path, 'custom.rules');
  assert.throws(() => unpack(Buffer.from([0, 1, 2]), 'x.rules'), refused(/binary data/));
});

test('unsafe archives are refused whole: absolute paths, "..", links leaving the archive', () => {
  const ok = tarEntry({ name: 'rules/a.rules', data: 'x' });
  assert.throws(() => readTar(Buffer.concat([ok, tarEntry({ name: '/etc/cron.d/evil', data: 'x' }), tarEnd()]), 't'), refused(/unsafe archive entry: absolute path/));
  assert.throws(() => readTar(Buffer.concat([ok, tarEntry({ name: 'rules/../../evil.rules', data: 'x' }), tarEnd()]), 't'), refused(/".." in path/));
  assert.throws(() => readTar(Buffer.concat([tarEntry({ name: 'rules/l', type: '2', linkname: '../../etc/passwd' }), tarEnd()]), 't'), refused(/points outside the archive/));
  assert.throws(() => readTar(Buffer.concat([tarEntry({ name: 'rules/l', type: '2', linkname: '/etc/passwd' }), tarEnd()]), 't'), refused(/points outside the archive/));
  assert.throws(() => readTar(Buffer.concat([tarEntry({ name: 'rules/h', type: '1', linkname: '../x' }), tarEnd()]), 't'), refused(/points outside/));
  // A GNU long name can smuggle ".." too.
  assert.throws(() => readTar(Buffer.concat([tarEntry({ name: '././@LongLink', type: 'L', data: '../../x.rules\0' }), tarEntry({ name: 'x', data: 'y' }), tarEnd()]), 't'), refused(/".." in path/));
  const inside = readTar(Buffer.concat([ok, tarEntry({ name: 'rules/sub/l', type: '2', linkname: '../a.rules' }), tarEntry({ name: './rules//b.rules', data: 'b' }), tarEnd()]), 't');
  assert.deepEqual(inside.files.map((f) => f.path), ['rules/a.rules', 'rules/b.rules']);
  assert.deepEqual(sanitizePath('a/\u001b[2Jb'), { problem: 'control character in a file name' });
});

test('bounds: entries, bytes per file, total bytes, and a gzip bomb', () => {
  const limits = { maxTotalBytes: 4096, maxFileBytes: 2048, maxEntries: 3 };
  const e = (n: string, size = 10) => tarEntry({ name: n, data: 'x'.repeat(size) });
  assert.throws(() => readTar(Buffer.concat([e('a'), e('b'), e('c'), e('d'), tarEnd()]), 't', limits), refused(/more than 3 archive entries/));
  assert.throws(() => readTar(Buffer.concat([e('a', 3000), tarEnd()]), 't', limits), refused(/is 3000 bytes \(limit 2048\)/));
  assert.throws(() => readTar(Buffer.concat([e('a', 2000), e('b', 2000), e('c', 2000), tarEnd()]), 't', limits), refused(/unpacks to more than 4096 bytes/));
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
  assert.ok(bomb.length < 100_000);
  assert.throws(() => unpack(bomb, 'bomb.tar.gz', { maxTotalBytes: 1024 * 1024, maxFileBytes: 1024 * 1024, maxEntries: 10 }), refused(/unpacks to more than 1048576 bytes/));
});

test('corrupt data: bad gzip, bad header checksum, truncated archive, not a tar', () => {
  const good = Buffer.concat([tarEntry({ name: 'rules/a.rules', data: 'x'.repeat(1000) }), tarEnd()]);
  const gz = gzipSync(good);
  const flipped = Buffer.from(gz);
  flipped[20] = flipped[20]! ^ 0xff;
  assert.throws(() => unpack(flipped, 'e.tar.gz'), refused(/corrupt gzip data|corrupt tar/));
  assert.throws(() => unpack(gz.subarray(0, gz.length - 30), 'e.tar.gz'), refused(/corrupt gzip data/));
  const badSum = Buffer.from(good);
  badSum[0] = 0x41;
  assert.throws(() => readTar(badSum, 't'), refused(/bad header checksum/));
  assert.throws(() => readTar(good.subarray(0, 900), 't'), refused(/truncated tar archive/));
  assert.throws(() => unpack(gzipSync('just text'), 'e.tar.gz'), refused(/not a tar archive/));
});
