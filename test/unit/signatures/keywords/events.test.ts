/**
 * Engine-event keywords: app-layer-event matches the events the parser raised on the tx, with
 * Suricata's names (case-insensitive); events bulwark does not detect (decode events outside
 * src/engine/decode/events.ts, every stream-event) skip the rule with "unsupported event NAME";
 * bad names are invalid rules. The decode-event rules that load: engine-events.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { parseRule } from '../../../../src/signatures/rules.js';
import { verifyAppSignature } from '../../../../src/signatures/verify-app.js';
import { httpProtocol } from '../../../../src/engine/app-layer/http/protocol.js';
import { defaultConfig } from '../../../../src/config/types.js';
import type { AppTx } from '../../../../src/engine/app-layer/types.js';

const vars = defaultConfig().databases.vars;
const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function tx(req: string): AppTx {
  const p = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
  p.feed('to_server', b(req), 0, req.length, 0);
  const t = [...p.txs()][0];
  assert.ok(t);
  return t;
}

function fires(opts: string, t: AppTx): boolean {
  const rs = compileRuleset([{ file: 't.rules', text: `alert http any any -> any any (${opts} sid:1;)` }], { vars });
  assert.equal(rs.stats.loaded, 1, JSON.stringify(rs.stats.problems));
  return verifyAppSignature(rs.signatures[0]!, t, 'to_server', { flowbits: new Set(), serverPort: 80 });
}

const CHUNK_EXT = 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\n\r\n';
const BAD_TE = 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: foo\r\n\r\n';
const PLAIN = 'GET / HTTP/1.1\r\nHost: h\r\n\r\n';

test('app-layer-event matches the events the HTTP parser raised on the tx', () => {
  assert.equal(fires('flow:to_server; app-layer-event:http.request_chunk_extension;', tx(CHUNK_EXT)), true);
  assert.equal(fires('flow:to_server; app-layer-event:http.request_chunk_extension;', tx(PLAIN)), false);
  // Suricata looks names up case-insensitively
  assert.equal(fires('flow:to_server; app-layer-event:http.REQUEST_CHUNK_EXTENSION;', tx(CHUNK_EXT)), true);
  // the ET Open keyword (CVE-2023-46747 rules)
  assert.equal(fires('flow:established,to_server; app-layer-event:http.invalid_transfer_encoding_value_in_request;', tx(BAD_TE)), true);
  assert.equal(fires('flow:established,to_server; app-layer-event:http.invalid_transfer_encoding_value_in_request;', tx(PLAIN)), false);
  // libhtp: an Authorization scheme other than Basic, Digest or Bearer
  const auth = (v: string): AppTx => tx(`GET / HTTP/1.1\r\nHost: h\r\nAuthorization: ${v}\r\n\r\n`);
  const unrec = 'flow:to_server; app-layer-event:http.request_auth_unrecognized;';
  assert.equal(fires(unrec, auth('Turbo customAuthDataHere')), true);
  assert.equal(fires(unrec, auth('Basic dXNlcjpwYXNz')), false);
  assert.equal(fires(unrec, auth('digest username="u"')), false);
  assert.equal(fires(unrec, auth('Bearer abc')), false);
  assert.equal(fires(unrec, tx(PLAIN)), false);
  // with buffers: both must hold
  assert.equal(fires('app-layer-event:http.request_chunk_extension; http.method; content:"GET";', tx(CHUNK_EXT)), false);
});

test('events bulwark does not detect skip the rule with the event name', () => {
  const reason = (opts: string, proto = 'tcp'): string => {
    const r = parseRule(`alert ${proto} any any -> any any (${opts} sid:1;)`, 'f.rules', 3, { vars });
    assert.ok('reason' in r, 'rule loaded');
    return r.reason;
  };
  assert.equal(reason('decode-event:ppp.unsup_proto;'), 'unsupported event ppp.unsup_proto');
  assert.equal(reason('decode-event:icmpv4.unknown_type;'), 'unsupported event icmpv4.unknown_type');
  assert.equal(reason('stream-event:3whs_synack_with_wrong_ack;'), 'unsupported event stream.3whs_synack_with_wrong_ack');
  assert.equal(reason('app-layer-event:http.double_encoded_uri;', 'http'), 'unsupported event http.double_encoded_uri');
  assert.equal(reason('app-layer-event:dns.malformed_data;'), 'unsupported event dns.malformed_data');
  assert.equal(reason('app-layer-event:applayer_mismatch_protocol_both_directions;'), 'unsupported event applayer_mismatch_protocol_both_directions');
  assert.equal(reason('app-layer-event:tls.invalid_record_type;', 'http'), 'invalid rule');
  const bad = parseRule('alert tcp any any -> any any (decode-event:"ipv4 x"; sid:1;)', 'f.rules', 4, { vars });
  assert.ok('reason' in bad);
  assert.match(bad.message, /^f\.rules:4: decode-event: bad event name/);
});

test('each protocol loads the events its parser raises', () => {
  for (const [proto, ev] of [['tls', 'tls.invalid_record_type'], ['ssh', 'ssh.long_banner'], ['ftp', 'ftp.request_command_too_long'], ['smtp', 'smtp.invalid_reply'], ['pop3', 'pop3.unknown_command']] as const) {
    const r = parseRule(`alert ${proto} any any -> any any (app-layer-event:${ev}; sid:1;)`, 'f.rules', 1, { vars });
    assert.ok(!('reason' in r), `${ev}: ${'reason' in r ? r.reason : ''}`);
    assert.deepEqual(r.sig.appEvents, [ev]);
  }
});
