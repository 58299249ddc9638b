/** TLS parser: record/handshake reassembly, hellos, certificates, fingerprints, limits, gaps, keywords, EVE. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import {
  TLS_KEYWORDS, TLS_PROTOCOL, TlsParser, md5Hex, probeTls, tlsEve, type TlsTransaction,
} from '../../../../../src/engine/app-layer/tls/index.js';
import type { AppDirection, AppKeywordSpec, AppTx } from '../../../../../src/engine/app-layer/types.js';
import {
  HRR_RANDOM, alpnExt, appData, ascii, cat, ccs, certificate, clientHello, clientVersionsExt, ext, groupsExt, handshake,
  pointFormatsExt, record, serverHello, serverHelloDone, serverVersionExt, sigAlgsExt, sniExt, u8,
} from './build.js';

const fixtures = new URL('../../../../fixtures/tls/', import.meta.url);
const LEAF = new Uint8Array(readFileSync(new URL('leaf.der', fixtures)));
const ROOT = new Uint8Array(readFileSync(new URL('root.der', fixtures)));
const str = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('latin1'));

/** Feeds `data` in pieces of the sizes `split` yields (whole when absent). */
function feed(p: TlsParser, dir: AppDirection, data: Uint8Array, split?: number): void {
  if (split === undefined) {
    p.feed(dir, data, 0, data.length);
    return;
  }
  for (let o = 0; o < data.length; o += split) p.feed(dir, data, o, Math.min(split, data.length - o));
}

function kw(name: string): AppKeywordSpec {
  const k = TLS_KEYWORDS.find((x) => x.name === name);
  assert.ok(k, name);
  return k;
}
const kmatch = (tx: AppTx, name: string, value: string | null, dir: AppDirection = 'to_client', tsUs = 0): boolean => {
  const k = kw(name);
  return k.match(tx, dir, k.parse(value), tsUs);
};

// JA3 README example (salesforce/ja3): string and hash.
const JA3_SPEC_STRING = '769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0';

test('JA3 of a ClientHello equals the JA3 spec example (string and MD5)', () => {
  const p = new TlsParser();
  const ch = clientHello(0x0301, [47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4], [sniExt('example.com'), groupsExt([23, 24, 25]), pointFormatsExt([0])]);
  feed(p, 'to_server', record(22, ch));
  const tx = p.transaction;
  assert.equal(str(tx.buffer('ja3.string', 'to_server')), JA3_SPEC_STRING);
  assert.equal(str(tx.buffer('ja3.hash', 'to_server')), 'ada70206e40642a3e4461f35503241d5');
  assert.equal(tx.buffer('ja3.hash', 'to_client'), null);
  assert.equal(str(tx.buffer('tls.sni', 'to_server')), 'example.com');
});

test('GREASE values are left out of JA3 (Suricata tls13-draft28 golden hash)', () => {
  const ciphers = [0x0a0a, 4866, 4867, 4865, 4868, 49196, 52393, 49325, 49162, 49195, 49324, 49161, 49200, 52392, 49172, 49199, 49171, 157, 49309, 53, 156, 49308, 47, 159, 52394, 49311, 57, 158, 49310, 51];
  const types = [5, 10, 11, 13, 22, 23, 35, 51, 43, 65281, 0, 45, 41];
  const es = [ext(0x1a1a), ...types.map((t) => {
    switch (t) {
      case 0: return sniExt('localhost');
      case 10: return groupsExt([0x2a2a, 23]);
      case 11: return pointFormatsExt([0]);
      case 13: return sigAlgsExt([0x0403]);
      case 43: return clientVersionsExt([0x7f1c, 0x0303]);
      default: return ext(t);
    }
  })];
  const p = new TlsParser();
  feed(p, 'to_server', record(22, clientHello(0x0303, ciphers, es)));
  assert.equal(str(p.transaction.buffer('ja3.hash', 'to_server')), 'd00857e0c8e7a7f35e446508c6233460');
});

test('JA4 equals the FoxIO specification example (sorting, GREASE, SNI/ALPN removal, signature algorithms)', () => {
  const ciphers = [0x1a1a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035];
  const sigs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];
  const es = [
    ext(0x2a2a), sniExt('example.com'), ext(0x0017), ext(0xff01), groupsExt([0x3a3a, 29, 23, 24]), pointFormatsExt([0]), ext(0x0023),
    alpnExt(['h2', 'http/1.1']), ext(0x0005), sigAlgsExt(sigs), ext(0x0012), ext(0x0033), ext(0x002d),
    clientVersionsExt([0x4a4a, 0x0304, 0x0303]), ext(0x001b), ext(0x4469), ext(0x0015), ext(0x5a5a),
  ];
  const p = new TlsParser();
  feed(p, 'to_server', record(22, clientHello(0x0303, ciphers, es)));
  assert.equal(str(p.transaction.buffer('ja4.hash', 'to_server')), 't13d1516h2_8daaf6152771_e5627efa2ab1');
  // Suricata's client version is the first non-GREASE supported_versions entry.
  assert.equal(p.transaction.clientVersion, 0x0304);
  assert.deepEqual(p.transaction.multiBuffer('tls.alpn', 'to_server').map(str), ['h2', 'http/1.1']);
});

function tls12(): { client: Uint8Array; server: Uint8Array } {
  const ch = clientHello(0x0303, [0xc02f, 0x009c], [sniExt('test.example.com'), groupsExt([23]), pointFormatsExt([0]), alpnExt(['http/1.1'])]);
  const client = cat(record(22, ch), record(22, handshake(16, u8(0, 1, 2))), ccs(), record(22, new Uint8Array(40).fill(1), 0x0303), appData(300));
  // Certificate split over two records; ServerHello + first half in one record.
  const sh = serverHello(0x0303, 0xc02f, [ext(0xff01, u8(0)), ext(0x000b, u8(1, 0)), alpnExt(['http/1.1'])]);
  const cert = certificate([LEAF, ROOT]);
  const half = 300;
  const server = cat(
    record(22, cat(sh, cert.subarray(0, half)), 0x0303),
    record(22, cat(cert.subarray(half), serverHelloDone()), 0x0303),
    ccs(), record(22, new Uint8Array(40).fill(2), 0x0303), appData(5000),
  );
  return { client, server };
}

function snapshot(t: TlsTransaction): unknown {
  const o: Record<string, unknown> = { eve: tlsEve(t), cp: t.progress('to_server'), sp: t.progress('to_client'), events: [...t.events] };
  for (const n of ['tls.cert_subject', 'tls.cert_issuer', 'tls.cert_serial', 'tls.cert_fingerprint', 'ja3s.string']) o[n] = str(t.buffer(n, 'to_client'));
  o.certs = t.multiBuffer('tls.certs', 'to_client').map((c) => Buffer.from(c).toString('hex'));
  return o;
}

test('TLS 1.2 handshake: certificate spanning records, X.509 fields as Suricata formats them, any split gives the same tx', () => {
  const { client, server } = tls12();
  const whole = new TlsParser();
  feed(whole, 'to_server', client);
  feed(whole, 'to_client', server);
  const t = whole.transaction;
  assert.equal(whole.state, 'ok');
  assert.deepEqual(t.events, []);
  assert.equal(str(t.buffer('tls.cert_subject', 'to_client')), 'C=US, ST=California, L=Sunnyvale, O=Example, Inc., OU=Security Team, CN=test.example.com, Email=admin@example.com');
  assert.equal(str(t.buffer('tls.cert_issuer', 'to_client')), str(t.buffer('tls.cert_subject', 'to_client')));
  // OpenSSL: serial=C50102030405, encoded with a leading 00 (Suricata prints the raw INTEGER bytes).
  assert.equal(str(t.buffer('tls.cert_serial', 'to_client')), '00:C5:01:02:03:04:05');
  assert.equal(str(t.buffer('tls.cert_fingerprint', 'to_client')), '20:FB:54:3E:31:77:66:B0:BF:04:CF:45:50:04:34:4B:D5:F6:70:56'.toLowerCase());
  assert.deepEqual(t.multiBuffer('tls.certs', 'to_client').map((c) => c.length), [LEAF.length, ROOT.length]);
  assert.deepEqual(t.multiBuffer('tls.subjectaltname', 'to_client').map(str), ['test.example.com', 'www.example.com']);
  assert.equal(t.buffer('tls.cert_subject', 'to_server'), null); // no client certificate
  assert.equal(str(t.buffer('ja3s.string', 'to_client')), '771,49199,65281-11-16');
  assert.equal(str(t.buffer('ja3s.hash', 'to_client')), md5Hex('771,49199,65281-11-16'));
  assert.ok(t.complete('to_server') && t.complete('to_client'));
  const eve = tlsEve(t);
  assert.equal(eve.notbefore, '2003-03-29T00:57:44');
  assert.equal(eve.notafter, '2008-03-27T00:57:44');
  assert.equal(eve.version, 'TLS 1.2');
  assert.equal(eve.sni, 'test.example.com');
  assert.deepEqual(eve.client_alpns, ['http/1.1']);
  // application data is skipped by length, never buffered
  assert.ok(whole.memory() < LEAF.length + ROOT.length + 64, `memory ${whole.memory()}`);
  assert.equal(whole.counters().skipped_bytes! >= 5000 + 300, true);
  const ref = snapshot(t);
  for (const split of [1, 2, 3, 7, 64, 1000]) {
    const p = new TlsParser();
    // interleave the directions the way a capture does: client hello, server flight, client rest
    const chEnd = 5 + ((client[3]! << 8) | client[4]!);
    feed(p, 'to_server', client.subarray(0, chEnd), split);
    feed(p, 'to_client', server, split);
    feed(p, 'to_server', client.subarray(chEnd), split);
    assert.deepEqual(snapshot(p.transaction), ref, `split ${split}`);
  }
});

test('ROOT certificate: GeneralizedTime notAfter (2050) and UTCTime notBefore', () => {
  const p = new TlsParser();
  feed(p, 'to_client', record(22, cat(serverHello(0x0303, 0x2f, null), certificate([ROOT])), 0x0303));
  const eve = tlsEve(p.transaction);
  assert.equal(eve.subject, 'O=Example Root, CN=Example Root CA');
  assert.equal(eve.notbefore, '2020-01-01T00:00:00');
  assert.equal(eve.notafter, '2050-01-01T00:00:00');
  assert.equal(eve.serial, '00:C5:01:02:03:04:06');
});

test('keywords: tls.version, ssl_version (negation), validity, expiry against packet time, chain length, legacy strings', () => {
  const { client, server } = tls12();
  const p = new TlsParser();
  feed(p, 'to_server', client);
  feed(p, 'to_client', server);
  const t = p.transaction;
  assert.ok(kmatch(t, 'tls.version', '1.2'));
  assert.ok(!kmatch(t, 'tls.version', '1.3'));
  assert.ok(kmatch(t, 'tls.version', '0x0303'));
  assert.throws(() => kw('tls.version').parse('1.4'), /tls\.version/);
  assert.ok(kmatch(t, 'ssl_version', 'tls1.2'));
  assert.ok(kmatch(t, 'ssl_version', 'tls1.0, tls1.2'));
  assert.ok(kmatch(t, 'ssl_version', '!tls1.3,tls1.0'));
  assert.ok(!kmatch(t, 'ssl_version', '!tls1.2'));
  assert.ok(kmatch(t, 'ssl_version', '!sslv3'));
  assert.throws(() => kw('ssl_version').parse('tls9'), /unknown version/);
  const at = (iso: string): number => Date.parse(iso) * 1000;
  assert.ok(kmatch(t, 'tls_cert_expired', null, 'to_client', at('2010-01-01T00:00:00Z')));
  assert.ok(!kmatch(t, 'tls_cert_valid', null, 'to_client', at('2010-01-01T00:00:00Z')));
  assert.ok(kmatch(t, 'tls_cert_valid', null, 'to_client', at('2005-06-01T00:00:00Z')));
  assert.ok(!kmatch(t, 'tls_cert_expired', null, 'to_client', at('2005-06-01T00:00:00Z')));
  assert.throws(() => kw('tls_cert_expired').parse('x'), /no value/);
  assert.ok(kmatch(t, 'tls_cert_notbefore', '1998-05-01<>2008-05-01'));
  assert.ok(kmatch(t, 'tls_cert_notbefore', '<2004'));
  assert.ok(!kmatch(t, 'tls_cert_notbefore', '>2004'));
  assert.ok(kmatch(t, 'tls_cert_notafter', '>2008-03-27T00:57'));
  assert.ok(kmatch(t, 'tls_cert_notafter', '2008-03-27T00:57:44'));
  assert.throws(() => kw('tls_cert_notafter').parse('yesterday'), /invalid date/);
  assert.ok(kmatch(t, 'tls.cert_chain_len', '2'));
  assert.ok(kmatch(t, 'tls.cert_chain_len', '<3'));
  assert.ok(kmatch(t, 'tls.cert_chain_len', '!3'));
  assert.ok(!kmatch(t, 'tls.cert_chain_len', '0<>2'));
  assert.ok(kmatch(t, 'tls.subject', '"CN=test.example.com"'));
  assert.ok(!kmatch(t, 'tls.subject', '!"CN=test.example.com"'));
  assert.ok(kmatch(t, 'tls.issuerdn', '!"CN=Google-Internet-Authority"'));
  assert.ok(kmatch(t, 'tls.fingerprint', '"20:fb:54:3e"'));
  // A tx of another protocol never matches.
  const other = { id: 0, events: [], progress: () => 0, complete: () => true, buffer: () => null, multiBuffer: () => [] } satisfies AppTx;
  assert.ok(!kmatch(other, 'tls.version', '1.2'));
});

test('TLS 1.3: supported_versions selects the version, the server side is done after ServerHello, HRR does not', () => {
  const p = new TlsParser();
  const ch = clientHello(0x0303, [0x1301], [sniExt('a.example'), clientVersionsExt([0x0304, 0x0303])]);
  feed(p, 'to_server', record(22, ch));
  feed(p, 'to_client', record(22, serverHello(0x0303, 0x1301, [serverVersionExt(0x0304)], HRR_RANDOM), 0x0303));
  assert.ok(!p.transaction.complete('to_client'));
  feed(p, 'to_server', record(22, ch, 0x0303));
  assert.equal(p.counters().client_hello_repeated, 1);
  feed(p, 'to_client', cat(record(22, serverHello(0x0303, 0x1301, [serverVersionExt(0x0304)]), 0x0303), ccs(), appData(2000)));
  const t = p.transaction;
  assert.equal(tlsEve(t).version, 'TLS 1.3');
  assert.ok(kmatch(t, 'tls.version', '1.3'));
  assert.ok(kmatch(t, 'tls.version', '1.3', 'to_server'));
  assert.ok(t.complete('to_client'));
  assert.ok(!t.complete('to_server'));
  feed(p, 'to_server', cat(ccs(), appData(100)));
  assert.ok(t.complete('to_server'));
  // drafts: named 1.3 matches 0x7f1c, raw only the exact value
  const d = new TlsParser();
  feed(d, 'to_client', record(22, serverHello(0x0303, 0x1301, [serverVersionExt(0x7f1c)]), 0x0303));
  assert.equal(tlsEve(d.transaction).version, 'TLS 1.3 draft-28');
  assert.ok(kmatch(d.transaction, 'tls.version', '1.3'));
  assert.ok(kmatch(d.transaction, 'tls.version', '0x7f1c'));
  assert.ok(!kmatch(d.transaction, 'tls.version', '0x0304'));
});

test('SSLv2-framed ClientHello upgraded to TLS by the server (no JA3), SSLv2 server hello ends parsing', () => {
  // 2-byte header, CLIENT-HELLO, version 3.1, 2 cipher specs (one SSLv2-only), no session id, 16-byte challenge
  const body = cat(u8(1, 3, 1, 0, 6, 0, 0, 0, 16), u8(0x07, 0x00, 0xc0, 0x00, 0x00, 0x2f), new Uint8Array(16).fill(3));
  const v2 = cat(u8(0x80 | (body.length >> 8), body.length & 0xff), body);
  assert.equal(probeTls('to_server', v2, v2.length), 'match');
  const p = new TlsParser();
  feed(p, 'to_server', v2, 3);
  feed(p, 'to_client', record(22, cat(serverHello(0x0301, 0x2f, null), certificate([LEAF]), serverHelloDone()), 0x0301));
  const t = p.transaction;
  assert.equal(p.state, 'ok');
  const v2hello = t.clientHello;
  assert.ok(v2hello !== null);
  assert.equal(v2hello.sslv2, true);
  assert.deepEqual(v2hello.ciphers, [0x2f]);
  assert.equal(t.buffer('ja3.hash', 'to_server'), null);
  assert.equal(tlsEve(t).version, 'TLSv1');
  assert.ok(kmatch(t, 'ssl_version', 'tls1.0'));
  const s2 = new TlsParser();
  feed(s2, 'to_server', v2);
  const sh = u8(4, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0);
  feed(s2, 'to_client', cat(u8(0x80, sh.length), sh, u8(0x80, 3, 1, 2, 3)));
  assert.equal(s2.state, 'ok');
  assert.ok(kmatch(s2.transaction, 'ssl_version', 'sslv2'));
  assert.ok(s2.transaction.complete('to_client'));
});

test('limits: an oversized handshake message is skipped and counted, parsing continues; too many certificates are dropped', () => {
  const p = new TlsParser({ maxHandshakeMessage: 600, maxCerts: 1 });
  feed(p, 'to_client', record(22, cat(serverHello(0x0303, 0x2f, null), certificate([LEAF, ROOT])), 0x0303), 100);
  assert.equal(p.counters()['limit.handshake_message'], 1);
  assert.equal(p.transaction.serverChain, null);
  feed(p, 'to_client', record(22, serverHelloDone(), 0x0303));
  assert.equal(p.transaction.progress('to_client'), 3);
  const q = new TlsParser({ maxCerts: 1 });
  feed(q, 'to_client', record(22, certificate([LEAF, ROOT]), 0x0303));
  assert.equal(q.transaction.multiBuffer('tls.certs', 'to_client').length, 1);
  assert.ok(kmatch(q.transaction, 'tls.cert_chain_len', '2'));
  assert.equal(q.counters()['limit.certs'], 1);
});

test('gaps: inside skipped records the framing is kept, inside the handshake the parser fails', () => {
  const p = new TlsParser();
  feed(p, 'to_server', record(22, clientHello(0x0303, [0x2f], null)));
  const ad = appData(1000);
  feed(p, 'to_server', ad.subarray(0, 100));
  p.gap('to_server', 500);
  feed(p, 'to_server', ad.subarray(600));
  feed(p, 'to_server', appData(10));
  assert.equal(p.state, 'ok');
  assert.equal(p.counters().gaps_resynced, 1);
  const q = new TlsParser();
  const ch = record(22, clientHello(0x0303, [0x2f], null));
  feed(q, 'to_server', ch.subarray(0, 20));
  q.gap('to_server', 10);
  assert.equal(q.state, 'failed');
  assert.equal(q.failReason, 'gap');
  feed(q, 'to_server', ch.subarray(30));
  assert.equal(q.counters().ignored_bytes, ch.length - 30);
});

test('invalid record type / version fail the parser with an event; garbage never throws', () => {
  const p = new TlsParser();
  feed(p, 'to_server', ascii('GET / HTTP/1.1\r\n\r\n'));
  assert.equal(p.state, 'failed');
  assert.equal(p.failReason, 'invalid_record_type');
  assert.ok(p.transaction.events.includes('tls.invalid_record_type'));
  const q = new TlsParser();
  feed(q, 'to_server', u8(0x16, 0x02, 0x00, 0x00, 0x01, 0x00));
  assert.equal(q.failReason, 'invalid_record_version');
  // malformed hello inside a valid record: event, no fail
  const r = new TlsParser();
  feed(r, 'to_server', record(22, handshake(1, u8(3, 3, 1, 2))));
  assert.equal(r.state, 'ok');
  assert.ok(r.transaction.events.includes('tls.invalid_handshake_message'));
  // mutation fuzz over a full handshake: never throws, memory stays bounded
  const { client, server } = tls12();
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 300; i++) {
    const c = client.slice();
    const s = server.slice();
    for (let k = 0; k < 1 + rnd(8); k++) {
      const t = rnd(2) === 0 ? c : s;
      t[rnd(t.length)] = rnd(256);
    }
    const x = new TlsParser();
    feed(x, 'to_server', c, 1 + rnd(50));
    feed(x, 'to_client', s, 1 + rnd(50));
    x.end('to_server');
    x.end('to_client');
    for (const tx of x.txs()) tlsEve(tx);
    assert.ok(x.memory() < 200_000);
  }
});

test('probe: v3 record headers by direction, SSLv2 hello, need-more on short input', () => {
  assert.equal(probeTls('to_server', u8(0x16, 3, 1), 3), 'match');
  assert.equal(probeTls('to_server', u8(0x16, 3), 2), 'need-more');
  assert.equal(probeTls('to_server', u8(0x17, 3, 3), 3), 'no');
  assert.equal(probeTls('to_client', u8(0x17, 3, 3), 3), 'match');
  assert.equal(probeTls('to_client', u8(0x15, 3, 9), 3), 'no');
  assert.equal(probeTls('to_server', ascii('GET /'), 5), 'no');
  assert.equal(probeTls('to_server', u8(0x80, 0x2e, 1), 3), 'need-more');
  assert.equal(probeTls('to_server', u8(0x80, 0x2e, 1, 0, 2), 5), 'match');
  assert.equal(probeTls('to_server', u8(), 0), 'need-more');
});

test('protocol object: tables and parser wiring', () => {
  assert.equal(TLS_PROTOCOL.name, 'tls');
  const names = TLS_PROTOCOL.buffers.flatMap((b) => [b.name, ...b.aliases]);
  for (const n of ['tls.sni', 'tls_sni', 'tls.cert_subject', 'tls_cert_subject', 'tls.cert_issuer', 'tls_cert_issuer', 'tls.cert_serial', 'tls.cert_fingerprint', 'tls.certs', 'ja3.hash', 'ja3_hash', 'ja3.string', 'ja3s.hash', 'ja3s.string', 'ja4.hash']) assert.ok(names.includes(n), n);
  assert.equal(TLS_PROTOCOL.buffers.find((b) => b.name === 'tls.certs')?.multi, true);
  const kws = TLS_PROTOCOL.keywords.map((k) => k.name);
  for (const n of ['tls.version', 'ssl_version', 'tls_cert_notbefore', 'tls_cert_notafter', 'tls_cert_expired', 'tls_cert_valid']) assert.ok(kws.includes(n), n);
  const p = TLS_PROTOCOL.create({ serverPort: 443, clientPort: 40000 });
  p.feed('to_server', record(22, clientHello(0x0303, [0x2f], [sniExt('x.example')])), 0, 0, 0);
  assert.deepEqual([...p.txs()].length, 1);
  const ch = record(22, clientHello(0x0303, [0x2f], [sniExt('x.example')]));
  p.feed('to_server', ch, 0, ch.length, 0);
  const [tx] = [...p.txs()];
  assert.equal(str(tx!.buffer('tls.sni', 'to_server')), 'x.example');
  assert.deepEqual(TLS_PROTOCOL.eve(tx!).sni, 'x.example');
  p.release(0);
  assert.deepEqual([...p.txs()], []);
});

test('JA4 edge cases as Suricata computes them (rust/src/ja4.rs unit test values, proto t instead of q)', () => {
  const ja4Of = (ch: Uint8Array): string | null => {
    const p = new TlsParser();
    feed(p, 'to_server', record(22, ch));
    return str(p.transaction.buffer('ja4.hash', 'to_server'));
  };
  // nothing but the version: empty lists are hashed ("" and "_")
  assert.equal(ja4Of(clientHello(0x0303, [], [])), 't12i000000_e3b0c44298fc_d2e2adf7177b');
  // a and b parts from Suricata's test; its c part has no signature_algorithms extension (13), which a real hello needs
  const c = createHash('sha256').update('000d,0121,1234,face_6666').digest('hex').slice(0, 12);
  assert.equal(ja4Of(clientHello(0x0303, [0x1111, 0x0a20, 0xbada], [ext(0x0a0a), sniExt('x'), alpnExt(['h3-16']), ext(0xface), ext(0x0121), ext(0x1234), sigAlgsExt([0x6666])])),
    `t12d0306h6_f500716053f9_${c}`);
  // ALPN: one character twice, non-alphanumeric as hex nibbles, a GREASE pair as none
  assert.match(ja4Of(clientHello(0x0303, [], [alpnExt(['b'])]))!, /^t12i0001bb_/);
  const alpnRaw = (v: number[]): Uint8Array => clientHello(0x0303, [], [ext(16, u8(0, v.length + 1, v.length, ...v))]);
  assert.match(ja4Of(alpnRaw([0x30, 0xab, 0xcd, 0x31]))!, /^t12i000101_/);
  assert.match(ja4Of(alpnRaw([0xab]))!, /^t12i0001ab_/);
  assert.match(ja4Of(alpnRaw([0x2a, 0x2a]))!, /^t12i000100_/);
});
