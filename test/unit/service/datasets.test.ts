/** Dataset files written by the service: atomic replace, directories created, failures isolated. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { saveDatasets } from '../../../src/service/datasets.js';
import { silentLogger } from '../../../src/log/index.js';

test('saveDatasets writes each file atomically and keeps going after a failure', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bulwark-ds-'));
  try {
    const ok = path.join(dir, 'sub', 'a.csv');
    const old = path.join(dir, 'b.csv');
    writeFileSync(old, 'old\n');
    // a directory where the file should go: the rename fails
    const blocked = path.join(dir, 'c.csv');
    mkdirSync(path.join(blocked, 'x'), { recursive: true });
    const r = await saveDatasets(
      [
        { name: 'a', path: ok, text: 'YQ==\n', entries: 1 },
        { name: 'c', path: blocked, text: 'Yw==\n', entries: 1 },
        { name: 'b', path: old, text: 'Yg==\n', entries: 1 },
      ],
      silentLogger(),
    );
    assert.deepEqual(r, { written: 2, failed: 1 });
    assert.equal(readFileSync(ok, 'utf8'), 'YQ==\n');
    assert.equal(readFileSync(old, 'utf8'), 'Yg==\n');
    // no temporary file left behind
    assert.deepEqual(readdirSync(dir).sort(), ['b.csv', 'c.csv', 'sub']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
