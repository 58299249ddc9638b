/** Which scan worker inspects a packet: the same both ways, per address pair, spread evenly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodedPacket, decodePacket, LINKTYPE } from '../../../../src/engine/decode/decode.js';
import { tcpFrame } from '../../../../src/engine/pcap-writer.js';
import { shardOf } from '../../../../src/engine/shard/key.js';

function shard(srcIp: string, dstIp: string, srcPort: number, dstPort: number, n: number): number {
  const f = tcpFrame({ srcIp, dstIp, srcPort, dstPort, seq: 1, ack: 0, flags: 2 });
  const p = new DecodedPacket();
  decodePacket(f, 0, f.length, LINKTYPE.ETHERNET, p);
  return shardOf(p, n);
}

test('both directions and every port of an address pair go to one worker', () => {
  for (let i = 0; i < 200; i++) {
    const a = `203.0.113.${i % 250}`;
    const b = `198.51.100.${(i * 7) % 250}`;
    const w = shard(a, b, 40000 + i, 80, 4);
    assert.equal(shard(b, a, 80, 40000 + i, 4), w);
    assert.equal(shard(a, b, 1234, 443, 4), w, 'ports do not matter (IP fragments have none)');
  }
  const v6 = shard('2001:db8::1', '2001:db8::2:5', 40000, 80, 3);
  assert.equal(shard('2001:db8::2:5', '2001:db8::1', 80, 40000, 3), v6);
});

test('address pairs spread over the workers; one worker takes everything', () => {
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) counts[shard(`203.0.113.${i % 250}`, `198.51.100.${Math.floor(i / 250)}`, 40000, 80, 3)]!++;
  for (const c of counts) assert.ok(c > 800 && c < 1200, `uneven: ${counts.join(',')}`);
  const v6 = [0, 0];
  for (let i = 0; i < 1000; i++) v6[shard(`2001:db8::${i.toString(16)}`, '2001:db8:1::1', 40000, 80, 2)]!++;
  assert.ok(v6[0]! > 400 && v6[1]! > 400, `uneven: ${v6.join(',')}`);
  assert.equal(shard('203.0.113.1', '198.51.100.1', 1, 2, 1), 0);
});

test('a frame without IP addresses goes to worker 0', () => {
  const p = new DecodedPacket();
  const arp = new Uint8Array(42);
  arp[12] = 0x08;
  arp[13] = 0x06;
  decodePacket(arp, 0, arp.length, LINKTYPE.ETHERNET, p);
  assert.equal(shardOf(p, 4), 0);
});
