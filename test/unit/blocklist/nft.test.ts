import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNft, isNftNotFound } from '../../../src/blocklist/nft.js';
import { isBulwarkError } from '../../../src/errors.js';

// A stand-in nft: records its argv and the batch file, fails on demand, answers `list`.
const dir = mkdtempSync(join(tmpdir(), 'bulwark-fake-nft-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
const fake = join(dir, 'nft');
writeFileSync(
  fake,
  `#!/bin/sh
echo "$@" > ${dir}/argv
for last; do :; done
if [ "$1" = "-j" ] && [ "$2" = "-f" ]; then
  cp "$last" ${dir}/batch
  if grep -q BAD "$last"; then echo "Error: Could not process rule: No such file or directory" >&2; exit 1; fi
  exit 0
fi
if [ "$1" = "-f" ]; then cp "$last" ${dir}/batch; exit 0; fi
case "$*" in
  *nosuch*) echo "Error: No such file or directory; did you mean table 'bulwark' in family inet?" >&2; exit 1;;
  *garbage*) echo "not json"; exit 0;;
  *) echo '{"nftables": [{"metainfo": {}}, {"table": {"family": "inet", "name": "bulwark"}}]}';;
esac
`,
);
chmodSync(fake, 0o755);

test('apply passes one JSON batch file with -j -f and removes it afterwards', async () => {
  const nft = createNft({ binary: fake });
  await nft.apply([{ add: { table: { family: 'inet', name: 'bulwark' } } }]);
  const argv = readFileSync(join(dir, 'argv'), 'utf8').trim().split(' ');
  assert.deepEqual(argv.slice(0, 2), ['-j', '-f']);
  assert.ok(!existsSync(argv[2]!), 'batch file deleted');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'batch'), 'utf8')), { nftables: [{ add: { table: { family: 'inet', name: 'bulwark' } } }] });
});

test('a failing transaction rejects with BULWARK_ERR_NFT carrying nft stderr', async () => {
  const nft = createNft({ binary: fake });
  await assert.rejects(nft.apply([{ add: { table: { family: 'inet', name: 'BAD' } } }]), (e: unknown) => {
    assert.ok(isBulwarkError(e, 'BULWARK_ERR_NFT'));
    assert.match(e.message, /nft transaction failed: Error: Could not process rule: No such file or directory/);
    return true;
  });
});

test('an empty batch runs nothing; applyText passes the script with -f', async () => {
  rmSync(join(dir, 'argv'), { force: true });
  const nft = createNft({ binary: fake });
  await nft.apply([]);
  assert.ok(!existsSync(join(dir, 'argv')));
  await nft.applyText('add table inet bulwark\n');
  assert.equal(readFileSync(join(dir, 'batch'), 'utf8'), 'add table inet bulwark\n');
});

test('list parses JSON, passes -t for terse, reports missing objects and garbage output', async () => {
  const nft = createNft({ binary: fake });
  const out = await nft.list(['table', 'inet', 'bulwark'], { terse: true });
  assert.equal(out.nftables.length, 2);
  assert.equal(readFileSync(join(dir, 'argv'), 'utf8').trim(), '-t -j list table inet bulwark');
  await assert.rejects(nft.list(['table', 'inet', 'nosuch']), (e: unknown) => isNftNotFound(e));
  await assert.rejects(nft.list(['garbage']), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_NFT') && /unparsable/.test(e.message));
});

test('a missing binary and a hung nft are BULWARK_ERR_NFT, not crashes', async () => {
  await assert.rejects(createNft({ binary: join(dir, 'does-not-exist') }).apply([{ add: {} }]), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_NFT'));
  const slow = join(dir, 'slow-nft');
  writeFileSync(slow, '#!/bin/sh\nsleep 5\n');
  chmodSync(slow, 0o755);
  const t = Date.now();
  await assert.rejects(createNft({ binary: slow, timeoutMs: 200 }).apply([{ add: {} }]), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_NFT') && /killed after 200 ms/.test(e.message));
  assert.ok(Date.now() - t < 3000);
});
