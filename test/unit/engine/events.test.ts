import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { EventFolder, EventWriter, toAlertEvent, eveTimestamp } from '../../../src/engine/events.js';
import type { Detection } from '../../../src/engine/types.js';
import { silentLogger } from '../../../src/log/index.js';

function det(over: Partial<Detection> = {}): Detection {
  return {
    timestampMs: Date.UTC(2026, 10, 21, 7, 30, 0, 123) + 0.456,
    flowId: 123456789n,
    srcIp: '198.51.100.7',
    srcPort: 40000,
    destIp: '203.0.113.1',
    destPort: 80,
    proto: 'TCP',
    signatureId: 1001,
    rev: 2,
    signature: 'Intrusion.HTTP.Test',
    category: 'web-application-attack',
    severity: 'high',
    action: 'block',
    handshakeCompleted: true,
    payloadExcerpt: 'GET /evil',
    ...over,
  };
}

test('toAlertEvent gives an EVE-compatible alert', () => {
  const ev = toAlertEvent(det(), { action: 'blocked', blockedUntilMs: Date.UTC(2026, 10, 21, 8, 30), count: 3, eventId: 'e-1' });
  assert.equal(ev.timestamp, '2026-11-21T07:30:00.123456+0000');
  assert.equal(ev.flow_id, '123456789');
  assert.equal(ev.event_type, 'alert');
  assert.deepEqual(ev.alert, { action: 'blocked', signature_id: 1001, rev: 2, signature: 'Intrusion.HTTP.Test', category: 'web-application-attack', severity: 1 });
  assert.equal(ev.bulwark.event, 'Network attack detected');
  assert.equal(ev.bulwark.count, 3);
  assert.equal(ev.bulwark.blocked_until, '2026-11-21T08:30:00.000Z');
  assert.equal(ev.bulwark.payload_excerpt, 'GET /evil');
  const ev2 = toAlertEvent(det({ severity: 'low', detector: 'portscan', details: { distinct_ports: 20 } }), { action: 'allowed', count: 1, eventId: 'e-2', blockSkipped: 'handshake not completed' });
  assert.equal(ev2.alert.severity, 3);
  assert.equal(ev2.bulwark.detector, 'portscan');
  assert.equal(ev2.bulwark.block_skipped, 'handshake not completed');
  assert.equal(ev2.bulwark.blocked_until, undefined);
  assert.equal(eveTimestamp(0), '1970-01-01T00:00:00.000000+0000');
});

test('EventFolder folds repeats of (source, signature) within the window', () => {
  const folded: [Detection, number][] = [];
  const f = new EventFolder({ windowMs: 60_000, onFolded: (d, n) => folded.push([d, n]) });
  const t = 1_000_000;
  assert.equal(f.offer(det({ timestampMs: t })), true);
  assert.equal(f.offer(det({ timestampMs: t + 1000 })), false);
  assert.equal(f.offer(det({ timestampMs: t + 2000 })), false);
  assert.equal(f.offer(det({ timestampMs: t + 2000, signatureId: 7 })), true, 'other signature');
  assert.equal(f.offer(det({ timestampMs: t + 2000, srcIp: '198.51.100.8' })), true, 'other source');
  f.tick(t + 30_000);
  assert.equal(folded.length, 0);
  f.tick(t + 60_000);
  assert.equal(folded.length, 1);
  assert.equal(folded[0]![1], 2);
  assert.equal(folded[0]![0].timestampMs, t + 2000);
  assert.equal(f.offer(det({ timestampMs: t + 61_000 })), true, 'new window');
  assert.equal(f.offer(det({ timestampMs: t + 62_000 })), false);
  f.flush();
  assert.equal(folded.length, 2);
});

test('EventFolder is bounded and reports evicted windows', () => {
  const folded: number[] = [];
  const f = new EventFolder({ windowMs: 60_000, max: 10, onFolded: (_d, n) => folded.push(n) });
  f.offer(det({ srcIp: '198.51.100.1' }));
  f.offer(det({ srcIp: '198.51.100.1' }));
  for (let i = 2; i < 30; i++) f.offer(det({ srcIp: `198.51.100.${i}` }));
  assert.equal(f.size, 10);
  assert.deepEqual(folded, [1]);
  assert.equal(f.evicted, 19);
});

test('EventWriter appends JSON lines, rotates by size and keeps N files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-ev-'));
  const file = join(dir, 'sub', 'events.json');
  const registry = new Registry();
  const w = new EventWriter({ file, maxBytes: 2000, keep: 2, queueSize: 1000, log: silentLogger(), registry });
  for (let i = 0; i < 60; i++) w.write(toAlertEvent(det(), { action: 'allowed', count: 1, eventId: `e-${i}` }));
  await w.close();
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  for (const l of lines) assert.equal((JSON.parse(l) as { event_type: string }).event_type, 'alert');
  assert.ok(existsSync(`${file}.1`));
  assert.ok(existsSync(`${file}.2`));
  assert.ok(!existsSync(`${file}.3`));
  assert.deepEqual(readdirSync(join(dir, 'sub')).sort(), ['events.json', 'events.json.1', 'events.json.2']);
  const st = w.stats();
  assert.equal(st.written, 60);
  assert.ok(st.rotations >= 2);
  const last = JSON.parse(lines.at(-1)!) as { bulwark: { event_id: string } };
  assert.equal(last.bulwark.event_id, 'e-59');
  assert.match(await registry.metrics(), /bulwark_events_written_total 60/);
});

test('several writers on one registry share the metrics (re-open on reload)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-ev-'));
  const registry = new Registry();
  const w1 = new EventWriter({ file: join(dir, 'a.json'), maxBytes: 1 << 20, keep: 1, queueSize: 10, log: silentLogger(), registry });
  w1.write({ a: 1 });
  await w1.close();
  const w2 = new EventWriter({ file: join(dir, 'b.json'), maxBytes: 1 << 20, keep: 1, queueSize: 10, log: silentLogger(), registry });
  w2.write({ b: 1 });
  await w2.close();
  assert.match(await registry.metrics(), /bulwark_events_written_total 2/);
});

test('EventWriter queue is bounded: drops the oldest and counts them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-ev-'));
  const file = join(dir, 'events.json');
  const w = new EventWriter({ file, maxBytes: 1 << 20, keep: 1, queueSize: 5, log: silentLogger() });
  // Synchronous burst: the drain loop cannot run in between.
  for (let i = 0; i < 20; i++) w.write({ n: i });
  const st = w.stats();
  assert.ok(st.dropped >= 14, `dropped ${st.dropped}`);
  await w.close();
  const ns = readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { n: number }).n);
  assert.equal(ns.at(-1), 19, 'the newest events survive');
  assert.equal(ns.length + w.stats().dropped, 20);
});

test('EventWriter survives an unwritable path (counted, no throw)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-ev-'));
  writeFileSync(join(dir, 'plain'), 'x');
  const w = new EventWriter({ file: join(dir, 'plain', 'events.json'), maxBytes: 1000, keep: 1, queueSize: 10, log: silentLogger() });
  w.write({ a: 1 });
  await w.flush();
  assert.equal(w.stats().dropped, 1);
  assert.ok(w.stats().errors >= 1);
});
