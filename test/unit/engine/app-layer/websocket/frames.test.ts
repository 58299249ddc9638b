/** WebSocket frames pdu/header/data, tied to the frame's tx, at stream offsets across feeds. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketParser } from '../../../../../src/engine/app-layer/websocket/parser.js';

test('WebSocket: pdu, header (with the mask key) and data frames per frame, with its tx id', () => {
  const p = new WebSocketParser({}, { frames: true });
  const masked = new Uint8Array([0x81, 0x82, 1, 2, 3, 4, 0x61 ^ 1, 0x62 ^ 2]);
  const plain = new Uint8Array([0x81, 0x01, 0x7a]);
  const all = new Uint8Array([...masked, ...plain]);
  p.feed('to_server', all, 0, 5);
  assert.deepEqual(p.takeFrames('to_server'), [], 'a frame is reported once it is whole');
  p.feed('to_server', all, 5, all.length - 5);
  assert.deepEqual(p.takeFrames('to_server'), [
    { type: 'pdu', offset: 0, len: 8, txId: 0 }, { type: 'header', offset: 0, len: 6, txId: 0 }, { type: 'data', offset: 6, len: 2, txId: 0 },
    { type: 'pdu', offset: 8, len: 3, txId: 1 }, { type: 'header', offset: 8, len: 2, txId: 1 }, { type: 'data', offset: 10, len: 1, txId: 1 },
  ]);
  const quiet = new WebSocketParser();
  quiet.feed('to_client', plain, 0, plain.length);
  assert.deepEqual(quiet.takeFrames('to_client'), []);
});
