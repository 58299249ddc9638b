/** HttpAppTx.buffersVersion: the same number only while every buffer of the direction that is not append-only holds the same bytes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpProtocol } from '../../../../../src/engine/app-layer/http/protocol.js';
import type { AppDirection, AppParser, AppTx } from '../../../../../src/engine/app-layer/types.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

/** Every buffer and multi-buffer of `dir` but the append-only ones (the bodies), as text (null: absent). */
function snapshot(tx: AppTx, dir: AppDirection): string {
  const parts: string[] = [];
  for (const spec of httpProtocol.buffers) {
    if (spec.appendOnly === true) continue;
    if (spec.multi) parts.push(`${spec.name}=[${tx.multiBuffer(spec.name, dir).map((x) => Buffer.from(x).toString('latin1')).join('|')}]`);
    else {
      const v = tx.buffer(spec.name, dir);
      parts.push(`${spec.name}=${v === null ? 'null' : JSON.stringify(Buffer.from(v).toString('latin1'))}`);
    }
  }
  return parts.join('\n');
}

function version(tx: AppTx, dir: AppDirection): number {
  assert.ok(tx.buffersVersion !== undefined);
  return tx.buffersVersion(dir);
}

const REQ = 'POST /a/../b?x=1 HTTP/1.1\r\nHost: Example.COM:8080\r\nCookie: c=1\r\nX-Junk: a\r\nX-Junk: b\r\nContent-Length: 11\r\n\r\nhello world'
  + 'GET /second HTTP/1.1\r\nUser-Agent: ua\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n3\r\nfgh\r\n0\r\nX-Trailer: t\r\n\r\n';
const RES = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nServer: s\r\nSet-Cookie: k=v\r\nContent-Length: 6\r\n\r\nabcdef'
  + 'HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\nX-T: 1\r\n\r\n';

/** Deterministic pseudo-random cut sizes (1..max). */
function cuts(seed: number, max: number): () => number {
  let x = seed;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return 1 + ((x >>> 8) % max);
  };
}

test('buffersVersion: an unchanged number means unchanged buffers, over random segmentations of requests and responses', () => {
  let reused = 0;
  let changed = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const p: AppParser = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
    const req = b(REQ);
    const res = b(RES);
    const seen = new Map<AppTx, Map<string, { v: number; snap: string }>>();
    let qo = 0;
    let so = 0;
    const step = cuts(seed, seed % 3 === 0 ? 40 : 7);
    while (qo < req.length || so < res.length) {
      const toServer = so >= res.length || (qo < req.length && step() % 2 === 0);
      const n = step();
      if (toServer) {
        const len = Math.min(n, req.length - qo);
        p.feed('to_server', req, qo, len, 0);
        qo += len;
      } else {
        const len = Math.min(n, res.length - so);
        p.feed('to_client', res, so, len, 0);
        so += len;
      }
      for (const tx of p.txs()) {
        let m = seen.get(tx);
        if (m === undefined) seen.set(tx, (m = new Map<string, { v: number; snap: string }>()));
        for (const dir of ['to_server', 'to_client'] as const) {
          const v = version(tx, dir);
          const snap = snapshot(tx, dir);
          const last = m.get(dir);
          if (last !== undefined && last.v === v) {
            assert.equal(snap, last.snap, `seed ${seed}: tx ${tx.id} ${dir} kept version ${v} but its buffers changed`);
            reused++;
          } else if (last !== undefined) changed++;
          m.set(dir, { v, snap });
        }
      }
    }
    assert.equal(qo, req.length);
  }
  // both happen: the property is not vacuous
  assert.ok(reused > 100, `reused ${reused}`);
  assert.ok(changed > 100, `changed ${changed}`);
});

test('buffersVersion: header lines arriving and body bytes do not change it (no header buffer before the block ends; bodies are append-only); the block end and the response do', () => {
  const p = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
  const feed = (dir: AppDirection, s: string): void => {
    const d = b(s);
    p.feed(dir, d, 0, d.length, 0);
  };
  feed('to_server', 'POST /x HTTP/1.1\r\n');
  const tx = [...p.txs()][0]!;
  const v0 = version(tx, 'to_server');
  assert.equal(version(tx, 'to_server'), v0);
  feed('to_server', 'Host: a\r\n');
  feed('to_server', 'Content-Length: 4\r\n');
  assert.equal(version(tx, 'to_server'), v0);
  feed('to_server', '\r\n');
  const v1 = version(tx, 'to_server');
  assert.notEqual(v1, v0);
  feed('to_server', 'ab');
  assert.equal(version(tx, 'to_server'), v1);
  assert.equal(tx.buffer('http.request_body', 'to_server')?.length, 2);
  const c0 = version(tx, 'to_client');
  feed('to_client', 'HTTP/1.1 200 OK\r\n');
  assert.notEqual(version(tx, 'to_client'), c0);
  // another tx never hands out the same number
  feed('to_server', 'cdGET /y HTTP/1.1\r\n');
  const tx2 = [...p.txs()].find((t) => t.id === 1)!;
  assert.notEqual(version(tx2, 'to_server'), version(tx, 'to_server'));
});
