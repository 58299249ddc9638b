/**
 * AppTxDetector protocol changes and expectations: STARTTLS/STLS/AUTH TLS hand the flow to TLS
 * (real ClientHello bytes, `alert tls` rules apply, app_proto_orig kept), FTP data connections
 * announced on the control connection become ftp-data flows, ftpbounce with the flow's addresses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AppTxDetector } from '../../../../src/engine/detect/app-tx.js';
import type { AppAlertMeta, AppFeedContext, AppFlow } from '../../../../src/engine/detect/types.js';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { defaultConfig } from '../../../../src/config/types.js';
import type { Ruleset } from '../../../../src/signatures/types.js';

const CLIENT_HELLO = new Uint8Array(readFileSync(new URL('../../../fixtures/tls/client-hello.bin', import.meta.url)));
const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const CLIENT = '198.51.100.7';
const SERVER = '203.0.113.2';

/** The flow's protocol now (a function, so no assertion narrows it for later ones). */
const protoName = (f: AppFlow): string | undefined => f.proto?.name;

/** `signatures`: a rule matching both directions is two signatures (itself and its to_client twin). */
function ruleset(rules: string[], signatures = rules.length): Ruleset {
  const rs = compileRuleset([{ file: 't.rules', text: rules.join('\n') }], { vars: defaultConfig().databases.vars });
  assert.equal(rs.signatures.length, signatures, 'every rule loads');
  return rs;
}

interface Fired { sid: number; proto: string; meta: AppAlertMeta; eve: Record<string, unknown> }

function feeder(d: AppTxDetector, rs: Ruleset, f: AppFlow, fired: Fired[], tsUs = 0): (dir: 'to_server' | 'to_client', data: Uint8Array) => void {
  const at = { to_server: 0, to_client: 0 };
  const ctx: AppFeedContext = {
    verify: { flowbits: new Set() },
    fire: (si, tx, proto, _dir, meta) => fired.push({ sid: rs.signatures[si]!.id, proto: proto.name, meta, eve: proto.eve(tx) }),
  };
  return (dir, data) => {
    d.data(f, dir, data, 0, data.length, at[dir], tsUs, ctx);
    at[dir] += data.length;
  };
}

const TLS_RULES = [
  'alert tls any any -> any any (msg:"sni"; flow:to_server; tls.sni; content:"mail.example.com"; sid:1;)',
  'alert tls any any -> any any (msg:"ja3 string"; flow:to_server; ja3.string; content:"771,"; startswith; sid:2;)',
  'alert smtp any any -> any any (msg:"smtp helo"; flow:to_server; smtp.helo; content:"client.example"; sid:3;)',
  'alert tcp any any -> any any (msg:"app-layer-protocol tls"; flow:to_server; app-layer-protocol:tls; tls.sni; content:"mail"; sid:4;)',
];

/** Each mail protocol's dialogue up to the server accepting the switch. */
const DIALOGUES: { name: string; port: number; steps: ['to_server' | 'to_client', string][] }[] = [
  {
    name: 'smtp', port: 25, steps: [
      ['to_client', '220 mail.example.com ESMTP\r\n'], ['to_server', 'EHLO client.example\r\n'],
      ['to_client', '250-mail.example.com\r\n250 STARTTLS\r\n'], ['to_server', 'STARTTLS\r\n'], ['to_client', '220 2.0.0 Ready to start TLS\r\n'],
    ],
  },
  {
    name: 'imap', port: 143, steps: [
      ['to_client', '* OK IMAP4rev1 ready\r\n'], ['to_server', 'a1 CAPABILITY\r\n'], ['to_client', '* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\n'],
      ['to_server', 'a2 STARTTLS\r\n'], ['to_client', 'a2 OK Begin TLS negotiation now\r\n'],
    ],
  },
  {
    name: 'pop3', port: 110, steps: [['to_client', '+OK POP3 ready\r\n'], ['to_server', 'STLS\r\n'], ['to_client', '+OK Begin TLS negotiation\r\n']],
  },
  {
    name: 'ftp', port: 21, steps: [['to_client', '220 FTP ready\r\n'], ['to_server', 'AUTH TLS\r\n'], ['to_client', '234 Proceed with negotiation.\r\n']],
  },
];

for (const dl of DIALOGUES) {
  test(`${dl.name}: after the server accepts the TLS upgrade the flow is TLS from the next bytes (alert tls applies, app_proto_orig ${dl.name})`, () => {
    const rs = ruleset(TLS_RULES);
    const d = new AppTxDetector(rs);
    const f = d.newFlow(dl.port, 40000, CLIENT, SERVER);
    const fired: Fired[] = [];
    const feed = feeder(d, rs, f, fired);
    for (const [dir, s] of dl.steps) feed(dir, b(s));
    // the switch happened on the accepting reply: the flow re-probes, the mail parser is gone
    assert.equal(f.state, 'probing');
    assert.equal(f.parser, null);
    assert.equal(f.origProto, dl.name);
    feed('to_server', CLIENT_HELLO);
    assert.equal(protoName(f), 'tls');
    assert.equal(f.state, 'parsing');
    const tls = fired.filter((x) => x.proto === 'tls').map((x) => x.sid).sort((a, c) => a - c);
    assert.deepEqual(tls, [1, 2, 4], 'tls rules fire on the ClientHello after the upgrade');
    for (const x of fired.filter((y) => y.proto === 'tls')) assert.deepEqual(x.meta, { appProto: 'tls', origProto: dl.name });
    assert.equal(fired.find((x) => x.sid === 1)?.eve.sni, 'mail.example.com');
    if (dl.name === 'smtp') assert.deepEqual(fired.filter((x) => x.sid === 3).map((x) => x.meta), [{ appProto: 'smtp', origProto: null }]);
    assert.equal(d.counters.protoChanges.tls, 1);
    assert.equal(d.counters.unexpectedProto, 0);
  });
}

test('smtp: a refused STARTTLS keeps the mail parser; TLS bytes then are not TLS to the rules', () => {
  const rs = ruleset(TLS_RULES);
  const d = new AppTxDetector(rs);
  const f = d.newFlow(25, 40000, CLIENT, SERVER);
  const fired: Fired[] = [];
  const feed = feeder(d, rs, f, fired);
  feed('to_client', b('220 mail ESMTP\r\n'));
  feed('to_server', b('EHLO client.example\r\nSTARTTLS\r\n'));
  feed('to_client', b('250 mail\r\n454 4.7.0 TLS not available\r\n'));
  assert.equal(protoName(f), 'smtp');
  feed('to_server', CLIENT_HELLO);
  assert.equal(protoName(f), 'smtp');
  assert.deepEqual(fired.map((x) => x.sid), [3]);
  assert.equal(d.counters.protoChanges.tls, undefined);
});

test('after STARTTLS, bytes that are not TLS are detected as what they are and counted unexpected', () => {
  const rs = ruleset(['alert http any any -> any any (msg:"http after starttls"; http.uri; content:"/x"; sid:9;)']);
  const d = new AppTxDetector(rs);
  const f = d.newFlow(25, 40000, CLIENT, SERVER);
  const fired: Fired[] = [];
  const feed = feeder(d, rs, f, fired);
  feed('to_client', b('220 mail ESMTP\r\n'));
  feed('to_server', b('STARTTLS\r\n'));
  feed('to_client', b('220 go ahead\r\n'));
  feed('to_server', b('GET /x HTTP/1.1\r\nHost: a\r\n\r\n'));
  assert.equal(protoName(f), 'http');
  assert.equal(d.counters.unexpectedProto, 1);
  assert.deepEqual(fired.map((x) => [x.sid, x.meta.appProto, x.meta.origProto]), [[9, 'http', 'smtp']]);
});

const FTP_RULES = [
  'alert ftp-data any any -> any any (msg:"file data"; flow:to_client; file.data; content:"EVIL-PAYLOAD"; sid:20;)',
  'alert ftp-data any any -> any any (msg:"stor"; flow:to_client; ftpdata_command:stor; file.name; content:"up.bin"; sid:21;)',
  'alert ftp any any -> any any (msg:"bounce"; flow:to_server; ftp.command; content:"PORT"; ftpbounce; sid:22;)',
];

test('ftp passive: the data connection the 227 reply and RETR announced is ftp-data; file.data rules apply', () => {
  const rs = ruleset(FTP_RULES);
  const d = new AppTxDetector(rs);
  const ctl = d.newFlow(21, 40000, CLIENT, SERVER, 1_000_000);
  const fired: Fired[] = [];
  const feed = feeder(d, rs, ctl, fired, 1_000_000);
  feed('to_client', b('220 ready\r\n'));
  feed('to_server', b('USER anonymous\r\n'));
  feed('to_client', b('230 Login successful.\r\n'));
  feed('to_server', b('PASV\r\n'));
  feed('to_client', b('227 Entering Passive Mode (203,0,113,2,195,80).\r\n'));
  feed('to_server', b('RETR /pub/evil.bin\r\n'));
  assert.equal(d.expectations.size, 1);
  // another client, or another port, is not the announced flow
  assert.equal(d.newFlow(50000, 41000, '198.51.100.8', SERVER, 2_000_000).proto, null);
  assert.equal(d.newFlow(50001, 41000, CLIENT, SERVER, 2_000_000).proto, null);
  const data = d.newFlow(50000, 41000, CLIENT, SERVER, 2_000_000);
  assert.equal(data.proto?.name, 'ftp-data');
  assert.equal(d.expectations.size, 0, 'used once');
  const feedData = feeder(d, rs, data, fired, 2_000_000);
  feedData('to_client', b('header...EVIL-PAYLOAD...rest'));
  assert.deepEqual(fired.map((x) => [x.sid, x.proto]), [[20, 'ftp-data']]);
  assert.deepEqual(fired[0]!.eve, { filename: '/pub/evil.bin', command: 'RETR' });
  assert.equal(d.counters.expectedFlows, 1);
  assert.equal(d.expectations.counters.used, 1);
});

test('ftp active (PORT + STOR): the server connects to the client; a PORT to another host is ftpbounce', () => {
  const rs = ruleset(FTP_RULES);
  const d = new AppTxDetector(rs);
  const ctl = d.newFlow(21, 40000, CLIENT, SERVER);
  const fired: Fired[] = [];
  const feed = feeder(d, rs, ctl, fired);
  feed('to_client', b('220 ready\r\n'));
  feed('to_server', b('PORT 198,51,100,7,200,10\r\n'));
  feed('to_client', b('200 PORT ok\r\n'));
  feed('to_server', b('STOR up.bin\r\n'));
  assert.deepEqual(fired.map((x) => x.sid), [], 'PORT to the client itself is no bounce');
  // the data flow goes from the FTP server to the client's announced port
  assert.equal(d.newFlow(51210, 20, CLIENT, SERVER).proto, null, 'not the reversed direction');
  const data = d.newFlow(51210, 20, SERVER, CLIENT);
  assert.equal(data.proto?.name, 'ftp-data');
  const feedData = feeder(d, rs, data, fired);
  feedData('to_client', b('uploaded bytes')); // STOR, active: the FTP client (the data flow's server) sends
  assert.deepEqual(fired.map((x) => x.sid), [21]);
  feed('to_server', b('PORT 10,0,0,9,200,11\r\n'));
  assert.deepEqual(fired.map((x) => x.sid), [21, 22], 'PORT naming another host than the client is a bounce');
});

test('without the flow addresses ftpbounce never matches and nothing is expected (unkeyed)', () => {
  const rs = ruleset(FTP_RULES);
  const d = new AppTxDetector(rs);
  const ctl = d.newFlow(21, 40000);
  const fired: Fired[] = [];
  const feed = feeder(d, rs, ctl, fired);
  feed('to_server', b('PORT 10,0,0,9,200,11\r\nSTOR x\r\n'));
  assert.deepEqual(fired, []);
  assert.equal(d.expectations.counters.unkeyed, 1);
});

test('expectations expire and the table is bounded (oldest dropped, counted)', () => {
  const rs = ruleset(FTP_RULES);
  const d = new AppTxDetector(rs, { expectations: { max: 2, ttlUs: 10_000_000 } });
  const ctl = d.newFlow(21, 40000, CLIENT, SERVER, 0);
  const feed = feeder(d, rs, ctl, [], 0);
  feed('to_server', b('USER anonymous\r\n'));
  feed('to_client', b('230 Login successful.\r\n'));
  for (const port of [1025, 1026, 1027]) {
    feed('to_server', b('EPSV\r\n'));
    feed('to_client', b(`229 Entering Extended Passive Mode (|||${String(port)}|)\r\n`));
    feed('to_server', b('RETR f\r\n'));
    feed('to_client', b('150 ok\r\n226 done\r\n'));
  }
  assert.equal(d.expectations.size, 2);
  assert.equal(d.expectations.counters.evicted, 1);
  assert.equal(d.newFlow(1025, 41000, CLIENT, SERVER, 1).proto, null, 'the oldest was dropped');
  assert.equal(d.newFlow(1026, 41000, CLIENT, SERVER, 11_000_000).proto, null, 'expired after the lifetime');
  assert.equal(d.expectations.counters.expired, 2);
  assert.equal(d.expectations.size, 0);
});

test('HTTP CONNECT accepted: the tunnel is probed again (no protocol announced) and its TLS is inspected, app_proto_orig http', () => {
  const rs = ruleset([TLS_RULES[0]!, 'alert http any any -> any any (msg:"connect"; flow:to_server; http.method; content:"CONNECT"; sid:7;)']);
  const d = new AppTxDetector(rs);
  const f = d.newFlow(3128, 40000, CLIENT, SERVER);
  const fired: Fired[] = [];
  const feed = feeder(d, rs, f, fired);
  feed('to_server', b('CONNECT mail.example.com:443 HTTP/1.1\r\nHost: mail.example.com:443\r\n\r\n'));
  feed('to_client', b('HTTP/1.1 200 Connection established\r\n\r\n'));
  assert.equal(f.state, 'probing');
  assert.equal(f.origProto, 'http');
  feed('to_server', CLIENT_HELLO);
  assert.equal(protoName(f), 'tls');
  assert.deepEqual(fired.map((x) => [x.sid, x.meta.appProto, x.meta.origProto]), [[7, 'http', null], [1, 'tls', 'http']]);
  assert.equal(d.counters.protoChanges.redetect, 1);
});

test('a refused CONNECT stays HTTP', () => {
  const rs = ruleset([TLS_RULES[0]!]);
  const d = new AppTxDetector(rs);
  const f = d.newFlow(3128, 40000, CLIENT, SERVER);
  const feed = feeder(d, rs, f, []);
  feed('to_server', b('CONNECT mail.example.com:443 HTTP/1.1\r\nHost: mail.example.com:443\r\n\r\n'));
  feed('to_client', b('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'));
  assert.equal(protoName(f), 'http');
  assert.equal(f.origProto, null);
});

test('a change asked for while the previous one is in progress is refused: HTTP raises failed_protocol_change on its tx (both directions alert), counted refused', () => {
  // suricata-verify protocol-change-failed-event: STARTTLS accepted, then the server's first
  // bytes are an HTTP 101 h2c upgrade: HTTP is detected and, parsing the data it was detected
  // with, asks for HTTP/2 while the STARTTLS change is still in progress.
  const rs = ruleset(['alert http any any -> any any (msg:"failed change"; flow:established; app-layer-event:http.failed_protocol_change; sid:11;)'], 2);
  const d = new AppTxDetector(rs);
  const f = d.newFlow(25, 40000, CLIENT, SERVER);
  const fired: Fired[] = [];
  const feed = feeder(d, rs, f, fired);
  feed('to_client', b('220 f\r\n'));
  feed('to_server', b('EHLO\r\nSTARTTLS\r\n'));
  feed('to_client', b('220 2tart\r\n220 2tart\r\n'));
  assert.equal(f.state, 'probing');
  assert.equal(f.changing, true);
  feed('to_client', b('HTTP/1.1 101\r\nUpgrade:h2c\r\n\r\n'));
  assert.equal(protoName(f), 'http');
  assert.equal(f.changing, false);
  assert.deepEqual(fired.map((x) => [x.sid, x.meta.appProto, x.meta.origProto]), [[11, 'http', 'smtp'], [11, 'http', 'smtp']]);
  assert.equal(d.counters.protoChanges.refused, 1);
  assert.equal(d.counters.protoChanges.redetect, undefined);
  // HTTP stays (libhtp's tunnel mode ignores the rest): no further change
  feed('to_server', b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
  assert.equal(protoName(f), 'http');
  assert.equal(d.counters.protoChanges.tls, 1);
});

test('once the new protocol has parsed its first data, it may change again (101 h2c after STARTTLS → HTTP → re-detect)', () => {
  const rs = ruleset(['alert http any any -> any any (msg:"failed change"; flow:established; app-layer-event:http.failed_protocol_change; sid:11;)'], 2);
  const d = new AppTxDetector(rs);
  const f = d.newFlow(25, 40000, CLIENT, SERVER);
  const fired: Fired[] = [];
  const feed = feeder(d, rs, f, fired);
  feed('to_client', b('220 mail ESMTP\r\n'));
  feed('to_server', b('STARTTLS\r\n'));
  feed('to_client', b('220 go ahead\r\n'));
  feed('to_server', b('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n'));
  assert.equal(protoName(f), 'http');
  assert.equal(f.changing, false);
  feed('to_client', b('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n'));
  assert.equal(f.state, 'probing');
  assert.deepEqual(fired, []);
  assert.equal(d.counters.protoChanges.redetect, 1);
  assert.equal(d.counters.protoChanges.refused, undefined);
});

test('a 101 to a protocol Suricata does not switch to, and a CONNECT that is not the first request, stay HTTP (libhtp tunnel mode ignores the rest)', () => {
  const rs = ruleset([TLS_RULES[0]!, 'alert http any any -> any any (msg:"uri"; flow:to_server; http.uri; content:"/after"; sid:8;)']);
  for (const [req, res] of [
    ['GET / HTTP/1.1\r\nHost: a\r\nUpgrade: TLS/1.0\r\n\r\n', 'HTTP/1.1 101 Switching\r\nUpgrade: TLS/1.0\r\n\r\n'],
    ['GET / HTTP/1.1\r\nHost: a\r\n\r\n', 'HTTP/1.1 101 Switching\r\n\r\n'],
    ['GET / HTTP/1.1\r\nHost: a\r\n\r\nCONNECT mail.example.com:443 HTTP/1.1\r\nHost: mail.example.com:443\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 Connection established\r\n\r\n'],
  ] as const) {
    const d = new AppTxDetector(rs);
    const f = d.newFlow(3128, 40000, CLIENT, SERVER);
    const fired: Fired[] = [];
    const feed = feeder(d, rs, f, fired);
    feed('to_server', b(req));
    feed('to_client', b(res));
    feed('to_server', CLIENT_HELLO);
    feed('to_server', b('GET /after HTTP/1.1\r\nHost: a\r\n\r\n'));
    assert.equal(protoName(f), 'http', res);
    assert.equal(f.origProto, null);
    assert.deepEqual(fired, [], res);
    assert.deepEqual(d.counters.protoChanges, {});
  }
});
