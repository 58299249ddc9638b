/**
 * Suricata 8 `absent` (detect-absent-* suricata-verify tests): a buffer that does not exist, or
 * (`or_else`) does not exist or satisfies what follows; final once the tx direction is complete.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { appCandidates, verifyAppSignature } from '../../../../src/signatures/verify-app.js';
import { httpProtocol } from '../../../../src/engine/app-layer/http/protocol.js';
import { defaultConfig } from '../../../../src/config/types.js';
import type { AppTx } from '../../../../src/engine/app-layer/types.js';
import type { Ruleset } from '../../../../src/signatures/types.js';

const vars = defaultConfig().databases.vars;
const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function compile(rules: string[]): Ruleset {
  return compileRuleset([{ file: 't.rules', text: rules.join('\n') }], { vars });
}

function txOf(req: string, res?: string): AppTx {
  const p = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
  p.feed('to_server', b(req), 0, req.length, 0);
  if (res !== undefined) p.feed('to_client', b(res), 0, res.length, 0);
  const t = [...p.txs()][0];
  assert.ok(t);
  return t;
}

const NO_REFERER = 'GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: foo\r\n\r\n';
const REFERER = 'GET / HTTP/1.1\r\nHost: a\r\nReferer: http://example/\r\nUser-Agent: foo\r\n\r\n';
const EMPTY_500 = 'HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n';
const BODY_500 = 'HTTP/1.1 500 Oops\r\nContent-Length: 3\r\n\r\nxyz';

/** Sids that fire on `tx` in the rule direction, through the prefilter as the detect stage does. */
function fired(rs: Ruleset, tx: AppTx): number[] {
  const ids: number[] = [];
  for (const dir of ['to_server', 'to_client'] as const) {
    const out: number[] = [];
    appCandidates(rs, httpProtocol.ruleProtocols, tx, dir, out);
    for (const i of out) if (verifyAppSignature(rs.signatures[i]!, tx, dir, { flowbits: new Set(), serverPort: 80 })) ids.push(rs.signatures[i]!.id);
  }
  return ids.sort((x, y) => x - y);
}

const RULES = [
  'alert http any any -> any any (flow:to_server; http.referer; absent; sid:1;)',
  'alert http any any -> any any (flow:to_server; http.referer; absent: or_else; content:!"example"; sid:2;)',
  'alert http any any -> any any (flow:to_server; http.referer; absent: or_else; content:"example"; sid:3;)',
  'alert http any any -> any any (flow:to_server; http.referer; content:!"example"; sid:4;)',
  'alert http any any -> any any (flow:to_client; file.data; absent; http.stat_code; content:"500"; sid:5;)',
  'alert http any any -> any any (flow:to_client; file.data; absent: or_else; content:!"abc"; sid:6;)',
  'alert http any any -> any any (flow:to_server; http.request_header; absent; sid:7;)',
];

test('absent and absent: or_else on a missing buffer', () => {
  const rs = compile(RULES);
  assert.equal(rs.stats.loaded, RULES.length, JSON.stringify(rs.stats.problems));
  // no Referer: absent holds (1, 2, 3); a plain negated content needs the buffer (4 does not fire)
  // no response body: file.data absent (5, 6); request headers exist (7 does not fire)
  assert.deepEqual(fired(rs, txOf(NO_REFERER, EMPTY_500)), [1, 2, 3, 5, 6]);
});

test('absent and absent: or_else on a present buffer', () => {
  const rs = compile(RULES);
  // Referer with "example": 1 (absent only) and 2 (negated) do not fire; 3 and 4 follow the content
  assert.deepEqual(fired(rs, txOf(REFERER, BODY_500)), [3, 6]);
});

test('absence is decided once the direction is complete', () => {
  const rs = compile(['alert http any any -> any any (flow:to_client; file.data; absent; http.stat_code; content:"500"; sid:5;)']);
  // headers of a response whose body has not come yet: file.data may still arrive
  const tx = txOf(NO_REFERER, 'HTTP/1.1 500 Oops\r\nContent-Length: 10\r\n\r\n');
  assert.equal(tx.complete('to_client'), false);
  assert.deepEqual(fired(rs, tx), []);
});

test('a header buffer is final once the headers are done, before the body the request announced', () => {
  // Suricata's eof for http.referer: request progress past HEADERS, though the body never came
  const rs = compile([
    'alert http any any -> any any (flow:to_server; http.referer; absent; sid:1;)',
    'alert http any any -> any any (flow:to_server; http.referer; absent: or_else; content:!"example"; sid:2;)',
    'alert http any any -> any any (flow:to_server; http.request_body; absent; sid:3;)',
  ]);
  const tx = txOf('GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n');
  assert.equal(tx.complete('to_server'), false);
  // the request body may still come: sid 3 waits
  assert.deepEqual(fired(rs, tx), [1, 2]);
  // headers not done yet: the Referer may still come
  assert.deepEqual(fired(rs, txOf('GET / HTTP/1.1\r\nHost: a\r\n')), []);
});

test('absent checks of Suricata: alone, or_else without keywords, fast_pattern', () => {
  const rs = compile([
    'alert http any any -> any any (http.referer; absent; content:"x"; sid:1;)',
    'alert http any any -> any any (http.referer; absent: or_else; sid:2;)',
    'alert http any any -> any any (http.referer; absent: or_else; content:!"x"; content:"y"; fast_pattern; sid:3;)',
    'alert http any any -> any any (http.referer; absent: maybe; sid:4;)',
    'alert http any any -> any any (absent; sid:5;)',
  ]);
  assert.equal(rs.stats.loaded, 0);
  assert.deepEqual(rs.stats.skipped, { 'invalid rule': 5 });
});
