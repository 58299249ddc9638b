/**
 * WebSocket (Suricata 8 rust/src/websocket): frames as txs, unmasking, fragmented messages with
 * control frames between fragments, permessage-deflate with context takeover, the payload bound,
 * keywords and EVE; and through the framework: HTTP 101 `Upgrade: websocket` hands the flow to
 * WebSocket including a frame in the same segment as the 101.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createDeflateRaw } from 'node:zlib';
import { WebSocketParser, WebSocketTx, WEBSOCKET_KEYWORDS, websocketEve, probeWebSocket } from '../../../../../src/engine/app-layer/websocket/index.js';
import { AppTxDetector } from '../../../../../src/engine/detect/app-tx.js';
import type { AppAlertMeta, AppFeedContext } from '../../../../../src/engine/detect/types.js';
import { compileRuleset } from '../../../../../src/signatures/compile.js';
import { defaultConfig } from '../../../../../src/config/types.js';
import type { AppDirection } from '../../../../../src/engine/app-layer/types.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

/** One RFC 6455 frame: first byte (FIN/RSV/opcode), payload, optional 4-byte mask. */
function frame(b0: number, payload: Uint8Array, mask?: number[]): Uint8Array {
  const n = payload.length;
  const head: number[] = [b0];
  const m = mask === undefined ? 0 : 0x80;
  if (n < 126) head.push(m | n);
  else if (n < 65536) head.push(m | 126, n >> 8, n & 255);
  else {
    head.push(m | 127, 0, 0, 0, 0);
    head.push((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  }
  const body = new Uint8Array(payload);
  if (mask !== undefined) {
    head.push(...mask);
    for (let i = 0; i < body.length; i++) body[i]! ^= mask[i & 3]!;
  }
  return new Uint8Array([...head, ...body]);
}

function txs(p: WebSocketParser): WebSocketTx[] {
  return [...p.txs()];
}

const text = (t: WebSocketTx): string => Buffer.from(t.payload).toString('latin1');

test('masked client frame: payload unmasked, mask as big-endian u32, one tx per frame in its direction', () => {
  const p = new WebSocketParser();
  const f = frame(0x81, b('version,hybi'), [0xe2, 0xb6, 0x4d, 0xed]);
  // byte by byte: headers and payloads split anywhere
  for (let i = 0; i < f.length; i++) p.feed('to_server', f, i, 1);
  const [t] = txs(p);
  assert.ok(t !== undefined);
  assert.equal(text(t), 'version,hybi');
  assert.equal(t.mask, 0xe2b64ded);
  assert.equal(t.opcode, 1);
  assert.equal(t.flags, 0x80);
  assert.equal(t.buffer('websocket.payload', 'to_server')?.length, 12);
  assert.equal(t.buffer('websocket.payload', 'to_client'), null, 'a frame belongs to its own direction');
  assert.deepEqual(websocketEve(t), { fin: true, mask: 0xe2b64ded, opcode: 'text' });
});

test('fragmented message: the final frame carries the whole message; a ping between fragments stands alone', () => {
  const p = new WebSocketParser();
  const data = new Uint8Array([
    ...frame(0x01, b('MALWARE_DOWN')), // text, not final
    ...frame(0x89, b('are you there')), // ping between the fragments
    ...frame(0x00, b('LOAD cmd.exe')), // continuation
    ...frame(0x80, b(' /c powershell')), // final continuation
  ]);
  p.feed('to_client', data, 0, data.length);
  const all = txs(p);
  assert.equal(all.length, 4);
  assert.equal(text(all[1]!), 'are you there');
  assert.equal(all[1]!.opcode, 9);
  assert.equal(text(all[3]!), 'MALWARE_DOWNLOAD cmd.exe /c powershell');
  assert.deepEqual(websocketEve(all[1]!), { fin: true, opcode: 'ping' });
  assert.deepEqual(websocketEve(all[3]!), { fin: true, opcode: 'continuation' });
});

test('permessage-deflate: messages inflated through one decoder per direction (context takeover), fragmented or not', async () => {
  // A sender keeping its window: each message ends with a sync flush whose 00 00 FF FF is removed.
  const msgs = ['TOGGLE=2d80b22edb3afc', 'TOGGLE=4500a7ffb48985', 'TOGGLE=5659131662f54334 TOGGLE=4500a7ffb48985'];
  const compressed = await compressMessages(msgs);
  const p = new WebSocketParser();
  for (const [i, c] of compressed.entries()) {
    assert.deepEqual([...c.subarray(c.length - 4)], [0, 0, 0xff, 0xff]);
    const body = c.subarray(0, c.length - 4);
    if (i < 2) {
      const f = frame(0xc1, body);
      p.feed('to_client', f, 0, f.length);
    } else {
      // the last one in two fragments: RSV1 on the first only
      const h = Math.floor(body.length / 2);
      const f = new Uint8Array([...frame(0x41, body.subarray(0, h)), ...frame(0x80, body.subarray(h))]);
      p.feed('to_client', f, 0, f.length);
    }
  }
  const out = txs(p).filter((t) => t.fin).map(text);
  assert.deepEqual(out, msgs);
  assert.equal(p.counters().inflated_messages, 3);
});

test('a frame over maxPayload: payload cut, rest skipped (event), the next frame parsed', () => {
  const p = new WebSocketParser({ maxPayload: 10 });
  const big = frame(0x82, new Uint8Array(300).fill(0x41));
  const next = frame(0x81, b('after'));
  const data = new Uint8Array([...big, ...next]);
  p.feed('to_server', data, 0, 100);
  p.feed('to_server', data, 100, data.length - 100);
  const all = txs(p);
  assert.equal(all.length, 2);
  assert.equal(all[0]!.payload.length, 10);
  assert.deepEqual(all[0]!.events, ['websocket.skip_end_of_payload']);
  assert.equal(text(all[1]!), 'after');
  assert.equal(p.counters().skipped_bytes, 290);
});

test('a fragmented message over maxPayload is cut (reassembly_limit_reached); a gap fails the parser', () => {
  const p = new WebSocketParser({ maxPayload: 16 });
  const data = new Uint8Array([...frame(0x01, new Uint8Array(10).fill(0x61)), ...frame(0x80, new Uint8Array(10).fill(0x62))]);
  p.feed('to_client', data, 0, data.length);
  const last = txs(p)[1]!;
  assert.equal(text(last), 'aaaaaaaaaabbbbbb');
  assert.deepEqual(last.events, ['websocket.reassembly_limit_reached']);
  p.gap('to_client', 5);
  assert.equal(p.state, 'failed');
  assert.equal(p.failReason, 'gap');
  p.feed('to_client', data, 0, data.length);
  assert.equal(txs(p).length, 2, 'nothing parsed after the gap');
});

test('too many live transactions fail the parser (bounded); release frees them', () => {
  const p = new WebSocketParser({ maxTransactions: 3 });
  const f = frame(0x81, b('x'));
  for (let i = 0; i < 3; i++) p.feed('to_server', f, 0, f.length);
  p.release(1);
  assert.deepEqual(txs(p).map((t) => t.id), [2]);
  for (let i = 0; i < 3; i++) p.feed('to_server', f, 0, f.length);
  assert.equal(p.state, 'failed');
  assert.equal(p.failReason, 'too_many_transactions');
});

test('keywords: opcode by name or number, mask u32, flags by names or bitmask', () => {
  const kw = (n: string) => WEBSOCKET_KEYWORDS.find((k) => k.name === n)!;
  const p = new WebSocketParser();
  const data = new Uint8Array([...frame(0x81, b('a'), [1, 2, 3, 4]), ...frame(0xc2, b('b'))]);
  p.feed('to_server', data, 0, data.length);
  const [t1, t2] = txs(p) as [WebSocketTx, WebSocketTx];
  const m = (name: string, v: string, t: WebSocketTx, dir: AppDirection = 'to_server'): boolean => kw(name).match(t, dir, kw(name).parse(v), 0);
  assert.equal(m('websocket.opcode', 'text', t1), true);
  assert.equal(m('websocket.opcode', '1', t1), true);
  assert.equal(m('websocket.opcode', 'binary', t1), false);
  assert.equal(m('websocket.opcode', '>1', t2), true);
  assert.equal(m('websocket.opcode', 'text', t1, 'to_client'), false);
  assert.equal(m('websocket.mask', '>0', t1), true);
  assert.equal(m('websocket.mask', '16909060', t1), true);
  assert.equal(m('websocket.mask', '>0', t2), false, 'no mask: never matches');
  assert.equal(m('websocket.flags', 'fin', t1), true);
  assert.equal(m('websocket.flags', 'fin,!comp', t1), true);
  assert.equal(m('websocket.flags', 'fin,!comp', t2), false);
  assert.equal(m('websocket.flags', '&0x40=0x40', t2), true);
  assert.equal(m('websocket.flags', '128', t1), true);
  assert.throws(() => kw('websocket.opcode').parse('bogus'), /unknown opcode/);
  assert.throws(() => kw('websocket.flags').parse('fin,fin'), /repeated/);
});

test('probe: RSV2/RSV3 clear (RSV1 allowed)', () => {
  assert.equal(probeWebSocket('to_server', new Uint8Array([0xc1]), 1), 'match');
  assert.equal(probeWebSocket('to_server', new Uint8Array([0xb1]), 1), 'no');
  assert.equal(probeWebSocket('to_server', new Uint8Array(0), 0), 'need-more');
});

interface Fired { sid: number; proto: string; meta: AppAlertMeta; eve: Record<string, unknown> }

test('framework: HTTP 101 Upgrade: websocket → websocket flow; a frame in the 101 segment is parsed; never probed on a fresh flow', () => {
  const rules = [
    'alert websocket any any -> any any (msg:"opcode"; flow:to_client; websocket.opcode:text; sid:1;)',
    'alert websocket any any -> any any (msg:"payload"; flow:to_server; websocket.payload; content:"secret"; sid:2;)',
  ];
  const rs = compileRuleset([{ file: 't.rules', text: rules.join('\n') }], { vars: defaultConfig().databases.vars });
  assert.equal(rs.signatures.length, 2);
  const d = new AppTxDetector(rs);
  const f = d.newFlow(80, 40000, '198.51.100.7', '203.0.113.2');
  const fired: Fired[] = [];
  const at = { to_server: 0, to_client: 0 };
  const ctx: AppFeedContext = {
    verify: { flowbits: new Set() },
    fire: (si, tx, proto, _dir, meta) => fired.push({ sid: rs.signatures[si]!.id, proto: proto.name, meta, eve: proto.eve(tx) }),
  };
  const feed = (dir: AppDirection, data: Uint8Array): void => {
    d.data(f, dir, data, 0, data.length, at[dir], 0, ctx);
    at[dir] += data.length;
  };
  feed('to_server', b('GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'));
  feed('to_client', new Uint8Array([...b('HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n'), ...frame(0x81, b('hello'))]));
  assert.equal(f.proto?.name, 'websocket');
  assert.deepEqual(fired.map((x) => [x.sid, x.proto, x.meta.origProto]), [[1, 'websocket', 'http']]);
  assert.deepEqual(fired[0]!.eve, { fin: true, opcode: 'text' });
  const cf = frame(0x81, b('the secret'), [9, 8, 7, 6]);
  feed('to_server', cf);
  assert.deepEqual(fired.map((x) => x.sid), [1, 2]);
  // A plain flow whose first byte would pass the websocket probe is not websocket.
  const g = d.newFlow(8080, 40001);
  d.data(g, 'to_server', frame(0x81, b('hello')), 0, 7, 0, 0, ctx);
  assert.notEqual(g.proto?.name, 'websocket');
});

/** RFC 7692 sender keeping its window across messages: each message ends with a sync flush (its 00 00 FF FF included). */
async function compressMessages(msgs: readonly string[]): Promise<Uint8Array[]> {
  const z = createDeflateRaw();
  const chunks: Buffer[] = [];
  z.on('data', (c: Buffer) => chunks.push(c));
  const out: Uint8Array[] = [];
  for (const m of msgs) {
    z.write(Buffer.from(m, 'latin1'));
    await new Promise<void>((resolve) => { z.flush(constants.Z_SYNC_FLUSH, () => { resolve(); }); });
    out.push(new Uint8Array(Buffer.concat(chunks.splice(0))));
  }
  z.close();
  return out;
}
