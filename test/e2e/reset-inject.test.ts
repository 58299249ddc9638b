/**
 * Resetting connections without SOCK_DESTROY: with BULWARK_RESET_METHOD=inject the daemon learns
 * the peer's sequence number from capture (probe → challenge ACK) and injects an RST with `cap`.
 * Both uses are covered: the reset of existing connections at start, and severing a blocked
 * attacker's connection.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createTestNet, type Host, type TestNet } from './netns.js';
import { startDaemon, ROOT, type DaemonHandle } from './daemon.js';

const CLIENT = join(ROOT, 'test', 'e2e', 'tools', 'tcp-client.mjs');

interface ClientResult {
  connected: boolean;
  closed: string | null;
}

async function tcp(from: Host, o: Record<string, unknown>): Promise<ClientResult> {
  const r = await from.exec(process.execPath, [CLIENT, JSON.stringify(o)], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as ClientResult;
}

async function established(h: Host, filter: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if ((await h.exec('ss', ['-Htn', 'state', 'established', filter])).stdout.trim() !== '') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no established connection for ${filter}`);
}

let net: TestNet;
let daemon: DaemonHandle;
let existing: Promise<ClientResult>;

before(async () => {
  net = await createTestNet(['attacker', 'protected', 'other']);
  const prot = net.host('protected');
  prot.spawn(process.execPath, ['-e', "require('net').createServer((s)=>{s.on('data',()=>{}); s.on('error',()=>{})}).listen(6379)"]);
  prot.spawn(process.execPath, ['-e', "require('http').createServer((q,s)=>{s.end('ok\\n')}).listen(8080)"]);
  await new Promise((r) => setTimeout(r, 400));
  // Idle after its first bytes: the RST's sequence number has to be learned by probing.
  existing = tcp(net.host('other'), { host: prot.ip4, port: 6379, payload: 'PING\r\n', hold: 20_000 });
  await established(prot, '( sport = :6379 )');
  daemon = await startDaemon(prot, { config: { protection: { enabled: true }, interfaces: ['eth0'] }, env: { BULWARK_RESET_METHOD: 'inject' }, readyTimeoutMs: 30_000 });
  await daemon.waitForLog((e) => e.msg === 'protection enabled', 20_000);
});

after(async () => {
  await daemon.destroy();
  await net.destroy();
});

test('without SOCK_DESTROY an existing connection on an intercepted port is reset by an injected RST', async () => {
  const r = await existing;
  assert.equal(r.connected, true);
  assert.equal(r.closed, 'reset', JSON.stringify(r));
  const st = JSON.parse((await daemon.cli(['protection', 'status', '--json'])).stdout) as { resetMethod: string; connectionsReset: number };
  assert.equal(st.resetMethod, 'inject');
  assert.ok(st.connectionsReset >= 1);
});

test("without SOCK_DESTROY a blocked attacker's idle connection is reset by an injected RST", async () => {
  const prot = net.host('protected');
  const attacker = net.host('attacker');
  const held = tcp(attacker, { host: prot.ip4, port: 6379, payload: 'PING\r\n', hold: 20_000 });
  await established(prot, `( sport = :6379 and dst ${attacker.ip4} )`);
  await tcp(attacker, { host: prot.ip4, port: 6379, payload: 'CONFIG SET dir /var/spool/cron/crontabs\r\n' });
  const r = await held;
  assert.equal(r.closed, 'reset', JSON.stringify(r));
  const st = JSON.parse((await daemon.cli(['protection', 'status', '--json'])).stdout) as { attackerConnectionsSevered: number };
  assert.ok(st.attackerConnectionsSevered >= 1);
});
