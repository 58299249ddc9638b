/** Source list state and the installed file's manifest header. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disableSource, enableSource, readSources, removeSource, resolveSource, writeSources } from '../../../src/rules/sources.js';
import { installedDatabases, parseInstalled, renderInstalled, type RulesManifest } from '../../../src/rules/installed.js';
import { isBulwarkError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-sources-'));
test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('enable a known source, a mirror of it, a custom URL; disable; remove; round trip through sources.yaml', async () => {
  let l = enableSource([], { name: 'et/open' });
  const et = resolveSource(l[0]!);
  assert.equal(et.url, 'https://rules.emergingthreats.net/open/suricata-7.0.3/emerging.rules.tar.gz');
  assert.deepEqual(et.checksum, { algorithm: 'md5', url: `${et.url}.md5` });
  l = enableSource(l, { name: 'et/open', url: 'http://mirror.test/emerging.rules.tar.gz' });
  assert.equal(resolveSource(l[0]!).checksum?.url, 'http://mirror.test/emerging.rules.tar.gz.md5');
  l = enableSource(l, { name: 'local/custom', url: '/etc/bulwark/custom.rules' });
  assert.equal(resolveSource(l[1]!).checksum, undefined);
  assert.throws(() => enableSource(l, { name: 'vendor/unknown' }), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CONFIG') && /no URL/.test(e.message));
  assert.throws(() => enableSource(l, { name: 'Bad Name', url: '/x' }), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INVALID_ARGUMENT'));
  assert.throws(() => enableSource(l, { name: 'a/b', url: 'relative/path' }), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INVALID_ARGUMENT'));
  l = disableSource(l, 'et/open');
  assert.equal(l[0]!.enabled, false);
  assert.throws(() => disableSource(l, 'nope/x'), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_NOT_FOUND'));
  await writeSources(dir, l);
  assert.deepEqual(await readSources(dir), l);
  assert.deepEqual(removeSource(l, 'et/open').map((s) => s.name), ['local/custom']);
});

test('a malformed sources.yaml is refused with the file and the entry', async () => {
  writeFileSync(join(dir, 'sources.yaml'), 'sources:\n  - name: et/open\n  - name: x/y\n    url: ftp://nope\n');
  await assert.rejects(readSources(dir), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_STATE') && /sources\.yaml: sources\[1\]\.url/.test(e.message));
  writeFileSync(join(dir, 'sources.yaml'), 'sources: [\n');
  await assert.rejects(readSources(dir), (e: unknown) => isBulwarkError(e) && /not valid YAML/.test(e.message));
});

test('the manifest header describes the body; an edited body is reported', () => {
  const m = { format: 1, generatedAt: 'x', generator: 'g', sources: [{ name: 'et/open', version: '2026.12.01', released: '2026-12-01' }], policy: {}, stats: {}, compile: {} } as unknown as Omit<RulesManifest, 'bodySha256'>;
  const text = renderInstalled(m, '# group et/open rules/a.rules\nalert tcp any any -> any 1 (sid:1;)\n');
  const ok = parseInstalled('/x/bulwark.rules', text);
  assert.equal(ok.problem, undefined);
  assert.deepEqual(installedDatabases(ok), [{ name: 'et/open', version: '2026.12.01', released: '2026-12-01', file: '/x/bulwark.rules' }]);
  assert.match(parseInstalled('/x', text.replace('sid:1', 'sid:2')).problem ?? '', /edited after/);
  assert.match(parseInstalled('/x', 'alert tcp any any -> any 1 (sid:1;)\n').problem ?? '', /no bulwark manifest/);
  assert.deepEqual(installedDatabases(parseInstalled('/x', 'alert tcp any any -> any 1 (sid:1;)\n'))[0]?.version, 'unmanaged');
});
