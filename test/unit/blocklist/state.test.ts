import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadState, saveState } from '../../../src/blocklist/state.js';
import type { BlockEntry } from '../../../src/blocklist/types.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-bl-state-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const entries: BlockEntry[] = [
  { address: '198.51.100.7', family: 4, reason: 'Intrusion.X', signatureId: 42, eventId: 'e1', source: 'detection', blockedAtMs: 1000, expiresAtMs: 3_601_000 },
  { address: '2001:db8::/64', family: 6, reason: 'operator', source: 'cli', blockedAtMs: 2000, expiresAtMs: 9000 },
];

test('state file round trip keeps every field; no temp file left behind', () => {
  const d = join(dir, 'rt');
  saveState(d, entries, 5000);
  const r = loadState(d, 6000);
  assert.equal(r.status, 'ok');
  assert.deepEqual(r.entries, entries);
  assert.deepEqual(readdirSync(d), ['blocklist.json']);
});

test('a missing file is not an error', () => {
  assert.equal(loadState(join(dir, 'nothing-here'), 0).status, 'missing');
});

test('a truncated file is reported and moved aside, not thrown', () => {
  const d = join(dir, 'trunc');
  saveState(d, entries, 5000);
  const text = readFileSync(join(d, 'blocklist.json'), 'utf8');
  writeFileSync(join(d, 'blocklist.json'), text.slice(0, text.length / 2));
  const r = loadState(d, Date.UTC(2026, 0, 2, 3, 4, 5));
  assert.equal(r.status, 'corrupt');
  assert.equal(r.entries.length, 0);
  const files = readdirSync(d);
  assert.deepEqual(files, ['blocklist.json.corrupt-2026-01-02T03-04-05-000Z']);
  assert.equal(r.movedTo?.endsWith(files[0]!), true);
});

test('garbage and wrong shapes are corrupt; malformed entries inside a good file are dropped and counted', () => {
  for (const [i, body] of ['\u0000\u0001garbage', '[]', '{"entries": 5}', 'null'].entries()) {
    const d = join(dir, `g${i}`);
    saveState(d, [], 0);
    writeFileSync(join(d, 'blocklist.json'), body);
    assert.equal(loadState(d, 0).status, 'corrupt', body);
  }
  const d = join(dir, 'partial');
  saveState(d, [], 0);
  writeFileSync(
    join(d, 'blocklist.json'),
    JSON.stringify({ version: 1, entries: [entries[0], { address: 'not-an-ip', reason: 'x', blockedAtMs: 1, expiresAtMs: 2 }, { address: '198.51.100.9/32', reason: 'y', blockedAtMs: 1, expiresAtMs: 2, source: 'weird' }, 17] }),
  );
  const r = loadState(d, 0);
  assert.equal(r.status, 'ok');
  assert.equal(r.dropped, 2);
  assert.deepEqual(r.entries.map((e) => e.address), ['198.51.100.7', '198.51.100.9']);
  assert.equal(r.entries[1]!.source, 'restore', 'unknown source normalised');
});
