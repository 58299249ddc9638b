import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPcapFile, PcapFileSource } from '../../../src/engine/capture/pcap-file.js';
import { buildPcap, tcpFrame } from '../../../src/engine/pcap-writer.js';
import { isBulwarkError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-pcap-'));
const frames = [1, 2, 3].map((i) => tcpFrame({ srcIp: '198.51.100.1', dstIp: '198.51.100.2', srcPort: 1000 + i, dstPort: 80, seq: i, flags: 2 }));

function collect(path: string): { len: number; lt: number; ts: number; first: number }[] {
  const out: { len: number; lt: number; ts: number; first: number }[] = [];
  readPcapFile(path, (buf, caplen, lt, ts, off) => out.push({ len: caplen, lt, ts, first: buf[off]! }));
  return out;
}

/** One pcapng block: type, total length, body, total length again. */
function ngBlock(type: number, body: Buffer): Buffer {
  const len = 12 + body.length;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(len, 4);
  body.copy(b, 8);
  b.writeUInt32LE(len, len - 4);
  return b;
}

function ngHeader(): Buffer {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(1, 0);
  idb.writeUInt32LE(65535, 4);
  return Buffer.concat([ngBlock(0x0a0d0d0a, shb), ngBlock(1, idb)]);
}

test('classic pcap written by PcapWriter reads back', () => {
  const p = join(dir, 'a.pcap');
  writeFileSync(p, buildPcap(frames.map((data, i) => ({ tsUs: 1_700_000_000_123_456 + i, data }))));
  const got = collect(p);
  assert.deepEqual(got.map((g) => [g.len, g.lt, g.ts]), frames.map((f, i) => [f.length, 1, 1_700_000_000_123_456 + i]));
});

test('big-endian nanosecond pcap', () => {
  const h = Buffer.alloc(24);
  h.writeUInt32BE(0xa1b23c4d, 0);
  h.writeUInt16BE(2, 4);
  h.writeUInt16BE(4, 6);
  h.writeUInt32BE(65535, 16);
  h.writeUInt32BE(101, 20);
  const rec = Buffer.alloc(16);
  rec.writeUInt32BE(1_700_000_000, 0);
  rec.writeUInt32BE(123_456_789, 4);
  rec.writeUInt32BE(3, 8);
  rec.writeUInt32BE(3, 12);
  const p = join(dir, 'b.pcap');
  writeFileSync(p, Buffer.concat([h, rec, Buffer.from([0x45, 1, 2])]));
  assert.deepEqual(collect(p), [{ len: 3, lt: 101, ts: 1_700_000_000_123_456, first: 0x45 }]);
});

test('pcapng with two interfaces and if_tsresol', () => {
  const blocks: Buffer[] = [ngHeader()];
  const block = ngBlock;
  // Interface 1: SLL2 with nanosecond resolution (option 9 = 9).
  const idb1 = Buffer.alloc(8 + 8 + 4);
  idb1.writeUInt16LE(276, 0);
  idb1.writeUInt32LE(65535, 4);
  idb1.writeUInt16LE(9, 8);
  idb1.writeUInt16LE(1, 10);
  idb1[12] = 9;
  blocks.push(block(1, idb1));
  const epb = (ifId: number, ts: bigint, data: Uint8Array): Buffer => {
    const pad = (4 - (data.length % 4)) % 4;
    const b = Buffer.alloc(20 + data.length + pad);
    b.writeUInt32LE(ifId, 0);
    b.writeUInt32LE(Number(ts >> 32n), 4);
    b.writeUInt32LE(Number(ts & 0xffffffffn), 8);
    b.writeUInt32LE(data.length, 12);
    b.writeUInt32LE(data.length, 16);
    Buffer.from(data).copy(b, 20);
    return block(6, b);
  };
  blocks.push(epb(0, 1_700_000_000_000_001n, frames[0]!));
  blocks.push(epb(1, 1_700_000_000_000_002_000n, Buffer.from([8, 0, 1, 2, 3])));
  const p = join(dir, 'c.pcapng');
  writeFileSync(p, Buffer.concat(blocks));
  const got = collect(p);
  assert.deepEqual(got.map((g) => [g.len, g.lt, g.ts]), [
    [frames[0]!.length, 1, 1_700_000_000_000_001],
    [5, 276, 1_700_000_000_000_002],
  ]);
});

test('large files are read across chunk boundaries; truncated tail ignored', () => {
  const big = new Uint8Array(1400);
  const recs = Array.from({ length: 9000 }, (_, i) => ({ tsUs: 1_700_000_000_000_000 + i, data: i % 2 ? big : frames[i % 3]! }));
  const p = join(dir, 'd.pcap');
  const buf = buildPcap(recs);
  writeFileSync(p, buf.subarray(0, buf.length - 100));
  const src = new PcapFileSource(p);
  let n = 0;
  let bytes = 0;
  src.start((_b, caplen) => {
    n++;
    bytes += caplen;
  });
  assert.equal(n, 8999);
  assert.equal(src.stats().received, 8999);
  assert.equal(bytes, recs.slice(0, 8999).reduce((a, r) => a + r.data.length, 0));
});

test('not a capture file: BULWARK_ERR_CAPTURE', () => {
  const p = join(dir, 'e.txt');
  writeFileSync(p, 'hello world, this is not a pcap file');
  assert.throws(() => collect(p), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CAPTURE'));
  assert.throws(() => collect(join(dir, 'missing.pcap')), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CAPTURE'));
});

// ---- pcapng blocks across the reader's 8 MiB chunk boundary (issue 14) ----

const CHUNK = 8 * 1024 * 1024;

/** An EPB whose packet bytes are `data` (padded to 4). */
function ngEpb(ts: number, data: Buffer): Buffer {
  const pad = (4 - (data.length % 4)) % 4;
  const body = Buffer.alloc(20 + data.length + pad);
  body.writeUInt32LE(0, 0);
  body.writeUInt32LE(0, 4);
  body.writeUInt32LE(ts, 8);
  body.writeUInt32LE(data.length, 12);
  body.writeUInt32LE(data.length, 16);
  data.copy(body, 20);
  return ngBlock(6, body);
}

/** Blocks of an unknown type (skipped by readers) filling exactly `n` bytes (n % 4 === 0, n ≥ 12 or 0). */
function ngFiller(n: number): Buffer[] {
  const out: Buffer[] = [];
  let left = n;
  while (left > 0) {
    const len = left > 1 << 20 ? 1 << 20 : left;
    out.push(ngBlock(0x0bad, Buffer.alloc(len - 12, 0x5a)));
    left -= len;
  }
  return out;
}

function payload(i: number, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, j) => (i * 31 + j * 7) & 255));
}

test('pcapng: a 12-byte EPB ending exactly at the chunk boundary is skipped as malformed, not a crash', () => {
  const head = ngHeader();
  const epb12 = Buffer.alloc(12);
  epb12.writeUInt32LE(6, 0);
  epb12.writeUInt32LE(12, 4);
  epb12.writeUInt32LE(12, 8);
  const before = ngEpb(1, payload(1, 60));
  const after = ngEpb(2, payload(2, 60));
  const fill = CHUNK - 12 - head.length - before.length;
  const file = Buffer.concat([head, before, ...ngFiller(fill), epb12, after]);
  assert.equal(head.length + before.length + fill + 12, CHUNK);
  const p = join(dir, 'epb12.pcapng');
  writeFileSync(p, file);
  const got: Buffer[] = [];
  const r = readPcapFile(p, (buf, caplen, _lt, _ts, off) => got.push(Buffer.from(buf.subarray(off, off + caplen))));
  assert.equal(r.packets, 2);
  assert.equal(r.info.malformedBlocks, 1);
  assert.deepEqual(got, [payload(1, 60), payload(2, 60)]);
});

test('pcapng: every block straddling the chunk boundary is read intact (EPB at every 4-byte offset, an IDB)', () => {
  const head = ngHeader();
  const data = payload(7, 61);
  const epb = ngEpb(7, data);
  for (let k = 4; k < epb.length; k += 4) {
    // The EPB starts k bytes before the boundary; a second interface block (with if_tsresol) follows.
    const fill = CHUNK - k - head.length;
    const idbOpts = Buffer.alloc(8 + 8 + 4);
    idbOpts.writeUInt16LE(1, 0);
    idbOpts.writeUInt32LE(65535, 4);
    idbOpts.writeUInt16LE(9, 8);
    idbOpts.writeUInt16LE(1, 10);
    idbOpts[12] = 3; // milliseconds
    const tail = ngEpb(9, payload(9, 40));
    const second = Buffer.alloc(20 + 40);
    second.writeUInt32LE(1, 0); // interface 1
    second.writeUInt32LE(5, 8); // 5 ms
    second.writeUInt32LE(40, 12);
    second.writeUInt32LE(40, 16);
    payload(10, 40).copy(second, 20);
    const p = join(dir, `straddle-${k}.pcapng`);
    writeFileSync(p, Buffer.concat([head, ...ngFiller(fill), epb, ngBlock(1, idbOpts), tail, ngBlock(6, second)]));
    const got: { data: Buffer; ts: number }[] = [];
    const r = readPcapFile(p, (buf, caplen, _lt, ts, off) => got.push({ data: Buffer.from(buf.subarray(off, off + caplen)), ts }));
    assert.equal(r.info.malformedBlocks, 0, `offset ${k}`);
    assert.deepEqual(got, [
      { data, ts: 7 },
      { data: payload(9, 40), ts: 9 },
      { data: payload(10, 40), ts: 5000 },
    ], `EPB starting ${k} bytes before the boundary`);
  }
});

// ---- a corrupt record part way: libpcap/Suricata stop there and keep what they read ----

test('classic pcap: a corrupt record mid-file ends the reading, packets before it delivered', () => {
  const good = buildPcap(frames.map((f, i) => ({ tsUs: 1_700_000_000_000_000 + i, data: f })));
  // A record header claiming 3.9 GB (as a file with a bad splice has), then more valid-looking bytes.
  const bad = Buffer.alloc(16 + 64, 0x41);
  bad.writeUInt32LE(1_700_000_001, 0);
  bad.writeUInt32LE(0, 4);
  bad.writeUInt32LE(3_925_868_813, 8);
  bad.writeUInt32LE(3_925_868_549, 12);
  const p = join(dir, 'corrupt.pcap');
  writeFileSync(p, Buffer.concat([good, bad, good.subarray(24)]));
  const got: number[] = [];
  const r = readPcapFile(p, (_b, caplen) => got.push(caplen));
  assert.deepEqual(got, frames.map((f) => f.length));
  assert.equal(r.packets, 3);
  assert.ok(r.info.corrupt !== null);
  assert.equal(r.info.corrupt.offset, good.length);
  assert.match(r.info.corrupt.reason, /caplen 3925868813/);
});

test('classic pcap: a record over 262144 bytes but within the file snaplen is a packet; the whole file read has no corrupt mark', () => {
  const big = new Uint8Array(300_000).fill(7);
  const hdr = buildPcap([{ tsUs: 1, data: frames[0]! }]);
  const rec = Buffer.alloc(16);
  rec.writeUInt32LE(2, 0);
  rec.writeUInt32LE(big.length, 8);
  rec.writeUInt32LE(big.length, 12);
  const file = Buffer.concat([hdr, rec, big]);
  file.writeUInt32LE(1_000_000, 16); // snaplen 1 MB
  const p = join(dir, 'bigsnap.pcap');
  writeFileSync(p, file);
  const got: number[] = [];
  const r = readPcapFile(p, (_b, caplen) => got.push(caplen));
  assert.deepEqual(got, [frames[0]!.length, 300_000]);
  assert.equal(r.info.corrupt, null);
  // With the usual snaplen the same record is corrupt.
  file.writeUInt32LE(65535, 16);
  writeFileSync(p, file);
  const r2 = readPcapFile(p, () => undefined);
  assert.equal(r2.packets, 1);
  assert.ok(r2.info.corrupt !== null);
});

test('pcapng: a block with an impossible length mid-file ends the reading; at the start it is an error', () => {
  const bad = Buffer.alloc(12);
  bad.writeUInt32LE(6, 0);
  bad.writeUInt32LE(13, 4); // not a multiple of 4
  const p = join(dir, 'corrupt.pcapng');
  writeFileSync(p, Buffer.concat([ngHeader(), ngEpb(1, payload(1, 60)), bad, ngEpb(2, payload(2, 60))]));
  const r = readPcapFile(p, () => undefined);
  assert.equal(r.packets, 1);
  assert.ok(r.info.corrupt !== null);
  assert.match(r.info.corrupt.reason, /length 13/);
  const src = new PcapFileSource(p);
  src.start(() => undefined);
  assert.equal(src.stats().received, 1);
  assert.ok(src.corrupt !== null);
  const p2 = join(dir, 'corrupt-start.pcapng');
  const shb = ngHeader();
  shb.writeUInt32LE(13, 4);
  writeFileSync(p2, shb);
  assert.throws(() => readPcapFile(p2, () => undefined), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CAPTURE'));
});
