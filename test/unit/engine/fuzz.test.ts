/** ≥ 1,000,000 random and mutated packets through the whole engine: nothing may throw inside it. */
import { defaultConfig } from '../../../src/config/types.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpFrame } from '../../../src/engine/pcap-writer.js';
import { Conv, makeEngine, rng, rules, withDetectors } from './helpers.js';

const RULES = `alert tcp any any -> any [80,443,22] (msg:"a"; content:"GET"; content:"evil"; distance:0; sid:1;)
alert tcp any any -> any any (msg:"b"; content:"|00 01 02|"; flowbits:set,x; sid:2;)
alert tcp any any -> any any (msg:"c"; content:"abc"; nocase; flowbits:isset,x; pcre:"/a.c/i"; sid:3;)
alert tcp any any -> any 22 (msg:"d"; dsize:>5; flags:S; sid:4;)
alert tcp any 80 -> any any (msg:"e"; flow:to_client; content:"200"; byte_test:1,>,10,0,relative; sid:5;)
`;

test('1,000,000 mutated and random packets do not break the engine', () => {
  const r = rng(99);
  const base = withDetectors(rules(RULES), [
    { id: 9001, name: 'scan', description: '', severity: 'low', action: 'alert', source: { file: 'x', line: 1 }, kind: 'portscan', track: 'by_src', distinctPorts: 5, seconds: 1 },
    { id: 9002, name: 'flood', description: '', severity: 'low', action: 'alert', source: { file: 'x', line: 1 }, kind: 'synflood', track: 'by_dst', count: 20, seconds: 1 },
  ]);
  const { engine } = makeEngine(base, { config: { maxFlows: 2000, maxVerifiedPeers: 1024, reassemblyDepth: 4096, maxSegmentsPerFlow: 16, checksumValidation: true, midstream: false, packetAlertMax: 15, actionOrder: ['pass', 'drop', 'reject', 'alert'], defrag: { maxTrackers: 64, maxBytes: 65_536, maxFragments: 16, timeoutMs: 1000 }, timeouts: { newMs: 1000, establishedMs: 5000, closedMs: 1000 }, regex: defaultConfig().engine.regex, appLayer: defaultConfig().engine.appLayer } });
  const pool: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const c = new Conv(`198.51.100.${i}`, '203.0.113.1', 1000 + i, [80, 443, 22][i % 3]!).handshake().c('GET /evil abc \x00\x01\x02').s('HTTP/1.1 200 OK').fin();
    for (const f of c.frames) pool.push(f.data);
  }
  for (let i = 0; i < 20; i++) {
    pool.push(tcpFrame({ srcIp: '2001:db8::1', dstIp: '2001:db8::2', srcPort: 5000 + i, dstPort: 80, seq: i, flags: 0x18, payload: Buffer.from('GET evil'), vlans: i % 2 ? [5] : [] }));
  }
  const scratch = new Uint8Array(2048);
  const linkTypes = [1, 1, 1, 1, 101, 113, 276, 0, 12];
  let ts = 1_700_000_000_000_000;
  const N = 1_000_000;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    ts += Math.floor(r() * 2000);
    let len: number;
    const mode = i % 10;
    if (mode === 0) {
      // pure garbage
      len = Math.floor(r() * 200);
      for (let k = 0; k < len; k++) scratch[k] = Math.floor(r() * 256);
    } else {
      const src = pool[Math.floor(r() * pool.length)]!;
      scratch.set(src);
      len = src.length;
      const flips = 1 + Math.floor(r() * 4);
      for (let k = 0; k < flips; k++) {
        // Mostly headers (first 60 bytes), sometimes anywhere.
        const at = r() < 0.8 ? Math.floor(r() * Math.min(60, len)) : Math.floor(r() * len);
        scratch[at] = Math.floor(r() * 256);
      }
      if (mode === 1) len = Math.floor(r() * len);
    }
    const lt = mode === 0 ? linkTypes[Math.floor(r() * linkTypes.length)]! : 1;
    engine.processPacket(scratch, len, lt, mode === 2 ? ts - 5_000_000 : ts);
  }
  const secs = (performance.now() - t0) / 1000;
  const st = engine.stats();
  assert.equal(st.packets, N);
  assert.equal(st.dropped.internal_error, 0, 'an exception escaped a decoder or the matcher');
  const dropped = Object.values(st.dropped).reduce((a, b) => a + b, 0);
  assert.ok(dropped > N / 20, 'mutations should make many packets undecodable');
  assert.ok(st.flowsActive <= 2000);
  assert.ok(secs < 20, `took ${secs.toFixed(1)} s`);
});
