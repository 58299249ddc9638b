/**
 * Flow table hardening (issue 14 item 4): with a known hash key an attacker could build colliding
 * tuples; the table must still track and inspect every flow. The test injects a fixed key,
 * searches tuples that land in one bucket, and checks a signature fires on each flow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HalfSipHash, KeyedPermutation, randomSeed, type HashSeed } from '../../../../src/engine/flow/hash.js';
import { hash4 } from '../../../../src/engine/flow/table.js';
import { Conv, engineConfig, feed, makeEngine, rules } from '../helpers.js';

const SEED: HashSeed = [0x01234567, 0x89abcdef];
const MAX_FLOWS = 4096; // 4096 buckets: the table's bucket index is the hash's low 12 bits
const ATTACKER = '198.51.100.7';
const SERVER = '203.0.113.5';

function ip(s: string): number {
  const [a, b, c, d] = s.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

test('HalfSipHash: the flow hash is the same for both directions and depends on the key', () => {
  const h = new HalfSipHash();
  const a = ip(ATTACKER);
  const b = ip(SERVER);
  assert.equal(hash4(h, SEED, a, b, 40000, 80), hash4(h, SEED, b, a, 80, 40000));
  assert.notEqual(hash4(h, SEED, a, b, 40000, 80), hash4(h, [SEED[0], SEED[1] ^ 1], a, b, 40000, 80));
  assert.notEqual(hash4(h, SEED, a, b, 40000, 80), hash4(h, SEED, a, b, 40001, 80));
  const r1 = randomSeed();
  const r2 = randomSeed();
  assert.notDeepEqual(r1, r2, 'a fresh key per engine');
});

test('keyed permutation of detector keys is one-to-one', () => {
  const p = new KeyedPermutation(SEED);
  const seen = new Set<number>();
  for (let i = 0; i < 70_000; i++) seen.add(p.permute((ip(ATTACKER) + i * 65537) >>> 0));
  assert.equal(seen.size, 70_000);
  assert.notEqual(new KeyedPermutation([1, 2]).permute(ip(ATTACKER)), p.permute(ip(ATTACKER)));
});

test('64+ colliding tuples (fixed key): every flow is tracked and every attack packet inspected', () => {
  // Search source ports whose tuple lands in the same bucket as the first one.
  const h = new HalfSipHash();
  const b = ip(SERVER);
  const mask = MAX_FLOWS - 1;
  const bucket = hash4(h, SEED, ip(ATTACKER), b, 1024, 80) & mask;
  // Tuples an attacker chooses: source addresses of its /24 and source ports.
  const tuples: { src: string; port: number }[] = [];
  for (let host = 1; host < 255 && tuples.length < 80; host++) {
    const src = `198.51.100.${host}`;
    for (let port = 1024; port < 65536 && tuples.length < 80; port++) {
      if ((hash4(h, SEED, ip(src), b, port, 80) & mask) === bucket) tuples.push({ src, port });
    }
  }
  assert.ok(tuples.length >= 64, `found ${tuples.length} colliding tuples`);

  const { engine, detections } = makeEngine(rules('alert tcp any any -> any 80 (msg:"attack"; content:"ATTACK-PAYLOAD"; sid:1;)'), {
    config: engineConfig({ maxFlows: MAX_FLOWS }),
    hashSeed: SEED,
  });
  const convs = tuples.map((t, i) => new Conv(t.src, SERVER, t.port, 80, { tsUs: 1_700_000_000_000_000 + i }));
  // All flows open at once (the chain holds all of them), then each sends its payload, then closes.
  for (const c of convs) feed(engine, c.handshake().frames.splice(0));
  for (const c of convs) feed(engine, c.c('GET /?q=ATTACK-PAYLOAD HTTP/1.0\r\n\r\n').frames.splice(0));
  const st = engine.stats();
  for (const c of convs) feed(engine, c.fin().frames.splice(0));

  assert.equal(st.flowsActive, tuples.length);
  assert.ok(st.flowHashChainMax >= tuples.length, `chain max ${st.flowHashChainMax}`);
  assert.equal(st.dropped.internal_error, 0);
  const key = (x: { src: string; port: number }): string => `${x.src}:${x.port}`;
  assert.deepEqual(
    detections.map((d) => key({ src: d.srcIp, port: d.srcPort })).sort(),
    tuples.map(key).sort(),
    'one alert per colliding flow',
  );
  assert.ok(detections.every((d) => d.handshakeCompleted));
  console.log(`# ${tuples.length} colliding tuples in one bucket: bulwark_flow_hash_chain_max ${st.flowHashChainMax}, ${detections.length} alerts`);
});

test('flow table LRU: the least recently seen flow is evicted when full, the others keep matching', () => {
  const { engine, detections } = makeEngine(rules('alert tcp any any -> any 80 (content:"EVIL"; sid:2;)'), { config: engineConfig({ maxFlows: 3 }), hashSeed: SEED });
  const convs = [0, 1, 2, 3].map((i) => new Conv(ATTACKER, SERVER, 2000 + i, 80, { tsUs: 1_700_000_000_000_000 + i }));
  for (const c of convs.slice(0, 3)) feed(engine, c.handshake().frames.splice(0));
  feed(engine, convs[0]!.c('x').frames.splice(0)); // flow 0 most recent: flow 1 is the LRU one
  feed(engine, convs[3]!.handshake().frames.splice(0));
  const st = engine.stats();
  assert.equal(st.flowsActive, 3);
  assert.equal(st.flowEvictions, 1);
  for (const c of convs) feed(engine, c.c('EVIL').frames.splice(0));
  // Flow 1 was evicted: its data is picked up mid-stream as a new flow, still inspected.
  assert.deepEqual(
    detections.map((d) => d.srcPort).sort((x, y) => x - y),
    [2000, 2001, 2002, 2003],
  );
});
