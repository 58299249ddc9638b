import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { parseSshdMessage, sshdMessageOfLogLine } from '../../../src/respond/login/sshd.js';
import { LoginFailureTracker } from '../../../src/respond/login/tracker.js';
import { LoginFailureWatcher } from '../../../src/service/login-failures.js';
import { defaultConfig } from '../../../src/config/types.js';
import { silentLogger } from '../../../src/log/index.js';

test('parseSshdMessage: the failures fail2ban\'s sshd filter counts (normal mode)', () => {
  const cases: [string, string, string, number][] = [
    ['Failed password for root from 198.51.100.10 port 40022 ssh2', '198.51.100.10', 'root', 1],
    ['Failed password for invalid user admin from 2001:db8::10 port 40022 ssh2', '2001:db8::10', 'admin', 1],
    ['Failed keyboard-interactive/pam for op from ::ffff:198.51.100.11 port 5 ssh2', '198.51.100.11', 'op', 1],
    ['Failed publickey for op from 198.51.100.12 port 5 ssh2: ED25519 SHA256:abc', '198.51.100.12', 'op', 1],
    ['Invalid user oracle from 203.0.113.7 port 51234', '203.0.113.7', 'oracle', 1],
    ['error: maximum authentication attempts exceeded for root from 203.0.113.8 port 2 ssh2 [preauth]', '203.0.113.8', 'root', 1],
    ['message repeated 3 times: [ Failed password for root from 203.0.113.9 port 22 ssh2]', '203.0.113.9', 'root', 3],
  ];
  for (const [m, addr, user, count] of cases) {
    const f = parseSshdMessage(m);
    assert.ok(f, m);
    assert.deepEqual([f.address, f.user, f.count], [addr, user, count], m);
  }
  for (const m of [
    'Accepted publickey for op from 198.51.100.10 port 40022 ssh2: ED25519 SHA256:x',
    'Connection closed by authenticating user op 198.51.100.10 port 40022 [preauth]',
    'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.10  user=root',
    'Failed password for root from attacker.example port 40022 ssh2',
    'Received disconnect from 198.51.100.10 port 40022:11: Bye Bye [preauth]',
    `Failed password for ${'x'.repeat(5000)} from 198.51.100.10 port 1 ssh2`,
  ])
    assert.equal(parseSshdMessage(m), undefined, m);
  // A user name cannot smuggle another address: the last "from ADDR port N" is sshd's own.
  assert.equal(parseSshdMessage('Failed password for invalid user x from 192.0.2.1 port 1 from 198.51.100.20 port 22 ssh2')?.address, '198.51.100.20');
});

test('sshdMessageOfLogLine: syslog (traditional and RFC 3339), sshd-session, and bare sshd -E lines', () => {
  assert.equal(sshdMessageOfLogLine('Dec  2 11:00:00 host sshd[123]: Failed password for root from 198.51.100.10 port 1 ssh2'), 'Failed password for root from 198.51.100.10 port 1 ssh2');
  assert.equal(sshdMessageOfLogLine('2026-12-02T11:00:00.123456+00:00 host sshd-session[9]: Invalid user a from 198.51.100.10 port 1'), 'Invalid user a from 198.51.100.10 port 1');
  assert.equal(sshdMessageOfLogLine('Failed password for root from 198.51.100.10 port 1 ssh2'), 'Failed password for root from 198.51.100.10 port 1 ssh2');
  assert.equal(sshdMessageOfLogLine('Dec  2 11:00:00 host sudo[1]: Failed password for root from 198.51.100.10 port 1 ssh2'), undefined, 'another program');
});

test('LoginFailureTracker: N failures within the window trigger once, then start over; bounded', () => {
  const t = new LoginFailureTracker({ maxFailures: 5, windowMs: 600_000, maxTracked: 3 });
  for (let i = 0; i < 4; i++) assert.equal(t.add('198.51.100.10', i * 1000), undefined);
  // The first failure falls out of the window.
  assert.equal(t.add('198.51.100.10', 600_000 + 10), undefined);
  assert.equal(t.add('198.51.100.10', 600_000 + 20), 5);
  assert.equal(t.add('198.51.100.10', 600_000 + 30), undefined, 'starts over');
  assert.equal(t.add('203.0.113.1', 0, 5), 5, 'a folded line counts its repeats');
  for (let i = 0; i < 10; i++) t.add(`203.0.113.${10 + i}`, 0);
  assert.ok(t.size <= 3);
  assert.ok(t.evictions > 0);
});

test('LoginFailureWatcher follows a log file from its end, across rotation, and reports the source once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-auth-'));
  const file = join(dir, 'auth.log');
  const fail = (a: string): string => `Dec  2 11:00:00 h sshd[1]: Failed password for root from ${a} port 1 ssh2\n`;
  writeFileSync(file, fail('198.51.100.50').repeat(10)); // old failures: not replayed
  const hits: [string, number][] = [];
  const cfg = { ...defaultConfig().loginFailures, source: 'file' as const, file };
  const w = new LoginFailureWatcher(cfg, silentLogger(), new Registry(), { now: () => Date.now() }, (a, n) => hits.push([a, n]));
  const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  try {
    w.start();
    await wait(400);
    assert.deepEqual(hits, []);
    appendFileSync(file, fail('198.51.100.51').repeat(3));
    await wait(400);
    // Rotation: the old file moves away, a new one starts; its lines are read from its start.
    renameSync(file, `${file}.1`);
    writeFileSync(file, fail('198.51.100.51').repeat(2) + 'Dec  2 11:00:01 h sshd[1]: Accepted publickey for op from 198.51.100.52 port 2 ssh2\n');
    await wait(600);
    assert.deepEqual(hits, [['198.51.100.51', 5]]);
    const st = w.status();
    assert.equal(st.source, 'file');
    assert.equal(st.failures, 5);
  } finally {
    w.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
