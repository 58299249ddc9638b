/**
 * ReDoS end to end (issue 14, item 9): the real daemon with the shipped databases plus an
 * operator rule `pcre:"/(a+)+$/"`, attackers flooding watched ports with the pathological
 * payloads (31 bytes of a…! and 12 KB of ../). Meanwhile the control socket answers promptly,
 * a real attack from a second host is blocked in the kernel within seconds, and the regex
 * match-limit counter rises.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createTestNet, type Host, type TestNet } from './netns.js';
import { nftSetElements } from './nft.js';
import { startDaemon, type DaemonHandle } from './daemon.js';

let net: TestNet;
let attacker: Host;
let attacker2: Host;
let prot: Host;
let daemon: DaemonHandle;
let rulesDir: string;

/** A sample of `name{labels}` from a Prometheus text exposition (sum over matching lines). */
function metric(body: string, name: string, labels = ''): number {
  let sum = 0;
  let found = false;
  for (const line of body.split('\n')) {
    if (line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    const key = line.slice(0, sp);
    if (key === name + labels || (labels === '' && key.startsWith(`${name}{`)) || key === name) {
      sum += Number(line.slice(sp + 1));
      found = true;
    }
  }
  return found ? sum : NaN;
}

before(async () => {
  net = await createTestNet(['attacker', 'attacker2', 'protected']);
  attacker = net.host('attacker');
  attacker2 = net.host('attacker2');
  prot = net.host('protected');
  rulesDir = mkdtempSync(join(tmpdir(), 'bulwark-redos-'));
  const rules = join(rulesDir, 'operator.rules');
  writeFileSync(rules, 'alert tcp any any -> $HOME_NET any (msg:"operator rule with nested quantifiers"; flow:to_server; pcre:"/(a+)+$/"; sid:1000001; rev:1;)\n');
  daemon = await startDaemon(prot, { config: { interfaces: ['eth0'], protection: { enabled: true }, databases: { rules: [rules] } }, readyTimeoutMs: 30_000 });
  await daemon.waitForLog((e) => e.msg === 'protection enabled', 20_000);
});

after(async () => {
  await daemon.destroy();
  await net.destroy();
  rmSync(rulesDir, { recursive: true, force: true });
});

/**
 * Runs in the attacker namespace: 4 parallel loops for `ms` milliseconds, each connection sends
 * one pathological payload to a watched port (80: the traversal signature's ports) and closes.
 */
function floodScript(host: string, ms: number): string {
  return `
const net = require('net');
const payloads = [Buffer.from('a'.repeat(30) + '!'), Buffer.from('GET /' + '../'.repeat(4096) + ' HTTP/1.1\\r\\n\\r\\n')];
const end = Date.now() + ${ms};
let sent = 0, failed = 0;
function one(i) {
  return new Promise((res) => {
    const s = net.connect({ host: '${host}', port: 80 });
    s.setNoDelay(true);
    s.on('connect', () => { s.end(payloads[i % 2]); });
    s.on('error', () => { failed++; res(); });
    s.on('close', () => { sent++; res(); });
    s.setTimeout(3000, () => s.destroy());
  });
}
async function loop(k) { let i = k; while (Date.now() < end) await one(i++); }
Promise.all([0, 1, 2, 3].map(loop)).then(() => console.log(JSON.stringify({ sent, failed })));
`;
}

test('pathological regex payloads do not stall the daemon: the control socket answers, a real attack is blocked in seconds, limit hits are counted', async () => {
  const m0 = (await daemon.http('/metrics')).body; // also resets the event-loop lag window
  const limit0 = metric(m0, 'bulwark_regex_executions_total', '{result="limit"}');
  assert.ok(Number.isFinite(limit0), 'bulwark_regex_executions_total{result="limit"} is exported');

  const floodMs = 12_000;
  const flood = attacker.exec(process.execPath, ['-e', floodScript(prot.ip4, floodMs)], { timeoutMs: floodMs + 30_000 });
  await new Promise((r) => setTimeout(r, 2000));

  // (a) the control socket answers every time while the flood runs
  const pings: number[] = [];
  const pinger = (async () => {
    const stop = Date.now() + 8000;
    while (Date.now() < stop) {
      const t0 = performance.now();
      const cmd = pings.length % 2 === 0 ? 'ping' : 'status';
      // A frozen daemon fails here after 5 s instead of hanging the test.
      await Promise.race([daemon.call(cmd), new Promise((_, reject) => {
          setTimeout(() => {
            reject(new Error(`${cmd} got no answer within 5 s`));
          }, 5000);
        })]);
      pings.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  // (b) a real attack from a second host is blocked with normal latency
  await new Promise((r) => setTimeout(r, 1000));
  const exploit = 'POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n{"Image":"alpine","Cmd":["sh"],"HostConfig":{"Binds":["/:/host"],"Privileged":true}}';
  const sentAt = performance.now();
  const send = attacker2.exec(process.execPath, ['-e', `const s=require('net').connect(2375,'${prot.ip4}',()=>{s.end(${JSON.stringify(exploit)})});s.on('error',()=>{});s.on('close',()=>{})`], { timeoutMs: 15_000 });
  let blockedAfter = Infinity;
  for (;;) {
    if ((await nftSetElements(prot, 'blocked4')).includes(attacker2.ip4)) {
      blockedAfter = performance.now() - sentAt;
      break;
    }
    if (performance.now() - sentAt > 10_000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await send;
  await pinger;
  const fr = await flood;
  assert.equal(fr.code, 0, fr.stderr);
  const counts = JSON.parse(fr.stdout.trim().split('\n').pop() ?? '{}') as { sent: number; failed: number };

  const m1 = (await daemon.http('/metrics')).body;
  const limit1 = metric(m1, 'bulwark_regex_executions_total', '{result="limit"}');
  const lagMax = metric(m1, 'bulwark_nodejs_eventloop_lag_max_seconds');
  const lagP99 = metric(m1, 'bulwark_nodejs_eventloop_lag_p99_seconds');
  const st = (await daemon.call('status')) as { components?: { protection?: { engine?: { regex?: { limitHits: number; skipped: number; limitHitsBySignature: { signatureId: number; limitHits: number }[] } } } } };
  const rx = st.components?.protection?.engine?.regex;
  const maxPing = Math.max(...pings);
  console.log(JSON.stringify({ flood: counts, pings: pings.length, maxPingMs: Math.round(maxPing), blockedAfterMs: Math.round(blockedAfter), limitHits: limit1 - limit0, skipped: rx?.skipped, lagMaxMs: Math.round(lagMax * 1000), lagP99Ms: Math.round(lagP99 * 1000), bySignature: rx?.limitHitsBySignature }));

  assert.ok(counts.sent > 20, `the flood ran: ${JSON.stringify(counts)}`);
  assert.ok(pings.length >= 10, `pings answered: ${pings.length}`);
  assert.ok(maxPing <= 1000, `slowest ping/status during the flood: ${Math.round(maxPing)} ms`);
  assert.ok(blockedAfter <= 5000, `the Docker API attacker was blocked after ${Math.round(blockedAfter)} ms`);
  // (c) the match limit was hit and counted, per signature too
  assert.ok(limit1 > limit0, `bulwark_regex_executions_total{result="limit"}: ${limit0} → ${limit1}`);
  const sigs = new Set((rx?.limitHitsBySignature ?? []).map((x) => x.signatureId));
  assert.ok(sigs.has(1000001), `operator rule in limitHitsBySignature: ${JSON.stringify(rx?.limitHitsBySignature)}`);
  assert.ok(!(await nftSetElements(prot, 'blocked4')).includes(attacker.ip4), 'the flooder matched nothing and is not blocked');
});
