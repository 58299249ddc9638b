import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, existsSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
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

test('imported rules: gid, metadata (key → values) and target:dest_ip/src_ip as Suricata writes them', () => {
  const ev = toAlertEvent(det({ gid: 1, metadata: [['signature_severity', 'Major'], ['cve', 'CVE_2021_1'], ['cve', 'CVE_2021_2']], target: 'dest_ip' }), { action: 'allowed', count: 1, eventId: 'e-3' });
  assert.equal(ev.alert.gid, 1);
  assert.deepEqual(ev.alert.metadata, { signature_severity: ['Major'], cve: ['CVE_2021_1', 'CVE_2021_2'] });
  assert.deepEqual(ev.alert.source, { ip: '198.51.100.7', port: 40000 });
  assert.deepEqual(ev.alert.target, { ip: '203.0.113.1', port: 80 });
  const back = toAlertEvent(det({ target: 'src_ip' }), { action: 'allowed', count: 1, eventId: 'e-4' });
  assert.deepEqual(back.alert.target, { ip: '198.51.100.7', port: 40000 });
  assert.deepEqual(back.alert.source, { ip: '203.0.113.1', port: 80 });
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

test('issue 14: the event directory gets mode 0750 whatever the umask', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-ev-mode-'));
  const old = process.umask(0);
  try {
    const w = new EventWriter({ file: join(dir, 'a', 'b', 'eve.json'), maxBytes: 1 << 20, keep: 1, queueSize: 10, log: silentLogger() });
    w.write({ x: 1 });
    await w.close();
  } finally {
    process.umask(old);
  }
  assert.equal(statSync(join(dir, 'a', 'b')).mode & 0o777, 0o750);
  assert.equal(statSync(join(dir, 'a', 'b', 'eve.json')).mode & 0o777, 0o640);
  rmSync(dir, { recursive: true, force: true });
});

test('issue 14: a partial last line left by a crash is cut when the file is opened', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-ev-cut-'));
  const file = join(dir, 'eve.json');
  writeFileSync(file, '{"a":1}\n{"b":2}\n{"c":');
  const w = new EventWriter({ file, maxBytes: 1 << 20, keep: 1, queueSize: 10, log: silentLogger() });
  w.write({ d: 4 });
  await w.close();
  assert.equal(readFileSync(file, 'utf8'), '{"a":1}\n{"b":2}\n{"d":4}\n');
  rmSync(dir, { recursive: true, force: true });
});

test('issue 14: a full disk never leaves a cut JSON line; writing resumes on a fresh line when space returns', async (t) => {
  // A real filesystem that fills up: a 64 KiB tmpfs mounted by the test (root), unmounted after.
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-ev-full-'));
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir]);
  assert.equal(mount.status, 0, `mount tmpfs: ${mount.stderr.toString()}`);
  t.after(() => {
    spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'eve.json');
  const registry = new Registry();
  const w = new EventWriter({ file, maxBytes: 1 << 20, keep: 1, queueSize: 100_000, log: silentLogger(), registry });
  // ~300-byte events until well past the 64 KiB: several batches hit ENOSPC, one of them mid-line.
  const ev = (i: number): object => ({ i, pad: 'x'.repeat(250 + (i % 37)) });
  for (let i = 0; i < 600; i++) w.write(ev(i));
  await w.flush();
  const full = readFileSync(file, 'utf8');
  assert.ok(full.length > 30_000, `the disk took ${full.length} bytes`);
  assert.ok(full.endsWith('\n'), 'ends on a whole line');
  const lines = full.split('\n').slice(0, -1);
  for (const l of lines) JSON.parse(l);
  const st = w.stats();
  assert.ok(st.dropped > 0, 'events that did not fit were dropped and counted');
  assert.equal(st.written, lines.length);
  // Space comes back: the next events are whole lines after the old ones.
  writeFileSync(file, lines.slice(0, 10).map((l) => l + '\n').join(''));
  // The writer's handle still points at the file; its size changed under it, so reopen by closing.
  await w.close();
  const w2 = new EventWriter({ file, maxBytes: 1 << 20, keep: 1, queueSize: 100, log: silentLogger() });
  w2.write({ after: true });
  await w2.close();
  const again = readFileSync(file, 'utf8').split('\n');
  assert.equal(again.at(-1), '');
  assert.deepEqual(JSON.parse(again.at(-2)!), { after: true });
  for (const l of again.slice(0, -1)) JSON.parse(l);
});

test('issue 14: after ENOSPC the same writer appends its next event on a fresh line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-ev-full2-'));
  assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir]).status, 0);
  t.after(() => {
    spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'eve.json');
  const filler = join(dir, 'filler');
  const w = new EventWriter({ file, maxBytes: 1 << 20, keep: 1, queueSize: 1000, log: silentLogger() });
  w.write({ first: true });
  await w.flush();
  // Fill the disk: only the rest of the event file's first page is left, less than the next event needs.
  const fd = openSync(filler, 'w');
  try {
    for (;;) writeSync(fd, Buffer.alloc(4096));
  } catch {
    /* ENOSPC: full */
  } finally {
    closeSync(fd);
  }
  w.write({ big: 'y'.repeat(6000) });
  await w.flush();
  rmSync(filler);
  w.write({ next: true });
  await w.close();
  assert.deepEqual(readFileSync(file, 'utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l) as unknown), [{ first: true }, { next: true }]);
});

test('toAlertEvent writes the protocol objects under their EVE names and app_proto_orig; unknown keys are not written', () => {
  const ev = toAlertEvent(
    det({ appProto: 'tls', appProtoOrig: 'smtp', txId: 0, appEve: { tls: { sni: 'mail.example.com' }, bogus: { x: 1 } } }),
    { action: 'allowed', count: 1, eventId: 'e-2' },
  );
  assert.equal(ev.app_proto, 'tls');
  assert.equal(ev.app_proto_orig, 'smtp');
  assert.deepEqual(ev.tls, { sni: 'mail.example.com' });
  assert.equal((ev as unknown as Record<string, unknown>).bogus, undefined);
  const plain = toAlertEvent(det(), { action: 'allowed', count: 1, eventId: 'e-3' });
  assert.equal(plain.app_proto_orig, undefined);
  assert.equal(plain.tls, undefined);
});

test('toAlertEvent: the files of an app-layer alert as EVE files[]', () => {
  const files = [{ filename: 'a.txt', gaps: false, state: 'CLOSED', stored: false, size: 5, tx_id: 0 }];
  const ev = toAlertEvent(det({ appProto: 'smtp', txId: 0, appFiles: files }), { action: 'allowed', count: 1, eventId: 'e-2' });
  assert.deepEqual(ev.files, files);
  assert.equal(toAlertEvent(det(), { action: 'allowed', count: 1, eventId: 'e-3' }).files, undefined);
});
