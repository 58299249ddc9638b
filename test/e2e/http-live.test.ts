/**
 * Live HTTP protection end to end (HTTP app-layer issue): a real ET Open web-attack rule, read by
 * sid from ../shared/corpus/et-open at test time (never copied into the repository), whose
 * `http.uri` content only appears after libhtp's URI normalisation, blocks a live attacker
 * against a real HTTP server (Debian python3's http.server) in the protected test host, under the
 * default response policy. The attacker is curl with `--path-as-is`, so the %-encoded request
 * target reaches the wire as typed.
 *
 * The rule: ET EXPLOIT "FortiOS SSL VPN - Information Disclosure (CVE-2018-13379)", `http.uri;
 * content:"/remote/fgt_lang?lang=/../"` (attempted-admin, ET severity Major → the default
 * policy's `server-attacks` blocks). The request sends the dots as `%2e%2e`: the query part of
 * `http.uri` is url-decoded (htp_urldecode_inplace, no dot-segment removal in the query), so the
 * normalised buffer holds `lang=/../` while the wire (and `http.uri.raw`) hold `lang=/%2e%2e/`.
 *
 * Two lab rules written by the test make the negative visible on the same transaction: the ET rule
 * verbatim except `http.uri` → `http.uri.raw` (never fires: without normalisation the ET rule would
 * not match), and a raw-URI rule on the encoded form (fires: the raw buffer was inspected and holds
 * the encoding). The lab rules name port 8000, which puts the server's port into the capture
 * filter: `alert http … any` rules apply wherever HTTP is detected among the captured ports, and
 * the test's database directory holds no other signatures (the shipped web database has its own
 * encoded-traversal signature, which would blur which rule blocked).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createTestNet, type Host, type TestNet } from './netns.js';
import { startDaemon, ROOT, type DaemonHandle } from './daemon.js';
import { alertsOf, blockedSet, waitFor } from './observe.js';

const CORPUS = resolve(ROOT, '../shared/corpus/et-open');
/** ET EXPLOIT FortiOS SSL VPN - Information Disclosure (CVE-2018-13379). */
const ET_SID = 2027883;
/** Lab: the ET rule with `http.uri` replaced by `http.uri.raw`. */
const RAW_COPY_SID = 9_900_001;
/** Lab: the encoded dot segment on the raw URI. */
const RAW_ENCODED_SID = 9_900_002;
const PORT = 8000;
/** Debian's python3 (not a version manager's shim earlier in PATH). */
const PYTHON = '/usr/bin/python3';
const ATTACK_PATH = '/remote/fgt_lang?lang=/%2e%2e/%2e%2e/%2e%2e/%2e%2e//////////////////////////dev/cmdb/sslvpn_websession';

/** The corpus line of `sid` (the rule text stays in ../shared). */
function corpusRule(sid: number): string {
  const out: string[] = [];
  for (const f of readdirSync(CORPUS).filter((n) => n.endsWith('.rules'))) {
    for (const line of readFileSync(join(CORPUS, f), 'utf8').split('\n')) {
      const m = /^alert\s.*[(;]\s*sid\s*:\s*(\d+)\s*;/.exec(line);
      if (m && Number(m[1]) === sid) out.push(line);
    }
  }
  assert.equal(out.length, 1, `sid ${sid} once in ${CORPUS}`);
  return out[0]!;
}

interface Alert {
  src_ip: string;
  dest_port: number;
  app_proto?: string;
  http?: { url?: string; hostname?: string; http_method?: string; protocol?: string };
  alert: { signature_id: number; action: string; category?: string };
  bulwark: { blocked_until?: string; response?: { action: string; policy_rule: string; reason: string } };
}

const alerts = (d: DaemonHandle): Alert[] => alertsOf<Alert>(d);
const find = (d: DaemonHandle, src: string, sid: number): Alert | undefined => alerts(d).find((a) => a.src_ip === src && a.alert.signature_id === sid);

/** curl from `from` to the protected server; the HTTP status (0: none) and curl's exit code. */
async function curl(from: Host, to: Host, path: string, maxTimeS: number): Promise<{ code: number; status: number; stderr: string }> {
  const r = await from.exec('curl', ['-sS', '--path-as-is', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', String(maxTimeS), `http://${to.ip4}:${PORT}${path}`], {
    timeoutMs: (maxTimeS + 10) * 1000,
  });
  return { code: r.code, status: Number(r.stdout.trim() || '0'), stderr: r.stderr };
}

let net: TestNet;
let attacker: Host;
let benign: Host;
let prot: Host;
let daemon: DaemonHandle | undefined;
let dir: string;
let etRule: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bulwark-http-live-e2e-'));
  etRule = corpusRule(ET_SID);
  const rawCopy = etRule
    .replace(/msg\s*:\s*"[^"]*"/, `msg:"LAB sid ${ET_SID} on http.uri.raw"`)
    .replace(/\bhttp\.uri;/g, 'http.uri.raw;')
    .replace(/sid\s*:\s*\d+\s*;/, `sid:${RAW_COPY_SID};`);
  assert.notEqual(rawCopy, etRule);
  assert.ok(!/\bhttp\.uri;/.test(rawCopy) && rawCopy.includes('http.uri.raw;'), rawCopy);
  const rawEncoded = `alert http any any -> any ${PORT} (msg:"LAB encoded dot segment in the raw URI"; flow:established,to_server; http.uri.raw; content:"lang=/%2e%2e/"; classtype:misc-activity; sid:${RAW_ENCODED_SID}; rev:1;)`;
  const rulesFile = join(dir, 'http-live.rules');
  writeFileSync(rulesFile, [etRule, rawCopy, rawEncoded, ''].join('\n'));
  const dbDir = join(dir, 'databases');
  mkdirSync(dbDir);
  const webRoot = join(dir, 'www');
  mkdirSync(webRoot);
  writeFileSync(join(webRoot, 'index.html'), '<html><body>lab server</body></html>\n');

  net = await createTestNet(['attacker', 'protected', 'benign']);
  attacker = net.host('attacker');
  prot = net.host('protected');
  benign = net.host('benign');
  try {
    // The real server first: bulwark sees its port owned and inspects it passively.
    prot.spawn(PYTHON, ['-m', 'http.server', String(PORT), '--bind', prot.ip4, '--directory', webRoot], { stdio: 'ignore' });
    await waitFor('python3 http.server listening', async () => ((await prot.exec('ss', ['-Hltn', `( sport = :${PORT} )`])).stdout.trim() !== '' ? true : undefined), 15_000);
    daemon = await startDaemon(prot, {
      config: {
        protection: { enabled: true },
        interfaces: ['eth0'],
        databases: { dir: dbDir, requireManifest: false, rules: [rulesFile] },
        // Every detection its own event.
        events: { foldWindow: 0 },
      },
      readyTimeoutMs: 30_000,
    });
    await daemon.waitForLog((e) => e.msg === 'protection enabled', 20_000);
  } catch (e) {
    await daemon?.destroy();
    await net.destroy();
    throw e;
  }
});

after(async () => {
  try {
    await daemon?.destroy();
  } finally {
    await net.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the three rules load and the server port is watched passively', async () => {
  const r = await daemon!.cli(['protection', 'status', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const st = JSON.parse(r.stdout) as { enabled: boolean; ruleset: { signatures: number } | null; intercept: { passive: number[]; intercepted: number[] } };
  assert.equal(st.enabled, true);
  assert.equal(st.ruleset?.signatures, 3, JSON.stringify(st.ruleset));
  assert.ok(st.intercept.passive.includes(PORT), `port ${PORT} inspected passively: ${JSON.stringify(st.intercept)}`);
});

test('a %-encoded FortiOS traversal matches the ET rule on the normalised http.uri and blocks the attacker', async () => {
  // The first request may or may not get its response: the block can land before it does.
  await curl(attacker, prot, ATTACK_PATH, 5);
  const ev = await waitFor('the ET alert', () => find(daemon!, attacker.ip4, ET_SID), 15_000);
  assert.equal(ev.app_proto, 'http');
  assert.equal(ev.dest_port, PORT);
  assert.equal(ev.http?.url, ATTACK_PATH, 'EVE url is the raw target, encoding intact');
  assert.equal(ev.http.hostname, prot.ip4);
  assert.equal(ev.http.http_method, 'GET');
  assert.equal(ev.alert.action, 'blocked');
  assert.ok(ev.bulwark.blocked_until !== undefined);
  assert.deepEqual(ev.bulwark.response, { action: 'block', policy_rule: 'server-attacks', reason: 'category ET EXPLOIT, classtype attempted-admin' });
  // Same transaction: the raw URI holds the encoded bytes (lab raw rule fired, alert only) ...
  const raw = await waitFor('the raw-URI lab alert', () => find(daemon!, attacker.ip4, RAW_ENCODED_SID), 10_000);
  assert.equal(raw.bulwark.response?.action, 'alert');
  assert.equal(raw.http?.url, ATTACK_PATH);
  // ... so the ET content on the raw URI cannot match: only normalisation made the ET rule fire.
  // Both fired from the inspection of that transaction, which the copy went through as well.
  assert.equal(find(daemon!, attacker.ip4, RAW_COPY_SID), undefined, 'the ET rule on http.uri.raw does not match');
  assert.ok((await blockedSet(prot)).includes(attacker.ip4), 'attacker in the kernel blocked4 set');
});

test('the blocked attacker cannot reach the server again; a benign client gets 200 and is not blocked', async () => {
  const again = await curl(attacker, prot, '/', 3);
  assert.notEqual(again.code, 0, `second request from the attacker must fail (curl: ${again.stderr.trim()})`);
  assert.equal(again.status, 0);
  const ok = await curl(benign, prot, '/', 10);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.status, 200);
  // The benign flow went through the same inspection (HTTP detected) and raised nothing.
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(alerts(daemon!).filter((a) => a.src_ip === benign.ip4), []);
  assert.ok(!(await blockedSet(prot)).includes(benign.ip4), 'benign client not in blocked4');
  const m = await daemon!.http('/metrics');
  assert.match(m.body, /bulwark_applayer_flows_total\{app_proto="http"\} [1-9]/);
  assert.match(m.body, /^bulwark_applayer_limits_total\{limit="flow"\} 0$/m);
});

test('the app-layer memory of the ended HTTP flows is given back', async () => {
  // python's http.server answers HTTP/1.0 and closes: every flow above ended with FINs (the
  // attacker's own packets are captured before the kernel drops them).
  const v = await waitFor('bulwark_applayer_memory_bytes back to 0', async () => {
    const m = await daemon!.http('/metrics');
    const n = /^bulwark_applayer_memory_bytes (\d+)$/m.exec(m.body);
    assert.ok(n, 'gauge exported');
    return n[1] === '0' ? 0 : undefined;
  }, 20_000, 500);
  assert.equal(v, 0);
});
