/** appCandidates through AppTxDetector: an unchanged tx (AppTx.buffersVersion) reuses its candidates, which are still verified. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppTxDetector } from '../../../../src/engine/detect/app-tx.js';
import type { AppFeedContext } from '../../../../src/engine/detect/types.js';
import { HttpAppTx, httpProtocol } from '../../../../src/engine/app-layer/http/protocol.js';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { defaultConfig } from '../../../../src/config/types.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

const APPENDED = new Set(httpProtocol.buffers.filter((x) => x.appendOnly === true).map((x) => x.name));

test('a request whose header block is still arriving: its buffers are not read again (only the append-only ones), a candidate still alerts once its flowbit is set', (t) => {
  const rs = compileRuleset(
    [{ file: 't.rules', text: 'alert http any any -> any any (flow:to_server; http.uri; content:"/admin"; flowbits:isset,seen; sid:1;)' }],
    { vars: defaultConfig().databases.vars },
  );
  const reads = { n: 0 };
  const proto = HttpAppTx.prototype;
  const orig = Object.getOwnPropertyDescriptor(proto, 'buffer')!.value as (this: HttpAppTx, name: string, dir: 'to_server' | 'to_client') => Uint8Array | null;
  t.mock.method(proto, 'buffer', function (this: HttpAppTx, name: string, dir: 'to_server' | 'to_client') {
    if (!APPENDED.has(name)) reads.n++;
    return orig.call(this, name, dir);
  });
  const d = new AppTxDetector(rs);
  const f = d.newFlow(80, 40000);
  const fired: number[] = [];
  const flowbits = new Set<string>();
  const c: AppFeedContext = { verify: { flowbits }, fire: (si, tx) => fired.push(rs.signatures[si]!.id * 100 + tx.id) };
  let at = 0;
  const send = (s: string): void => {
    const x = b(s);
    d.data(f, 'to_server', x, 0, x.length, at, 0, c);
    at += x.length;
  };
  send('GET /admin HTTP/1.1\r\n');
  send('Host: a\r\n');
  assert.deepEqual(fired, []);
  const before = reads.n;
  assert.ok(before > 0);
  send('X-A: 1\r\n');
  send('X-B: 2\r\n');
  // the same request line, no header buffer yet: the candidates of the last inspection are reused
  assert.equal(reads.n, before);
  flowbits.add('seen');
  send('X-C: 3\r\n');
  assert.deepEqual(fired, [100]);
  send('\r\n');
  // the block ended: buffers are read again; the signature does not alert twice on the tx
  assert.ok(reads.n > before);
  assert.deepEqual(fired, [100]);
});
