/**
 * Response policy and threshold.config end to end (issue 10 item 8): the real daemon in a
 * protected test host with two real ET Open rules loaded from the configuration
 * (`databases.rules`), read by sid from ../shared/corpus/et-open at test time (never copied into
 * the repository). Both rules are `alert` in ET Open and match the same MSSQL traffic on port
 * 1433: under the default policy the ET EXPLOIT one blocks and the ET INFO one only alerts; a
 * threshold.config suppress entry for the attacker's address stops both; a bad threshold file is
 * refused on reload with FILE:LINE and the last good one stays. Assertions on `nft -j list` in
 * the namespace and on the EVE file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createTestNet, type Host, type TestNet } from './netns.js';
import { startDaemon, ROOT, type DaemonHandle } from './daemon.js';
import { alertsOf, blockedSet, waitFor } from './observe.js';

const CORPUS = resolve(ROOT, '../shared/corpus/et-open');
const CLIENT = join(ROOT, 'test', 'e2e', 'tools', 'tcp-client.mjs');
/** ET EXPLOIT "SQL sp_configure - configuration change" (attempted-user, no ET severity). */
const EXPLOIT = 2008517;
/** ET INFO "MSSQL sp_addextendedproc Command Observed" (misc-activity, ET rates it Major). */
const INFO = 2039188;

/** The corpus lines of the given sids (the rule text stays in ../shared). */
function corpusRules(sids: number[]): string {
  const want = new Set(sids);
  const out: string[] = [];
  for (const f of readdirSync(CORPUS).filter((n) => n.endsWith('.rules'))) {
    for (const line of readFileSync(join(CORPUS, f), 'utf8').split('\n')) {
      const m = /^(?:alert|drop|reject)\s.*[(;]\s*sid\s*:\s*(\d+)\s*;/.exec(line);
      if (m && want.has(Number(m[1]))) out.push(line);
    }
  }
  assert.equal(out.length, sids.length, `sids ${sids.join(', ')} in ${CORPUS}`);
  return out.join('\n') + '\n';
}

/** MSSQL batch text as the client sends it (UTF-16LE, like TDS SQL batches). */
const mssql = (sql: string): string => Buffer.from(sql, 'utf16le').toString('hex');
const BOTH = mssql("EXEC sp_addextendedproc 'xp_lab', 'lab.dll'; EXEC sp_configure 'show advanced options', 1; RECONFIGURE;");
const INFO_ONLY = mssql("EXEC sp_addextendedproc 'xp_lab', 'lab.dll';");
const EXPLOIT_ONLY = mssql("EXEC sp_configure 'show advanced options', 1;");

interface Alert {
  src_ip: string;
  alert: { signature_id: number; action: string };
  bulwark: { blocked_until?: string; block_skipped?: string; response?: { action: string; policy_rule: string; reason: string } };
}

const alerts = (d: DaemonHandle): Alert[] => alertsOf<Alert>(d);

async function send(from: Host, to: Host, payloadHex: string): Promise<void> {
  const r = await from.exec(process.execPath, [CLIENT, JSON.stringify({ host: to.ip4, port: 1433, payloadHex })], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { connected: boolean };
  assert.equal(res.connected, true, `${from.name} reached port 1433`);
}

const find = (d: DaemonHandle, src: string, sid: number): Alert | undefined => alerts(d).find((a) => a.src_ip === src && a.alert.signature_id === sid);

let net: TestNet;
let attacker: Host;
let observer: Host;
let other: Host;
let prot: Host;
let daemon: DaemonHandle;
let dir: string;
let thresholdFile: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bulwark-policy-e2e-'));
  const rulesFile = join(dir, 'et-sample.rules');
  writeFileSync(rulesFile, corpusRules([EXPLOIT, INFO]));
  thresholdFile = join(dir, 'threshold.config');
  writeFileSync(thresholdFile, '# nothing suppressed yet\n');
  net = await createTestNet(['attacker', 'protected', 'observer', 'other']);
  attacker = net.host('attacker');
  prot = net.host('protected');
  observer = net.host('observer');
  other = net.host('other');
  daemon = await startDaemon(prot, {
    config: {
      protection: { enabled: true },
      interfaces: ['eth0'],
      databases: { rules: [rulesFile] },
      // Every detection its own event, so each decision can be read from the file.
      events: { foldWindow: 0 },
      response: { thresholdFile },
    },
    readyTimeoutMs: 30_000,
  });
  await daemon.waitForLog((e) => e.msg === 'protection enabled', 20_000);
});

after(async () => {
  await daemon.destroy();
  await net.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test('the ET INFO rule alone only alerts: an event that says why, no block', async () => {
  await send(observer, prot, INFO_ONLY);
  const ev = await waitFor('the ET INFO alert', () => find(daemon, observer.ip4, INFO));
  assert.equal(ev.alert.action, 'allowed');
  assert.deepEqual(ev.bulwark.response, { action: 'alert', policy_rule: 'alert-only-categories', reason: 'category ET INFO' });
  assert.equal(ev.bulwark.block_skipped, undefined);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!(await blockedSet(prot)).includes(observer.ip4), 'observer not in the kernel set');
});

test('an ET EXPLOIT alert rule blocks under the default policy; the ET INFO rule on the same traffic only alerts', async () => {
  await send(attacker, prot, BOTH);
  const exploit = await waitFor('the ET EXPLOIT alert', () => find(daemon, attacker.ip4, EXPLOIT));
  assert.equal(exploit.alert.action, 'blocked');
  assert.ok(exploit.bulwark.blocked_until !== undefined);
  assert.deepEqual(exploit.bulwark.response, { action: 'block', policy_rule: 'server-attacks', reason: 'category ET EXPLOIT, classtype attempted-user' });
  const info = await waitFor('the ET INFO alert on the same traffic', () => find(daemon, attacker.ip4, INFO));
  assert.equal(info.bulwark.response?.action, 'alert');
  assert.equal(info.bulwark.response.policy_rule, 'alert-only-categories');
  assert.ok((await blockedSet(prot)).includes(attacker.ip4), 'attacker in blocked4');
  // The running daemon explains the same decision.
  const ex = await daemon.cli(['policy', 'explain', String(EXPLOIT), String(INFO), '--active', '--json']);
  assert.equal(ex.code, 0, ex.stderr);
  const rules = (JSON.parse(ex.stdout) as { rules: { decision: { action: string; rule: string } }[] }).rules;
  assert.deepEqual(rules.map((r) => [r.decision.action, r.decision.rule]), [
    ['block', 'server-attacks'],
    ['alert', 'alert-only-categories'],
  ]);
});

test('a threshold.config suppress entry for the attacker stops both alert and block; another source is still blocked', async () => {
  const un = await daemon.cli(['unblock', attacker.ip4]);
  assert.equal(un.code, 0, un.stderr);
  writeFileSync(thresholdFile, `# lab scanner\nsuppress gen_id 0, sig_id 0, track by_src, ip [${attacker.ip4}]\n`);
  const rl = await daemon.cli(['reload']);
  assert.equal(rl.code, 0, rl.stderr);
  const before = alerts(daemon).filter((a) => a.src_ip === attacker.ip4).length;
  await send(attacker, prot, BOTH);
  // A source not on the list, after the attacker's stream in the same capture: once its block is
  // in, the attacker's stream was inspected too.
  await send(other, prot, EXPLOIT_ONLY);
  const ev = await waitFor('the other source blocked', () => find(daemon, other.ip4, EXPLOIT));
  assert.equal(ev.alert.action, 'blocked');
  assert.equal(alerts(daemon).filter((a) => a.src_ip === attacker.ip4).length, before, 'no event from the suppressed attacker');
  const set = await blockedSet(prot);
  assert.ok(!set.includes(attacker.ip4), 'suppressed attacker not blocked');
  assert.ok(set.includes(other.ip4));
  const m = await daemon.http('/metrics');
  const n = Number(/bulwark_alerts_filtered_total\{reason="suppress"\} (\d+)/.exec(m.body)?.[1] ?? 0);
  assert.ok(n >= 2, `both rules' matches suppressed (${n})`);
});

test('a bad threshold file is refused on reload with FILE:LINE; the last good one stays in force', async () => {
  writeFileSync(thresholdFile, `suppress gen_id 0, sig_id 0, track by_src, ip [${attacker.ip4}]\nrate_filter gen_id 1, sig_id ${EXPLOIT}, track by_flow, count 1, seconds 1, new_action drop, timeout 1\n`);
  const rl = await daemon.cli(['reload']);
  assert.notEqual(rl.code, 0);
  assert.match(rl.stdout + rl.stderr, new RegExp(`threshold ${thresholdFile.replace(/[.]/g, '\\.')}:2: track "by_flow" is not supported`));
  const before = alerts(daemon).filter((a) => a.src_ip === attacker.ip4).length;
  await send(attacker, prot, BOTH);
  await daemon.cli(['unblock', other.ip4]);
  await send(other, prot, EXPLOIT_ONLY);
  await waitFor('the other source blocked again', async () => ((await blockedSet(prot)).includes(other.ip4) ? true : undefined));
  assert.equal(alerts(daemon).filter((a) => a.src_ip === attacker.ip4).length, before, 'still suppressed by the last good file');
  assert.ok(!(await blockedSet(prot)).includes(attacker.ip4));
});
