/**
 * Suricata 8 transactional rules (`alert http any any => any any`, detect-bidir-* suricata-verify
 * tests): request and response keywords on one transaction, each read in its own direction, the
 * rule verified on the response side; what bulwark cannot give that meaning is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { parseRule } from '../../../../src/signatures/rules.js';
import { appCandidates, verifyAppSignature } from '../../../../src/signatures/verify-app.js';
import { httpProtocol } from '../../../../src/engine/app-layer/http/protocol.js';
import { defaultConfig } from '../../../../src/config/types.js';
import type { AppTx } from '../../../../src/engine/app-layer/types.js';
import type { Ruleset } from '../../../../src/signatures/types.js';

const vars = defaultConfig().databases.vars;
const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function txOf(req: string, res?: string): AppTx {
  const p = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
  p.feed('to_server', b(req), 0, req.length, 0);
  if (res !== undefined) p.feed('to_client', b(res), 0, res.length, 0);
  const t = [...p.txs()][0];
  assert.ok(t);
  return t;
}

const REQ = 'POST /wd/hub/session HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\n"binary"x';
const RES = 'HTTP/1.1 500 Server Error\r\nServer: Jetty(9)\r\nContent-Length: 13\r\n\r\nChrome failed';
const RULE =
  'alert http any any => any any (msg:"tx"; urilen:15; http.method; content:"POST"; http.uri; content:"/wd/hub/session"; fast_pattern; ' +
  'http.request_body; content:"|22|binary|22|"; http.stat_code; content:"500"; http.server; content:"Jetty"; startswith; file.data: to_client; content:"Chrome failed"; sid:1;)';

function fired(rs: Ruleset, tx: AppTx): string[] {
  const out: string[] = [];
  for (const dir of ['to_server', 'to_client'] as const) {
    const cand: number[] = [];
    appCandidates(rs, httpProtocol.ruleProtocols, tx, dir, cand);
    for (const i of cand) if (verifyAppSignature(rs.signatures[i]!, tx, dir, { flowbits: new Set(), serverPort: 80 })) out.push(`${rs.signatures[i]!.id}:${dir}`);
  }
  return out;
}

test('request and response keywords of one tx: fires once, on the response side', () => {
  const rs = compileRuleset([{ file: 't.rules', text: RULE }], { vars });
  assert.equal(rs.stats.loaded, 1, JSON.stringify(rs.stats.problems));
  const s = rs.signatures[0]!;
  assert.equal(s.direction, 'to_client');
  assert.deepEqual(s.buffers?.map((l) => `${l.buffer}:${l.dir ?? ''}`), [
    'http.method:to_server', 'http.uri:to_server', 'http.request_body:to_server', 'http.stat_code:to_client', 'http.server:to_client', 'file.data:to_client',
  ]);
  assert.equal(s.appKeywords?.[0]?.dir, 'to_server');
  assert.deepEqual(fired(rs, txOf(REQ, RES)), ['1:to_client']);
  // the request alone (no response yet) does not fire
  assert.deepEqual(fired(rs, txOf(REQ)), []);
  // a request keyword that fails (uri) or a response keyword that fails (status) stop it
  assert.deepEqual(fired(rs, txOf(REQ.replace('/wd/hub/session', '/wd/hub/sessioN'), RES)), []);
  assert.deepEqual(fired(rs, txOf(REQ, RES.replace('500', '200'))), []);
});

test('what is skipped: one direction only, flow direction, raw payload, non-app, directions outside =>', () => {
  const reason = (r: string): string => {
    const p = parseRule(r, 't.rules', 1, { vars });
    return 'reason' in p ? p.reason : 'loaded';
  };
  assert.equal(reason('alert http any any => any any (http.uri; content:"/a"; sid:1;)'), 'transactional rule (=>) with keywords of one direction');
  assert.equal(reason('alert http any any => any any (flow:to_server; http.uri; content:"/a"; http.stat_code; content:"200"; sid:1;)'), 'flow direction in a transactional rule (=>)');
  assert.equal(reason('alert http any any => any any (content:"x"; http.uri; content:"/a"; http.stat_code; content:"200"; sid:1;)'), 'payload keywords in a transactional rule (=>)');
  assert.equal(reason('alert tcp any any => any any (content:"x"; sid:1;)'), 'transactional rule (=>) without an app-layer protocol');
  assert.equal(reason('alert http any any -> any any (file.data: to_client; content:"x"; sid:1;)'), 'buffer direction outside a transactional rule (=>)');
  // file.data exists to_server too (PUT/POST bodies): with http.uri the rule has request keywords only
  assert.equal(reason('alert http any any => any any (http.uri; content:"/a"; file.data: to_server; content:"x"; sid:1;)'), 'transactional rule (=>) with keywords of one direction');
  // a buffer that does not exist in the direction it names
  assert.equal(reason('alert http any any => any any (http.uri; content:"/a"; http.stat_code: to_server; content:"x"; sid:1;)'), 'invalid rule');
  assert.equal(reason('alert http any any <> any any (http.uri; content:"/a"; sid:1;)'), 'bidirectional rule (<>)');
});

test('the header of a transactional rule reads as a request: destination ports are the server ports', () => {
  // a client port and any server port: still a request header (a `->` rule would take the
  // source side as the server here)
  const rs = compileRuleset([{ file: 't.rules', text: RULE.replace('any any => any any', 'any 40000 => any any') }], { vars, anyIsAllWhenUnnamed: true });
  assert.equal(rs.stats.loaded, 1, JSON.stringify(rs.stats.problems));
  assert.deepEqual(rs.signatures[0]!.ports, [{ from: 1, to: 65535 }]);
});
