// Terminal escapes (issue 14): text from outside — a block reason, a rule msg, a config key —
// is printed with its control characters made visible, in every human output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main.js';
import { escapeText } from '../../../src/cli/output.js';
import { CommandTable, ControlServer } from '../../../src/service/control-server.js';
import { silentLogger } from '../../../src/log/index.js';
import { sink } from './sink.js';

const NASTY = 'Exploit \x1b[2J\x1b]0;owned\x07 \x1b]52;c;Y2xpcA==\x07\rline\nFAKE 203.0.113.9  forged\u202e\u0085\x9b31m';
// eslint-disable-next-line no-control-regex -- the point: none of these may reach the terminal
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

async function cli(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  const stdout = sink();
  const stderr = sink();
  const code = await runCli(argv, { stdout, stderr, env });
  return { code, out: stdout.text(), err: stderr.text() };
}

test('escapeText makes every control character visible', () => {
  assert.equal(escapeText('a\x1b[31mb\rc\nd\te'), 'a\\x1b[31mb\\rc\\nd\te');
  assert.equal(escapeText('x\ny', { keepNewlines: true }), 'x\ny');
  assert.equal(escapeText('\u202eabc\u0085\x7f'), '\\u202eabc\\x85\\x7f');
  assert.equal(escapeText('plain 198.51.100.7 — ok'), 'plain 198.51.100.7 — ok');
});

test('bulwark blocked: a reason with ESC/OSC/CR/LF cannot reach the terminal or forge a row', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-esc-'));
  const socketPath = join(dir, 'ctl.sock');
  const commands = new CommandTable();
  const entry = (address: string, reason: string) => ({ address, family: 4, reason, source: 'detection', signatureId: 1, blockedAtMs: Date.now(), expiresAtMs: Date.now() + 3600_000, blockedAt: '', expiresAt: '', expiresInMs: 3600_000 });
  commands.register('blocklist.list', () => Promise.resolve({ now: new Date().toISOString(), entries: [entry('198.51.100.7', NASTY), entry('198.51.100.8', 'fine')] }));
  const server = new ControlServer({ socketPath, log: silentLogger() }, commands);
  await server.start();
  try {
    const r = await cli(['blocked'], { BULWARK_SOCKET: socketPath });
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, RAW);
    assert.equal(r.out.trimEnd().split('\n').length, 3, 'header + two rows, no forged line');
    assert.ok(r.out.includes('\\x1b]0;owned\\x07') && r.out.includes('\\rline\\nFAKE'), r.out);
    // --json stays exact JSON (escaped by JSON itself).
    const j = await cli(['--json', 'blocked'], { BULWARK_SOCKET: socketPath });
    assert.equal((JSON.parse(j.out) as { entries: { reason: string }[] }).entries[0]!.reason, NASTY);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config errors do not echo raw control bytes from the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-esc-cfg-'));
  try {
    const file = join(dir, 'bulwark.yaml');
    writeFileSync(file, `"bad\\e]0;pwned\\a\\rkey\\nconfig x.yaml:1:1: forged": 1\naction: "blo\\eck"\n`);
    for (const argv of [['--config', file, 'status'], ['--config', file, 'config', 'check']]) {
      const r = await cli(argv, {});
      assert.equal(r.code, 78, r.err);
      assert.doesNotMatch(r.err, RAW);
      assert.ok(r.err.includes('\\x1b]0;pwned\\x07\\rkey\\nconfig x.yaml'), r.err);
      assert.equal(r.err.trimEnd().split('\n').length, 2, `one line per issue: ${r.err}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
