/**
 * Invalid databases: each fixture in test/fixtures/signatures/invalid/ starts with
 * `# wantErr: LINE: MESSAGE` and must be refused with exactly that line and message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { compileRuleset } from '../../../src/signatures/compile.js';
import { loadDatabases } from '../../../src/signatures/load.js';
import { isBulwarkError } from '../../../src/errors.js';
import { defaultConfig } from '../../../src/config/types.js';

const fixtures = fileURLToPath(new URL('../../fixtures/signatures/', import.meta.url));
const invalidDir = join(fixtures, 'invalid');

function wantErr(text: string): string {
  const m = /^# wantErr: (.*)$/m.exec(text);
  assert.ok(m, 'fixture lacks # wantErr:');
  return m[1]!;
}

for (const name of readdirSync(invalidDir).filter((f) => f.endsWith('.yaml')).sort()) {
  test(`invalid database ${name}`, () => {
    const file = join(invalidDir, name);
    const text = readFileSync(file, 'utf8');
    const want = wantErr(text);
    const [line, ...rest] = want.split(': ');
    const msg = rest.join(': ');
    assert.throws(
      () => compileRuleset([{ file, text }]),
      (e: unknown) => {
        assert.ok(isBulwarkError(e, 'BULWARK_ERR_DATABASE'), String(e));
        assert.ok(e.message.startsWith(`${file}:${line!}: `), `got "${e.message}", want line ${line!}`);
        assert.ok(e.message.includes(msg), `got "${e.message}", want "${msg}"`);
        assert.equal(e.details?.line, Number(line));
        return true;
      },
    );
  });
}

test('invalid database: manifest mismatch refuses the directory', async () => {
  const dir = join(fixtures, 'manifest-mismatch');
  const want = wantErr(readFileSync(join(dir, 'db.yaml'), 'utf8'));
  await assert.rejects(
    loadDatabases({ ...defaultConfig().databases, dir }),
    (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INTEGRITY') && e.message.includes(want) && e.message.includes('db.yaml'),
  );
  // Without the manifest requirement the same directory loads.
  const ok = await loadDatabases({ ...defaultConfig().databases, dir, requireManifest: false });
  assert.equal(ok.ruleset.signatures.length, 1);
});

test('a signature id defined in two files is refused with both places', () => {
  const db = (id: number) => `database: {name: t, version: '1', released: 2026-11-21}\nsignatures:\n  - {id: ${id}, name: T.X, severity: low, category: t, ports: [80], match: [{content: x}]}\n`;
  assert.throws(() => compileRuleset([{ file: 'a.yaml', text: db(9000001) }, { file: 'b.yaml', text: db(9000001) }]), /b\.yaml:3: duplicate id 9000001 \(also defined at a\.yaml:3\)/);
});

test('an unknown file type is refused', () => {
  assert.throws(() => compileRuleset([{ file: 'x.json', text: '{}' }]), /x\.json:1: unknown database format/);
});
