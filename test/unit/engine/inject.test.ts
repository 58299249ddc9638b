import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rstFrame } from '../../../src/engine/capture/inject.js';
import { DecodedPacket, decodePacket, ipv4ToString } from '../../../src/engine/decode/decode.js';
import { isBulwarkError } from '../../../src/errors.js';

test('rstFrame builds a decodable RST (Ethernet and raw IP)', () => {
  const spec = { srcIp: '198.51.100.11', dstIp: '198.51.100.10', srcPort: 80, dstPort: 40000, seq: 123456, srcMac: Uint8Array.of(2, 0, 0, 0, 0, 0xb), dstMac: Uint8Array.of(2, 0, 0, 0, 0, 0xa) };
  const p = new DecodedPacket();
  const eth = rstFrame(spec, 1);
  assert.deepEqual([...eth.subarray(0, 12)], [2, 0, 0, 0, 0, 0xa, 2, 0, 0, 0, 0, 0xb]);
  assert.equal(decodePacket(eth, 0, eth.length, 1, p), 0);
  assert.equal(p.flags, 0x04);
  assert.equal(p.seq, 123456);
  assert.equal(ipv4ToString(p.src4), '198.51.100.11');
  assert.equal(p.dstPort, 40000);
  const raw = rstFrame({ ...spec, ack: 99 }, 101);
  assert.equal(decodePacket(raw, 0, raw.length, 101, p), 0);
  assert.equal(p.flags, 0x14);
  assert.equal(p.ack, 99);
  assert.throws(() => rstFrame(spec, 113), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CAPTURE'));
});
