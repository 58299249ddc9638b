/**
 * appCandidates with a per-tx-direction cache, as the detect stage calls it per segment: the
 * candidates kept at an unchanged AppTx.buffersVersion (only the append-only buffers read again)
 * equal a fresh computation without any cache, over random segmentations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRuleset } from '../../../src/signatures/compile.js';
import { addRawCandidates, appCandidates } from '../../../src/signatures/verify-app.js';
import { httpProtocol } from '../../../src/engine/app-layer/http/protocol.js';
import { defaultConfig } from '../../../src/config/types.js';
import type { AppTx } from '../../../src/engine/app-layer/types.js';
import type { AppPrefilterCache } from '../../../src/signatures/types.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

const RULES = [
  'alert http any any -> any any (http.uri; content:"/admin"; sid:1;)',
  'alert http any any -> any any (http.method; content:"POST"; sid:2;)',
  'alert http any any -> any any (http.header; content:"X-Junk|3a| b"; sid:3;)',
  'alert http any any -> any any (http.cookie; content:"c=1"; sid:4;)',
  'alert http any any -> any any (http.host; content:"example"; sid:5;)',
  'alert http any any -> any any (http.request_body; content:"world"; sid:6;)',
  'alert http any any -> any any (file.data; content:"cdef"; sid:7;)',
  'alert http any any -> any any (http.stat_code; content:"404"; sid:8;)',
  'alert http any any -> any any (http.server; content:"srv"; sid:9;)',
  'alert http any any -> any any (http.response_body; to_lowercase; content:"wxyz"; sid:10;)',
  'alert http any any -> any any (http.request_header; content:"trailer|3a| t"; sid:11;)',
  'alert http any any -> any any (http.header.raw; content:"X-T|3a| 1"; sid:12;)',
  'alert http any any -> any any (http.stat_msg; content:"Continue"; sid:13;)',
  'alert http any any -> any any (http.user_agent; content:"ua"; sid:14;)',
  'alert http any any -> any any (http.response_line; content:"200 OK"; sid:15;)',
  'alert http any any -> any any (file.data; content:"hello"; sid:16;)',
  'alert http any any -> any any (http.header_names; content:"|0d 0a|Server|0d 0a|"; sid:17;)',
  'alert http any any -> any any (flow:to_server; content:"raw"; sid:18;)',
];
const REQ = 'POST /admin/../b?x=1 HTTP/1.1\r\nHost: Example.COM:8080\r\nCookie: c=1\r\nX-Junk: a\r\nX-Junk: b\r\nContent-Length: 11\r\n\r\nhello world'
  + 'PUT /second HTTP/1.1\r\nUser-Agent: ua\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nfgh\r\n0\r\nTrailer: t\r\n\r\n';
const RES = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nServer: srv\r\nSet-Cookie: k=v\r\nContent-Length: 6\r\n\r\nabcdef'
  + 'HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWXYZ\r\n0\r\nX-T: 1\r\n\r\n';

test('candidates reused at an unchanged tx version equal candidates computed afresh', () => {
  const rs = compileRuleset([{ file: 't.rules', text: RULES.join('\n') }], { vars: defaultConfig().databases.vars });
  assert.ok(rs.signatures.length >= RULES.length);
  let reused = 0;
  let found = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const p = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
    const caches = new Map<AppTx, [AppPrefilterCache, AppPrefilterCache]>();
    const req = b(REQ);
    const res = b(RES);
    let qo = 0;
    let so = 0;
    let x = seed;
    const rnd = (max: number): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return 1 + ((x >>> 8) % max);
    };
    const max = seed % 2 === 0 ? 9 : 50;
    while (qo < req.length || so < res.length) {
      if (so >= res.length || (qo < req.length && rnd(2) === 1)) {
        const n = Math.min(rnd(max), req.length - qo);
        p.feed('to_server', req, qo, n, 0);
        qo += n;
      } else {
        const n = Math.min(rnd(max), res.length - so);
        p.feed('to_client', res, so, n, 0);
        so += n;
      }
      for (const tx of p.txs()) {
        let c = caches.get(tx);
        if (c === undefined) caches.set(tx, (c = [new Map(), new Map()]));
        for (const [di, dir] of (['to_server', 'to_client'] as const).entries()) {
          const cache = c[di]!;
          const before = cache.version;
          const kept: number[] = [];
          appCandidates(rs, httpProtocol.ruleProtocols, tx, dir, kept, cache);
          if (before !== undefined && before === cache.version) reused++;
          const fresh: number[] = [];
          appCandidates(rs, httpProtocol.ruleProtocols, tx, dir, fresh);
          assert.deepEqual(kept, fresh, `seed ${seed}: tx ${tx.id} ${dir}`);
          for (let k = 1; k < fresh.length; k++) assert.ok(fresh[k - 1]! < fresh[k]!, 'ascending, no duplicates');
          found += fresh.length;
        }
      }
    }
  }
  assert.ok(reused > 200, `reused ${reused}`);
  assert.ok(found > 200, `found ${found}`);
});

test('candidates come out ascending, few (insertion sort) or many, with raw-stream ones merged in', () => {
  // rules in an order that is not their fast patterns' order; every one matches the same request
  const rules: string[] = [];
  for (let i = 0; i < 40; i++) rules.push(`alert http any any -> any any (http.${i % 2 === 0 ? 'uri' : 'method'}; content:"${i % 2 === 0 ? `/p${39 - i}` : 'GE'}"; sid:${100 + i};)`);
  const rs = compileRuleset([{ file: 't.rules', text: rules.join('\n') }], { vars: defaultConfig().databases.vars });
  for (const count of [3, 17, 40]) {
    const p = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
    let uri = '';
    for (let i = 0; i < count; i += 2) uri += `/p${39 - i}`;
    const req = b(`GET ${uri} HTTP/1.1\r\n\r\n`);
    p.feed('to_server', req, 0, req.length, 0);
    const tx = [...p.txs()][0]!;
    const out: number[] = [];
    const n = appCandidates(rs, httpProtocol.ruleProtocols, tx, 'to_server', out, new Map());
    assert.equal(n, out.length);
    // method rules (odd sids) all match; a uri rule when its pattern is in the uri
    const want = rs.signatures.map((sig, i) => ({ sig, i })).filter(({ sig }) => sig.id % 2 === 1 || uri.includes(`/p${39 - (sig.id - 100)}`)).map(({ i }) => i);
    assert.ok(want.length >= count / 2);
    assert.deepEqual(out, want);
  }
  const out = [5, 9];
  const rs2 = compileRuleset([{ file: 't.rules', text: Array.from({ length: 12 }, (_, i) => `alert http any any -> any any (content:"x${i}"; sid:${i + 1};)`).join('\n') }], { vars: defaultConfig().databases.vars });
  assert.equal(addRawCandidates(rs2, ['http'], [11, 0, 7], out, 2), 5);
  assert.deepEqual(out, [0, 5, 7, 9, 11]);
});
