/**
 * `bulwark scan --workers N`: real worker threads give the alerts of one engine, in the same
 * order, with thresholds counted across workers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main.js';
import { buildPcap, tcpFrame } from '../../../src/engine/pcap-writer.js';
import { DecodedPacket, decodePacket, LINKTYPE } from '../../../src/engine/decode/decode.js';
import { shardOf } from '../../../src/engine/shard/key.js';
import { sink } from './sink.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-scan-workers-'));
test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const SYN = 2;
const ACK = 16;
const PSH = 8;

function workerOf(a: string, b: string, n: number): number {
  const f = tcpFrame({ srcIp: a, dstIp: b, srcPort: 1, dstPort: 80, seq: 1, ack: 0, flags: SYN });
  const p = new DecodedPacket();
  decodePacket(f, 0, f.length, LINKTYPE.ETHERNET, p);
  return shardOf(p, n);
}

/** One HTTP connection as frames (handshake, request in two segments, response). */
function connection(cli: string, srv: string, port: number, uri: string): Uint8Array[] {
  const c = (seq: number, ack: number, flags: number, payload?: string) =>
    tcpFrame({ srcIp: cli, dstIp: srv, srcPort: port, dstPort: 80, seq, ack, flags, ...(payload !== undefined ? { payload: Buffer.from(payload, 'latin1') } : {}) });
  const s = (seq: number, ack: number, flags: number, payload?: string) =>
    tcpFrame({ srcIp: srv, dstIp: cli, srcPort: 80, dstPort: port, seq, ack, flags, ...(payload !== undefined ? { payload: Buffer.from(payload, 'latin1') } : {}) });
  const req = `GET ${uri} HTTP/1.1\r\nHost: x\r\n\r\n`;
  const res = 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret';
  return [
    c(100, 0, SYN),
    s(500, 101, SYN | ACK),
    c(101, 501, ACK),
    c(101, 501, ACK | PSH, req),
    s(501, 101 + req.length, ACK | PSH, res),
    c(101 + req.length, 501 + res.length, ACK),
  ];
}

test('scan --workers 3 gives the alerts of one engine, in order, thresholds across workers', async () => {
  // Servers in three different workers for the same client; interleaved connections.
  const cli = '203.0.113.7';
  const servers: string[] = [];
  for (let i = 1; servers.length < 3 && i < 250; i++) {
    const srv = `198.51.100.${i}`;
    if (!servers.some((s) => workerOf(cli, s, 3) === workerOf(cli, srv, 3))) servers.push(srv);
  }
  assert.equal(servers.length, 3);
  const conns = servers.flatMap((srv, i) => [connection(cli, srv, 40000 + i, '/admin.php?x=1'), connection('203.0.113.50', srv, 41000 + i, '/index.html')]);
  const frames: Uint8Array[] = [];
  for (let k = 0; k < 6; k++) for (const c of conns) frames.push(c[k]!);
  const pcap = join(dir, 'multi.pcap');
  writeFileSync(pcap, buildPcap(frames.map((data, i) => ({ tsUs: 1_763_700_000_000_000 + i * 1000, data }))));
  const rules = join(dir, 'r.rules');
  writeFileSync(
    rules,
    [
      'alert tcp any any -> any 80 (msg:"syn"; flow:to_server; flags:S; sid:1;)',
      // the alert's descriptive fields come from the main thread (shard/describe.ts)
      'alert http any any -> any any (msg:"admin uri"; http.uri; content:"/admin.php"; classtype:web-application-attack; reference:url,example.com/a; metadata:created_at 2024_01_01, deployment Perimeter; sid:2;)',
      // one alert a minute per source, whichever worker inspects the match
      'alert http any any -> any any (msg:"admin once"; http.uri; content:"/admin.php"; threshold:type limit, track by_src, count 1, seconds 60; sid:3;)',
      'alert http any any -> any any (msg:"body"; flow:to_client; file.data; content:"secret"; sid:4;)',
    ].join('\n') + '\n',
  );
  const run = async (workers: number): Promise<{ alerts: string[]; stats: Record<string, unknown> }> => {
    const stdout = sink();
    const stderr = sink();
    const code = await runCli(['scan', pcap, '--rules', rules, '--json', '--checksum-checks', 'no', '--workers', String(workers)], { stdout, stderr, env: {} });
    assert.equal(code, 0, stderr.text());
    const lines = stdout.text().trim().split('\n').map((l) => JSON.parse(l) as { event_type: string; pcap_cnt?: number; src_ip: string; dest_ip: string; alert: { signature_id: number; metadata?: unknown } });
    return {
      alerts: lines.filter((l) => l.event_type === 'alert').map((l) => `${l.pcap_cnt ?? '-'} ${l.alert.signature_id} ${l.src_ip}>${l.dest_ip} ${JSON.stringify(l.alert)}`),
      stats: lines.find((l) => l.event_type === 'stats') as unknown as Record<string, unknown>,
    };
  };
  const one = await run(1);
  const three = await run(3);
  assert.deepEqual(three.alerts, one.alerts);
  const count = (sid: number): number => one.alerts.filter((a) => a.split(' ')[1] === String(sid)).length;
  assert.equal(count(1), 6, 'a SYN alert per connection');
  assert.equal(count(2), 3, 'admin uri in each of the three address pairs');
  assert.match(three.alerts.find((a) => a.split(' ')[1] === '2')!, /"signature":"admin uri".*"references":\["https:\/\/example.com\/a"\],"metadata":\{"created_at":\["2024_01_01"\]/);
  assert.equal(count(3), 1, 'the threshold counted the source once over three workers');
  assert.equal(count(4), 6);
  assert.equal(three.stats.workers, 3);
  const inspected = (three.stats.shard as { inspected: number[] }).inspected;
  assert.equal(inspected.length, 3);
  for (const n of inspected) assert.ok(n >= 6, `every worker inspected its connections: ${inspected.join(',')}`);
  assert.equal(inspected.reduce((a, b) => a + b, 0), frames.length);
});

test('scan --workers: bad counts and --simulate-ips are usage errors', async () => {
  for (const args of [['--workers', '0'], ['--workers', 'x'], ['--workers', '65'], ['--workers', '2', '--simulate-ips']]) {
    const stderr = sink();
    const code = await runCli(['scan', join(dir, 'none.pcap'), '--rules', join(dir, 'none.rules'), ...args], { stdout: sink(), stderr, env: {} });
    assert.equal(code, 2, `${args.join(' ')}: ${stderr.text()}`);
    assert.match(stderr.text(), /--workers/);
  }
});

test('scan --workers: the rules are compiled on a thread of their own, with the errors of one worker', async () => {
  const pcap = join(dir, 'empty.pcap');
  writeFileSync(pcap, buildPcap([]));
  const bad = join(dir, 'bad.rules');
  writeFileSync(bad, 'alert tcp any any -> any 80 (msg:"x"; content:"a"; sid:1;)\nalert tcp any any -> any 80 (msg:"y"; nosuchkeyword; sid:2;)\n');
  const run = async (rules: string, workers: number): Promise<{ code: number; err: string }> => {
    const stderr = sink();
    const code = await runCli(['scan', pcap, '--rules', rules, '--json', '--workers', String(workers)], { stdout: sink(), stderr, env: {} });
    return { code, err: stderr.text() };
  };
  for (const rules of [join(dir, 'missing.rules'), bad]) {
    const one = await run(rules, 1);
    const two = await run(rules, 2);
    assert.deepEqual(two, one, rules);
  }
  // The main thread reports the size of a ruleset it did not compile (the compile thread says).
  const good = join(dir, 'good.rules');
  writeFileSync(good, 'alert tcp any any -> any 80 (msg:"x"; content:"a"; sid:1;)\n');
  const stdout = sink();
  assert.equal(await runCli(['scan', pcap, '--rules', good, '--json', '--workers', '2'], { stdout, stderr: sink(), env: {} }), 0);
  const stats = JSON.parse(stdout.text().trim().split('\n').pop()!) as { signatures: number; workers: number };
  assert.equal(stats.signatures, 1);
  assert.equal(stats.workers, 2);
});
