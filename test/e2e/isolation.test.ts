/**
 * Network isolation end to end: the real daemon in the "protected" namespace, real nft, real
 * sockets. Hosts: client .10, protected .11, dns .12, mgmt .13, other .14 (198.51.100.0/24).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestNet, type TestNet, type Host } from './netns.js';
import { startDaemon, type DaemonHandle } from './daemon.js';
import { controlCall } from '../../src/service/control-client.js';
import { eventually, execIn, probe, sleep, spawnProbe, startServer, type Proc } from '../fixtures/isolation/helpers.js';

let net: TestNet;
let tmp: string;
let resolvConf: string;
const daemons: DaemonHandle[] = [];
let C: Host, P: Host, D: Host, M: Host, O: Host;
let server8080: Proc;

before(async () => {
  net = await createTestNet(['client', 'protected', 'dns', 'mgmt', 'other']);
  [C, P, D, M, O] = ['client', 'protected', 'dns', 'mgmt', 'other'].map((n) => net.host(n)) as [Host, Host, Host, Host, Host];
  tmp = mkdtempSync(join(tmpdir(), 'bw-iso-e2e-'));
  resolvConf = join(tmp, 'resolv.conf');
  writeFileSync(resolvConf, `# test resolver\nnameserver ${D.ip4}\n`);
  server8080 = await startServer(P, ['server', 'tcp', '8080']);
  await Promise.all([
    startServer(P, ['server', 'tcp', '2222']),
    startServer(P, ['server', 'udp', '9090']),
    startServer(C, ['server', 'tcp', '8080']),
    startServer(C, ['server', 'udp', '9090']),
    startServer(D, ['dns', '53', '198.51.100.99']),
    startServer(O, ['dns', '53', '198.51.100.98']),
    startServer(M, ['server', 'tcp', '8443']),
  ]);
});

after(async () => {
  for (const d of daemons) await d.destroy().catch(() => undefined);
  await net.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

async function daemon(extra: Record<string, unknown> = {}, stateDir?: string): Promise<DaemonHandle> {
  // A failed earlier test may have left its daemon running (same namespace, same metrics port).
  for (const old of daemons) await old.kill().catch(() => undefined);
  const d = await startDaemon(P, {
    config: { management: [{ address: M.ip4, port: 8443, description: 'test management server' }], ...extra },
    env: { BULWARK_ISOLATION_RESOLV_CONF: resolvConf, ...(stateDir ? { BULWARK_STATE_DIR: stateDir } : {}) },
  });
  daemons.push(d);
  return d;
}

async function cliJson(d: DaemonHandle, args: string[]): Promise<Record<string, unknown>> {
  const r = await d.cli(['--json', ...args]);
  assert.equal(r.code, 0, `bulwark ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const tcpOk = async (from: Host, to: string, port: number): Promise<boolean> => (await probe(from, ['connect', 'tcp', to, String(port), '1500'])).ok === true;
const udpOk = async (from: Host, to: string, port: number): Promise<boolean> => (await probe(from, ['udp', to, String(port), '1500'])).ok === true;
const pingOk = async (from: Host, to: string): Promise<boolean> => (await execIn(from, 'ping', [...(to.includes(':') ? ['-6'] : []), '-c1', '-W1', to])).code === 0;

async function connectivity(): Promise<Record<string, boolean>> {
  const [tcpIn, tcpOut, udpIn, udpOut, icmpIn, icmpOut, icmp6In, mgmt] = await Promise.all([
    tcpOk(C, P.ip4, 8080),
    tcpOk(P, C.ip4, 8080),
    udpOk(C, P.ip4, 9090),
    udpOk(P, C.ip4, 9090),
    pingOk(C, P.ip4),
    pingOk(P, C.ip4),
    pingOk(C, P.ip6),
    tcpOk(P, M.ip4, 8443),
  ]);
  return { tcpIn, tcpOut, udpIn, udpOut, icmpIn, icmpOut, icmp6In, mgmt };
}

const ALL_OPEN = { tcpIn: true, tcpOut: true, udpIn: true, udpOut: true, icmpIn: true, icmpOut: true, icmp6In: true, mgmt: true };
const ISOLATED = { tcpIn: false, tcpOut: false, udpIn: false, udpOut: false, icmpIn: false, icmpOut: false, icmp6In: false, mgmt: true };

test('manual isolation: sever, block new TCP/UDP/ICMP both ways, keep DNS to the configured resolver and management, then lift', async () => {
  const d = await daemon();
  assert.deepEqual(await connectivity(), ALL_OPEN, 'baseline: everything reachable before isolation');
  const dnsBefore = await probe(P, ['dnsq', O.ip4, 'x.test', '1500']);
  assert.equal(dnsBefore.ok, true, 'the other resolver answers before isolation');

  const held = spawnProbe(C, ['hold', 'tcp', P.ip4, '8080']);
  await held.waitFor((l) => l.connected === true);
  const on = await d.cli(['isolation', 'on', '--for', '10m', '--reason', 'e2e incident']);
  assert.equal(on.code, 0, on.stderr);
  assert.match(on.stdout, /^ISOLATED FROM NETWORK$/m);
  assert.match(on.stdout, /^kernel: +in force, matches the state/m);

  // The established connection is reset on the client's end (the RST window lets it out).
  const closed = await held.waitFor((l) => l.closed === true && l.error !== undefined, 5000);
  assert.equal(closed.error, 'ECONNRESET');
  // … and on the protected host's end (socket destroyed by ss -K).
  const held0 = held.lines.find((l) => l.connected === true)!;
  const serverSide = await server8080.waitFor((l) => typeof l.closed === 'string' && l.closed.endsWith(`${C.ip4}:${String(held0.localPort)}`) && l.error !== undefined, 3000);
  assert.equal(serverSide.error, 'ECONNABORTED');

  const st = await cliJson(d, ['isolation', 'status']);
  assert.equal(st.tag, 'ISOLATED FROM NETWORK');
  assert.equal(st.mode, 'manual');
  assert.equal(st.reason, 'e2e incident');
  assert.ok(typeof st.severed === 'number' && st.severed >= 1, `severed ${String(st.severed)}`);
  assert.deepEqual((st.kernel as { problems: string[] }).problems, []);
  assert.equal((st.kernel as { matches: boolean }).matches, true);
  assert.ok(Math.abs((st.timeLeftMs as number) - 600_000) < 15_000);

  assert.deepEqual(await connectivity(), ISOLATED);
  const dns = await probe(P, ['dnsq', D.ip4, 'x.test', '1500']);
  assert.deepEqual(dns, { ok: true, answer: '198.51.100.99' }, 'DNS to the resolver named in resolv.conf still works');
  const dnsOther = await probe(P, ['dnsq', O.ip4, 'x.test', '1500']);
  assert.equal(dnsOther.ok, false, 'DNS to a resolver the host does not use is blocked');

  const ex = await cliJson(d, ['isolation', 'exclusions']);
  assert.equal(ex.isolated, true);
  assert.equal(ex.kernelMatches, true);
  const ids = (ex.exclusions as { id: string }[]).map((e) => e.id);
  assert.ok(ids.includes('management/0') && ids.includes('profile:dns-client/1'), ids.join(','));

  await cliJson(d, ['isolation', 'status']); // reads the kernel counters now (else within 5 s)
  const metrics = await d.http('/metrics');
  const dropped = (dir: string): number => Number(new RegExp(`^bulwark_isolation_dropped_packets_total\\{direction="${dir}"\\} (\\d+)$`, 'm').exec(metrics.body)?.[1] ?? -1);
  assert.ok(dropped('in') > 0 && dropped('out') > 0, `dropped in ${dropped('in')} out ${dropped('out')}`);
  assert.match(metrics.body, /^bulwark_isolation_active 1$/m);
  assert.match(metrics.body, /^bulwark_isolation_severed_connections_total [1-9]/m);

  const off = await d.cli(['isolation', 'off']);
  assert.equal(off.code, 0, off.stderr);
  assert.match(off.stdout, /isolation ended/);
  assert.deepEqual(await connectivity(), ALL_OPEN, 'everything reachable again after off');
  assert.ok(d.logs().some((l) => l.includes('host isolated from the network')), 'start logged');
  assert.ok(d.logs().some((l) => l.includes('isolation ended by request')), 'end logged');
  await d.stop();
});

test('custom inbound exclusion for one address and port; other addresses stay blocked; limits and 0.0.0.0 refused', async () => {
  const d = await daemon();
  const bad = await d.cli(['isolation', 'exclusions', 'add', '--direction', 'inbound', '--protocol', 'tcp', '--remote', '0.0.0.0', '--local-ports', '2222']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unspecified address \(0\.0\.0\.0 and :: alone are refused\)/);
  const add = await d.cli(['isolation', 'exclusions', 'add', '--direction', 'inbound', '--protocol', 'tcp', '--remote', C.ip4, '--local-ports', '2222', '--description', 'client ssh']);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /^added 1/);

  assert.equal(await tcpOk(C, P.ip4, 2222), true);
  assert.equal(await tcpOk(O, P.ip4, 2222), true);
  assert.equal((await d.cli(['isolation', 'on'])).code, 0);
  assert.equal(await tcpOk(C, P.ip4, 2222), true, 'excluded address and port reach the host');
  assert.equal(await tcpOk(O, P.ip4, 2222), false, 'another address on the same port is blocked');
  assert.equal(await tcpOk(C, P.ip4, 8080), false, 'the excluded address on another port is blocked');

  // Editing while isolated applies at once: disable → blocked.
  assert.equal((await d.cli(['isolation', 'exclusions', 'disable', '1'])).code, 0);
  assert.equal(await tcpOk(C, P.ip4, 2222), false, 'disabled exclusion no longer applies');
  assert.equal((await d.cli(['isolation', 'exclusions', 'enable', '1'])).code, 0);
  assert.equal(await tcpOk(C, P.ip4, 2222), true);

  // 50 inbound at most ('both' counts as inbound too): 1 exists, 49 more fit, the 51st is refused.
  for (let i = 0; i < 49; i++) {
    await controlCall(d.socket, 'isolation.exclusions.add', { rule: { direction: i % 2 ? 'both' : 'inbound', protocol: 'tcp', remoteAddress: `203.0.113.${i + 1}`, localPorts: '22' } });
  }
  await assert.rejects(controlCall(d.socket, 'isolation.exclusions.add', { rule: { direction: 'inbound', protocol: 'tcp', remoteAddress: '203.0.113.200', localPorts: '22' } }), /at most 50 inbound/);
  const over = await d.cli(['isolation', 'exclusions', 'add', '--direction', 'both', '--remote', '203.0.113.201', '--local-ports', '22']);
  assert.equal(over.code, 1);
  assert.match(over.stderr, /at most 50 inbound/);
  const outbound = await d.cli(['isolation', 'exclusions', 'add', '--direction', 'outbound', '--remote', '203.0.113.202', '--remote-ports', '443']);
  assert.equal(outbound.code, 0, 'outbound has its own limit');
  const st = await cliJson(d, ['isolation', 'status']);
  assert.equal((st.kernel as { matches: boolean }).matches, true, JSON.stringify(st.kernel));
  assert.equal(await tcpOk(C, P.ip4, 2222), true);
  assert.equal((await d.cli(['isolation', 'off'])).code, 0);
  await d.stop();
});

test('tamper: flushed isolation rules come back within 10 s, logged and counted', async () => {
  const d = await daemon();
  assert.equal((await d.cli(['isolation', 'on', '--for', '5m'])).code, 0);
  assert.equal(await tcpOk(C, P.ip4, 8080), false);
  const flush = await execIn(P, 'nft', ['flush chain inet bulwark iso_in; flush chain inet bulwark iso_out; flush chain inet bulwark iso_fwd']);
  assert.equal(flush.code, 0, flush.stderr);
  assert.equal(await tcpOk(C, P.ip4, 8080), true, 'rules really gone');
  const t0 = Date.now();
  const back = await eventually(async () => !(await tcpOk(C, P.ip4, 8080)), 12_000, 500);
  assert.ok(back, 'isolation re-applied');
  assert.ok(Date.now() - t0 < 10_000 + 1500, `re-applied after ${Date.now() - t0} ms`);
  assert.ok(d.logs().some((l) => l.includes('re-applying')), 'log line');
  const m = await d.http('/metrics');
  assert.match(m.body, /^bulwark_isolation_reapplied_total\{reason="tamper"\} [1-9]/m);
  assert.equal((await d.cli(['isolation', 'off'])).code, 0);
  await d.stop();
});

test('restart re-applies the stored deadline; `isolation off` with the daemon stopped restores traffic', async () => {
  const d1 = await daemon();
  assert.equal((await d1.cli(['isolation', 'on', '--for', '10m'])).code, 0);
  await d1.stop();
  assert.equal(await tcpOk(C, P.ip4, 8080), false, 'isolation stays in the kernel while the daemon is stopped');
  // Simulate a reboot's loss of the kernel state, then restart: re-applied with the time left.
  assert.equal((await execIn(P, 'nft', ['delete', 'table', 'inet', 'bulwark'])).code, 0);
  assert.equal(await tcpOk(C, P.ip4, 8080), true);
  const d2 = await daemon({}, d1.stateDir);
  const restored = !(await tcpOk(C, P.ip4, 8080));
  if (!restored) console.log((await execIn(P, 'nft', ['list', 'table', 'inet', 'bulwark'])).stdout, d2.logs().join('\n'));
  assert.equal(restored, true, 'restored after restart');
  const st = await cliJson(d2, ['isolation', 'status']);
  assert.equal(st.isolated, true);
  assert.ok((st.timeLeftMs as number) < 600_000 && (st.timeLeftMs as number) > 540_000);
  assert.match((await d2.http('/metrics')).body, /^bulwark_isolation_reapplied_total\{reason="restart"\} 1$/m);
  await d2.stop();

  const off = await d2.cli(['isolation', 'off']);
  assert.equal(off.code, 0, off.stderr);
  assert.match(off.stdout, /daemon not running: isolation rules removed directly from the kernel/);
  assert.deepEqual(await connectivity(), ALL_OPEN);
  const st2 = await d2.cli(['--json', 'isolation', 'status']);
  assert.equal((JSON.parse(st2.stdout) as { isolated: boolean }).isolated, false);
});

test('a 3-second isolation ends by itself after the daemon was killed with SIGKILL', async () => {
  const d = await daemon();
  assert.equal((await d.cli(['isolation', 'on', '--for', '3s'])).code, 0);
  const t0 = Date.now();
  await d.stop('SIGKILL');
  assert.equal(await tcpOk(C, P.ip4, 8080), false, 'isolated right after the kill');
  const wait = 3200 - (Date.now() - t0);
  if (wait > 0) await sleep(wait);
  assert.deepEqual(await connectivity(), ALL_OPEN, 'the kernel lifted isolation on time without the daemon');
});
