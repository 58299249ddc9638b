/** gzip/deflate bodies: normal, split, mislabelled, layered, truncated, corrupt, bombs stopped; and the fuzz run. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { HttpParser } from '../../../../../src/engine/app-layer/http/index.js';
import { Inflater } from '../../../../../src/engine/app-layer/http/inflate.js';
import { rng } from '../../../../../bench/lib/gen.js';

const s = (x: Uint8Array): string => Buffer.from(x).toString('latin1');

function respond(ce: string, body: Uint8Array, opts: { limit?: number; split?: number; end?: boolean } = {}): HttpParser {
  const p = new HttpParser(opts.limit !== undefined ? { responseBodyLimit: opts.limit } : {});
  const q = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  p.request(q, 0, q.length);
  const head = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: ${ce}\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1');
  const all = Buffer.concat([head, body]);
  const step = opts.split ?? all.length;
  for (let i = 0; i < all.length; i += step) p.response(all, i, Math.min(step, all.length - i));
  if (opts.end === true) p.responseEnd();
  return p;
}

const TEXT = Buffer.from('The quick brown fox jumps over the lazy dog. '.repeat(400));

test('inflater matches zlib for gzip, zlib and raw at every chunking', () => {
  const r = rng(3);
  for (const [fmt, data] of [['auto', zlib.gzipSync(TEXT)], ['auto', zlib.deflateSync(TEXT)], ['raw', zlib.deflateRawSync(TEXT)]] as const) {
    for (const step of [1, 3, 17, 1000]) {
      const out: Uint8Array[] = [];
      const inf = new Inflater(fmt, (d) => { out.push(d); return true; });
      for (let i = 0; i < data.length; i += step) inf.push(data.subarray(i, i + step));
      assert.equal(inf.status, 'end');
      assert.ok(Buffer.concat(out).equals(TEXT));
    }
    // random bytes compress poorly: stored blocks
    const rnd = Buffer.from(Array.from({ length: 70000 }, () => Math.floor(r() * 256)));
    const c = zlib.deflateRawSync(rnd, { level: 0 });
    const out: Uint8Array[] = [];
    const inf = new Inflater('raw', (d) => { out.push(d); return true; });
    inf.push(c);
    assert.ok(Buffer.concat(out).equals(rnd));
  }
});

test('gzip and deflate response bodies are decoded, also split into 7-byte segments', () => {
  for (const [ce, data] of [['gzip', zlib.gzipSync(TEXT)], ['x-gzip', zlib.gzipSync(TEXT)], ['deflate', zlib.deflateRawSync(TEXT)]] as const) {
    const t = respond(ce, data, { split: 7, limit: 1 << 20 }).txs[0]!;
    assert.equal(s(t.responseBody.data), TEXT.toString('latin1'), ce);
    assert.equal(t.responseBody.seen, TEXT.length);
    assert.equal(t.responseMessageLength, data.length);
  }
});

test('mislabelled codings decode like libhtp (zlib-wrapped "deflate", raw deflate labelled gzip)', () => {
  const a = respond('deflate', zlib.deflateSync(TEXT), { limit: 1 << 20 }).txs[0]!;
  assert.equal(a.responseBody.data.length, TEXT.length);
  const b = respond('gzip', zlib.deflateRawSync(TEXT), { limit: 1 << 20 }).txs[0]!;
  assert.equal(b.responseBody.data.length, TEXT.length);
});

test('two layers decode; more than the layer limit raise TOO_MANY_ENCODING_LAYERS', () => {
  const twice = zlib.deflateRawSync(zlib.gzipSync(TEXT));
  const t = respond('gzip, deflate', twice, { limit: 1 << 20 }).txs[0]!;
  assert.equal(s(t.responseBody.data), TEXT.toString('latin1'));
  const p = respond('gzip, gzip, gzip', zlib.gzipSync(zlib.gzipSync(TEXT)));
  assert.ok(p.txs[0]!.events.includes('TOO_MANY_ENCODING_LAYERS'));
  assert.equal(p.counters.limits.decompression_layers, 1);
});

test('the body limit keeps the first bytes of the decoded body', () => {
  const t = respond('gzip', zlib.gzipSync(TEXT), { limit: 100 }).txs[0]!;
  assert.equal(s(t.responseBody.data), TEXT.subarray(0, 100).toString('latin1'));
  assert.equal(t.responseBody.truncated, true);
  assert.equal(t.responseBody.seen, TEXT.length);
});

test('truncated gzip keeps what was decoded; corrupt data is passed through with GZIP_DECOMPRESSION_FAILED', () => {
  const gz = zlib.gzipSync(TEXT);
  const p = respond('gzip', gz.subarray(0, gz.length >> 1), { end: true });
  const t = p.txs[0]!;
  assert.ok(t.responseBody.data.length > 0 && TEXT.toString('latin1').startsWith(s(t.responseBody.data)));
  assert.equal(t.responseProgress, 5);
  const junk = Buffer.from('this is not compressed at all, honest');
  const q = respond('gzip', junk);
  const u = q.txs[0]!;
  assert.ok(u.events.includes('GZIP_DECOMPRESSION_FAILED'));
  assert.equal(u.responseBody.decodeStopped, 'error');
  assert.equal(s(u.responseBody.data), junk.toString('latin1'));
  assert.equal(q.counters.decompressionErrors, 1);
});

test('a decompression bomb stops at the limit and is counted', () => {
  // 50 MB of zeros gzipped twice: ratio far above 2048.
  const bomb = zlib.gzipSync(zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024)));
  const p = respond('gzip, gzip', bomb);
  const t = p.txs[0]!;
  assert.ok(t.events.includes('COMPRESSION_BOMB'));
  assert.equal(t.responseBody.decodeStopped, 'bomb');
  assert.ok(t.responseBody.seen <= 1024 * 1024 + 65536, `${t.responseBody.seen}`);
  assert.equal(p.counters.decompressionBombs, 1);
  assert.equal(t.responseBody.data.length, 100 * 1024);
  // a single-layer body with an ordinary ratio is decoded only up to the bomb limit once the kept limit is full
  const big = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024, 'a'));
  const q = respond('gzip', big);
  assert.ok(q.txs[0]!.responseBody.seen <= 1024 * 1024 + 65536);
  assert.equal(q.counters.limits.decompression_bomb, 1);
});

test('fuzz: 100,000 random and mutated inputs never throw and stay bounded', () => {
  const r = rng(20261121);
  const seeds = [
    'GET /a%2f..%u0041?x=1 HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n',
    'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n5\r\nhello\r\n0\r\nT: 1\r\n\r\n',
    'CONNECT a:443 HTTP/1.1\r\n\r\nGET / HTTP/1.0\r\n\r\n',
    'GET /0.9\r\n',
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: deflate\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    'HTTP/1.1 101 Switching\r\nUpgrade: h2c\r\n\r\n',
    'HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nabcde',
  ].map((x) => Buffer.from(x, 'latin1'));
  const gz = zlib.gzipSync(TEXT.subarray(0, 300));
  const buf = new Uint8Array(4096);
  let maxMem = 0;
  const N = 100_000;
  for (let i = 0; i < N; i++) {
    const p = new HttpParser({ fieldLimit: 2000, maxTransactions: 20 });
    const rounds = 1 + Math.floor(r() * 4);
    for (let k = 0; k < rounds; k++) {
      const mode = r();
      let len: number;
      if (mode < 0.15) {
        len = Math.floor(r() * 300);
        for (let j = 0; j < len; j++) buf[j] = Math.floor(r() * 256);
      } else {
        const src = r() < 0.1 ? gz : seeds[Math.floor(r() * seeds.length)]!;
        buf.set(src);
        len = src.length;
        const flips = Math.floor(r() * 5);
        for (let f = 0; f < flips; f++) buf[Math.floor(r() * len)] = [0x0a, 0x0d, 0x20, 0x3a, 0x25, 0x00, Math.floor(r() * 256)][Math.floor(r() * 7)]!;
      }
      const toServer = r() < 0.5;
      let o = 0;
      while (o < len) {
        const n = Math.min(len - o, 1 + Math.floor(r() * 64));
        if (r() < 0.02) {
          if (toServer) p.requestGap(n);
          else p.responseGap(n);
        } else if (toServer) p.request(buf, o, n);
        else p.response(buf, o, n);
        o += n;
      }
    }
    if (r() < 0.5) p.requestEnd();
    if (r() < 0.5) p.responseEnd();
    maxMem = Math.max(maxMem, p.memoryBytes);
    if (r() < 0.3) p.release(Number.MAX_SAFE_INTEGER, true);
  }
  assert.ok(maxMem < 8 * 1024 * 1024, `${maxMem}`);
});

test('memoryBytes counts a decoding layer (window, input, tables) while the body is in progress, and not once it ended', () => {
  // A gzip body cut short of its end: the inflater is still live. Same kept bytes, identity coding, for comparison.
  // random letters compress poorly: most of the body is decoded before the cut
  const r0 = rng(5);
  const gz = zlib.gzipSync(Buffer.from(Array.from({ length: 80_000 }, () => 97 + Math.floor(r0() * 26))));
  const cut = gz.subarray(0, gz.length - 100);
  const plain = (() => {
    const p = new HttpParser({ responseBodyLimit: 100 });
    const q = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    p.request(q, 0, q.length);
    const r = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${gz.length}\r\n\r\n`, 'latin1'), cut]);
    p.response(r, 0, r.length);
    return p;
  })();
  const p = new HttpParser({ responseBodyLimit: 100 });
  const q = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  p.request(q, 0, q.length);
  const head = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`, 'latin1');
  const r = Buffer.concat([head, cut]);
  p.response(r, 0, r.length);
  assert.equal(p.txs[0]!.responseBody.data.length, 100);
  // the output window holds the 32 KiB history (the text is longer than that)
  const live = p.memoryBytes - plain.memoryBytes;
  assert.ok(live >= 32 * 1024, `decoder state counted (${live})`);
  // the rest of the body ends the stream: the decoder's buffers go back to the pool
  p.response(gz, gz.length - 100, 100);
  assert.ok(p.memoryBytes - plain.memoryBytes < 4096, `decoder state released (${p.memoryBytes - plain.memoryBytes})`);
});
