/**
 * The flow table's lookup stays optimized when a bucket first holds two flows (a hash collision,
 * rare: the first one may come long after V8 optimized the packet path that inlines `find`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { FlowTable, hash4 } from '../../../../src/engine/flow/table.js';
import { HalfSipHash, type HashSeed } from '../../../../src/engine/flow/hash.js';
import { Flow } from '../../../../src/engine/flow/flow.js';
import { DecodedPacket } from '../../../../src/engine/decode/decode.js';

const SEED: HashSeed = [0x01234567, 0x89abcdef];
const SRV = 0xcb007105; // 203.0.113.5
const CLI = 0xc6336407; // 198.51.100.7

function packet(srcPort: number): DecodedPacket {
  const p = new DecodedPacket();
  p.ipVersion = 4;
  p.src4 = CLI;
  p.dst4 = SRV;
  p.srcPort = srcPort;
  p.dstPort = 80;
  return p;
}

function add(t: FlowTable, p: DecodedPacket): Flow {
  assert.equal(t.find(p), undefined);
  const f = new Flow();
  f.cli4 = p.src4;
  f.srv4 = p.dst4;
  f.cliPort = p.srcPort;
  f.srvPort = p.dstPort;
  t.insert(f);
  return f;
}

test('find is not deoptimized by the first two-flow bucket chain', () => {
  v8.setFlagsFromString('--allow-natives-syntax');
  const natives = vm.runInThisContext(`({
    prepare: (f) => %PrepareFunctionForOptimization(f),
    optimizeNext: (f) => %OptimizeFunctionOnNextCall(f),
    status: (f) => %GetOptimizationStatus(f),
  })`) as { prepare: (f: unknown) => void; optimizeNext: (f: unknown) => void; status: (f: unknown) => number };
  const TURBOFANNED = 1 << 6; // V8's OptimizationStatus::kTurboFanned
  const t = new FlowTable({ maxFlows: 16, seed: SEED, onFree: () => undefined });
  const mask = 15;
  const h = new HalfSipHash();
  const bucketOf = (port: number): number => hash4(h, SEED, CLI, SRV, port, 80) & mask;
  // a, c in different buckets; b later collides with a.
  const pa = packet(40000);
  let cPort = 40001;
  while (bucketOf(cPort) === bucketOf(40000)) cPort++;
  let bPort = cPort + 1;
  while (bucketOf(bPort) !== bucketOf(40000)) bPort++;
  const pc = packet(cPort);
  const a = add(t, pa);
  const c = add(t, pc);
  // The function object itself (never called unbound): V8's natives take it.
  const find: unknown = Object.getOwnPropertyDescriptor(FlowTable.prototype, 'find')?.value;
  natives.prepare(find);
  // Lookups of one-flow chains, each moving its flow to the LRU tail.
  for (let i = 0; i < 4; i++) {
    assert.equal(t.find(pa), a);
    assert.equal(t.find(pc), c);
  }
  natives.optimizeNext(find);
  assert.equal(t.find(pa), a);
  assert.ok((natives.status(find) & TURBOFANNED) !== 0, 'optimized');
  add(t, packet(bPort)); // now first in a's bucket
  assert.equal(t.find(pa), a, 'found behind the colliding flow');
  assert.ok((natives.status(find) & TURBOFANNED) !== 0, 'still optimized');
});
