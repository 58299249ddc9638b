/** `bulwark scan`: EVE alert lines carry pcap_cnt, the 1-based number of the packet in the file that triggered the match. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main.js';
import { buildPcap, tcpFrame } from '../../../src/engine/pcap-writer.js';
import { sink } from './sink.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-scan-'));
test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const CLI = '203.0.113.5';
const SRV = '198.51.100.10';
const SYN = 2;
const ACK = 16;
const PSH = 8;

/** One HTTP connection; the numbers in comments are the packets' pcap_cnt. */
function capture(): Buffer {
  const cIsn = 1000;
  const sIsn = 5000;
  const c = (seq: number, ack: number, flags: number, payload?: string) =>
    tcpFrame({ srcIp: CLI, dstIp: SRV, srcPort: 40000, dstPort: 80, seq, ack, flags, ...(payload !== undefined ? { payload: Buffer.from(payload, 'latin1') } : {}) });
  const s = (seq: number, ack: number, flags: number, payload?: string) =>
    tcpFrame({ srcIp: SRV, dstIp: CLI, srcPort: 80, dstPort: 40000, seq, ack, flags, ...(payload !== undefined ? { payload: Buffer.from(payload, 'latin1') } : {}) });
  const p1 = 'GET /index.html HTTP/1.1\r\nHost: a\r\nX-Part: hello-';
  const p2 = 'world\r\n\r\n';
  const r1 = 'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nthe ';
  const r2 = 'secret!!';
  const frames = [
    c(cIsn, 0, SYN), // 1
    s(sIsn, cIsn + 1, SYN | ACK), // 2
    c(cIsn + 1, sIsn + 1, ACK), // 3
    c(cIsn + 1, sIsn + 1, ACK | PSH, p1), // 4
    s(sIsn + 1, cIsn + 1 + p1.length, ACK), // 5
    c(cIsn + 1 + p1.length, sIsn + 1, ACK | PSH, p2), // 6: completes "hello-world"
    s(sIsn + 1, cIsn + 1 + p1.length + p2.length, ACK | PSH, r1), // 7
    c(cIsn + 1 + p1.length + p2.length, sIsn + 1 + r1.length, ACK), // 8
    s(sIsn + 1 + r1.length, cIsn + 1 + p1.length + p2.length, ACK | PSH, r2), // 9: completes the body "the secret!!"
  ];
  return buildPcap(frames.map((data, i) => ({ tsUs: 1_763_700_000_000_000 + i * 1000, data })));
}

test('scan --json: pcap_cnt of packet, stream and app-layer matches', async () => {
  const pcap = join(dir, 'http.pcap');
  writeFileSync(pcap, capture());
  const rules = join(dir, 'r.rules');
  writeFileSync(
    rules,
    [
      'alert tcp any any -> any 80 (msg:"syn"; flow:to_server; flags:S; sid:1;)',
      'alert tcp any any -> any 80 (msg:"stream"; flow:to_server,established; content:"hello-world"; sid:2;)',
      'alert http any any -> any any (msg:"body"; flow:to_client; file.data; content:"secret"; sid:3;)',
    ].join('\n') + '\n',
  );
  const stdout = sink();
  const stderr = sink();
  const code = await runCli(['scan', pcap, '--rules', rules, '--json', '--checksum-checks', 'no'], { stdout, stderr, env: {} });
  assert.equal(code, 0, stderr.text());
  const lines = stdout.text().trim().split('\n').map((l) => JSON.parse(l) as { event_type: string; pcap_cnt?: number; alert?: { signature_id: number } });
  const cnt = new Map(lines.filter((l) => l.event_type === 'alert').map((l) => [l.alert!.signature_id, l.pcap_cnt]));
  assert.deepEqual([...cnt.entries()].sort((a, b) => a[0] - b[0]), [[1, 1], [2, 6], [3, 9]]);
  const stats = lines.find((l) => l.event_type === 'stats') as { packets?: number } | undefined;
  assert.equal(stats?.packets, 9);
});

test('scan --json: a file corrupt part way: alerts of the packets before the corrupt record, capture_error, exit 1', async () => {
  const good = capture();
  const bad = Buffer.alloc(16);
  bad.writeUInt32LE(3_925_868_813, 8);
  bad.writeUInt32LE(3_925_868_813, 12);
  const pcap = join(dir, 'corrupt.pcap');
  writeFileSync(pcap, Buffer.concat([good, bad, Buffer.alloc(200, 0x41)]));
  const rules = join(dir, 'c.rules');
  writeFileSync(rules, 'alert http any any -> any any (msg:"body"; flow:to_client; file.data; content:"secret"; sid:3;)\n');
  const stdout = sink();
  const stderr = sink();
  const code = await runCli(['scan', pcap, '--rules', rules, '--json', '--checksum-checks', 'no'], { stdout, stderr, env: {} });
  assert.equal(code, 1);
  assert.match(stderr.text(), /corrupt record 10 \(caplen 3925868813/);
  const lines = stdout.text().trim().split('\n').map((l) => JSON.parse(l) as { event_type: string; pcap_cnt?: number; capture_error?: { offset: number } });
  assert.deepEqual(lines.filter((l) => l.event_type === 'alert').map((l) => l.pcap_cnt), [9]);
  const stats = lines.find((l) => l.event_type === 'stats');
  assert.equal(stats?.capture_error?.offset, good.length);
});

test('scan --rules without databases loads outbound rules (Suricata inspects every connection of a pcap); with --inbound-only or --databases they stay skipped', async () => {
  const pcap = join(dir, 'outbound.pcap');
  writeFileSync(pcap, capture());
  // The server side is $EXTERNAL_NET: a rule about this host's own connections as a client.
  const text = 'alert http $EXTERNAL_NET any -> $HOME_NET any (msg:"outbound"; flow:established,to_client; file.data; content:"secret"; sid:7;)\n';
  const rules = join(dir, 'o.rules');
  writeFileSync(rules, text);
  const stdout = sink();
  const stderr = sink();
  assert.equal(await runCli(['scan', pcap, '--rules', rules, '--json', '--checksum-checks', 'no'], { stdout, stderr, env: {} }), 0, stderr.text());
  const lines = stdout.text().trim().split('\n').map((l) => JSON.parse(l) as { event_type: string; signatures?: number; alert?: { signature_id: number } });
  assert.deepEqual(lines.filter((l) => l.event_type === 'alert').map((l) => l.alert?.signature_id), [7]);
  assert.equal(lines.find((l) => l.event_type === 'stats')?.signatures, 1);

  // --inbound-only: what the daemon would load from the file
  const out1 = sink();
  assert.equal(await runCli(['scan', pcap, '--rules', rules, '--inbound-only', '--json', '--checksum-checks', 'no'], { stdout: out1, stderr: sink(), env: {} }), 0);
  const lines1 = out1.text().trim().split('\n').map((l) => JSON.parse(l) as { event_type: string; signatures?: number });
  assert.equal(lines1.filter((l) => l.event_type === 'alert').length, 0);
  assert.equal(lines1.find((l) => l.event_type === 'stats')?.signatures, 0);

  const db = mkdtempSync(join(dir, 'db-'));
  writeFileSync(join(db, 'o.rules'), text);
  const out2 = sink();
  assert.equal(await runCli(['scan', pcap, '--databases', db, '--json', '--checksum-checks', 'no'], { stdout: out2, stderr: sink(), env: {} }), 0);
  const lines2 = out2.text().trim().split('\n').map((l) => JSON.parse(l) as { event_type: string; signatures?: number });
  assert.equal(lines2.filter((l) => l.event_type === 'alert').length, 0);
  assert.equal(lines2.find((l) => l.event_type === 'stats')?.signatures, 0);
});

test('scan --simulate-ips / --packet-alert-max / --action-order: blocked drop alerts and verdicts, the per-packet limit, the order', async () => {
  const pcap = join(dir, 'ips.pcap');
  writeFileSync(pcap, capture());
  const rules = join(dir, 'ips.rules');
  writeFileSync(
    rules,
    [
      'drop tcp any any -> any 80 (msg:"stream"; flow:to_server,established; content:"hello-world"; sid:2;)',
      'alert tcp any 80 -> any any (msg:"reply"; content:"HTTP/1.1"; sid:4;)',
      'pass tcp any any -> any 80 (msg:"pass"; flow:to_server; content:"hello-world"; sid:5;)',
    ].join('\n') + '\n',
  );
  type Line = { event_type: string; pcap_cnt?: number; verdict?: { action: string }; alert?: { signature_id: number; action: string } };
  const run = async (...extra: string[]): Promise<Line[]> => {
    const stdout = sink();
    const stderr = sink();
    const code = await runCli(['scan', pcap, '--rules', rules, '--json', '--checksum-checks', 'no', ...extra], { stdout, stderr, env: {} });
    assert.equal(code, 0, stderr.text());
    return stdout.text().trim().split('\n').map((l) => JSON.parse(l) as Line).filter((l) => l.event_type === 'alert');
  };
  // default order: the pass comes first on packet 6, hides the drop and passes the flow (the reply is not inspected)
  assert.deepEqual(await run(), []);
  // drop before pass: the drop alerts (IDS: allowed, verdict alert), then the pass still passes the flow
  let a = await run('--action-order', 'drop,alert,reject,pass');
  assert.deepEqual(a.map((l) => [l.alert!.signature_id, l.alert!.action, l.verdict!.action]), [[2, 'allowed', 'alert']]);
  // without the pass rule the reply alerts
  writeFileSync(rules, 'drop tcp any any -> any 80 (msg:"stream"; flow:to_server,established; content:"hello-world"; sid:2;)\nalert tcp any 80 -> any any (msg:"reply"; content:"HTTP/1.1"; sid:4;)\n');
  a = await run();
  assert.deepEqual(a.map((l) => l.alert!.signature_id), [2, 4]);
  // IPS: the stream drop drops the flow, the server's reply is not inspected
  a = await run('--simulate-ips');
  assert.deepEqual(a.map((l) => [l.alert!.signature_id, l.alert!.action, l.verdict!.action]), [[2, 'blocked', 'drop']]);
  const stderr = sink();
  assert.equal(await runCli(['scan', pcap, '--rules', rules, '--action-order', 'drop,alert'], { stdout: sink(), stderr, env: {} }), 2);
  assert.match(stderr.text(), /--action-order/);
  assert.equal(await runCli(['scan', pcap, '--rules', rules, '--packet-alert-max', '0'], { stdout: sink(), stderr: sink(), env: {} }), 2);
});

test('scan --packet-alert-max: one packet raises at most N alerts', async () => {
  const pcap = join(dir, 'max.pcap');
  writeFileSync(pcap, capture());
  const rules = join(dir, 'max.rules');
  writeFileSync(rules, [1, 2, 3].map((i) => `alert tcp any any -> any 80 (flags:S; sid:${10 + i};)`).join('\n') + '\n');
  const stdout = sink();
  assert.equal(await runCli(['scan', pcap, '--rules', rules, '--json', '--checksum-checks', 'no', '--packet-alert-max', '2'], { stdout, stderr: sink(), env: {} }), 0);
  const ids = stdout.text().trim().split('\n').map((l) => JSON.parse(l) as { event_type: string; alert?: { signature_id: number } }).filter((l) => l.event_type === 'alert').map((l) => l.alert!.signature_id);
  assert.deepEqual(ids, [11, 12]);
});
