/**
 * Differential test: the engine (DFA per group, streaming state, reassembly of randomly
 * segmented, reordered and retransmitted streams, pending re-verification) must alert exactly
 * the signatures the naive reference matcher (src/signatures/reference.ts) finds in the whole
 * stream. Rules use only monotone conditions (positive contents with nocase/offset/depth/
 * distance/within), for which "matches some prefix" and "matches the whole stream" agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceMatches } from '../../../src/signatures/reference.js';
import { Conv, engineConfig, feed, makeEngine, rng, rules } from './helpers.js';

const ALPHA = 'abcABC.-';

function randomText(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHA.charAt(Math.floor(r() * ALPHA.length));
  return s;
}

function randomRules(r: () => number, count: number): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const sid = 100000 + i;
    const parts: string[] = [];
    const nContents = 1 + Math.floor(r() * 3);
    for (let c = 0; c < nContents; c++) {
      let opt = `content:"${randomText(r, 2 + Math.floor(r() * 4))}";`;
      if (r() < 0.3) opt += ' nocase;';
      if (c === 0 && r() < 0.25) opt += ` offset:${Math.floor(r() * 10)}; depth:${8 + Math.floor(r() * 40)};`;
      if (c > 0 && r() < 0.5) {
        opt += ` distance:${Math.floor(r() * 5)};`;
        if (r() < 0.5) opt += ` within:${10 + Math.floor(r() * 30)};`;
      }
      parts.push(opt);
    }
    const port = r() < 0.2 ? 'any' : '80';
    lines.push(`alert tcp any any -> any ${port} (msg:"diff ${sid}"; ${parts.join(' ')} sid:${sid}; rev:1;)`);
  }
  return lines.join('\n');
}

function differential(seed: number, streams: number, minLen: number, maxLen: number, minPositives: number): void {
  const r = rng(seed);
  const ruleset = rules(randomRules(r, 400), [80, 81]);
  assert.ok(ruleset.signatures.length >= 390, `compiled ${ruleset.signatures.length} signatures`);
  // Every match is compared: the per-packet alert limit (Suricata's packet-alert-max, 15) must not cut any.
  const { engine, detections } = makeEngine(ruleset, { maxPending: 10_000, config: engineConfig({ packetAlertMax: 1000 }) });
  let compared = 0;
  let positives = 0;
  for (let i = 0; i < streams; i++) {
    const stream = Buffer.from(randomText(r, minLen + Math.floor(r() * (maxLen - minLen))), 'latin1');
    const expected = referenceMatches(ruleset, 'to_server', 80, stream, stream.length);
    const cport = 1024 + i;
    const conv = new Conv(`198.51.100.${1 + (i % 200)}`, '203.0.113.5', cport, 80, { cisn: Math.floor(r() * 2 ** 32) }).handshake();
    // Random segmentation.
    const cuts = new Set<number>();
    const nCuts = Math.floor(r() * 8);
    for (let k = 0; k < nCuts; k++) cuts.add(1 + Math.floor(r() * (stream.length - 1)));
    const bounds = [0, ...[...cuts].sort((a, b) => a - b), stream.length];
    const segs = bounds.slice(1).map((end, k) => ({ at: bounds[k]!, data: stream.subarray(bounds[k], end) }));
    // Random order, plus some retransmissions (identical bytes, possibly overlapping).
    const order = segs.slice();
    if (r() < 0.5) {
      for (let k = order.length - 1; k > 0; k--) {
        const j = Math.floor(r() * (k + 1));
        [order[k], order[j]] = [order[j]!, order[k]!];
      }
    }
    for (const sg of order) {
      conv.c(sg.data, { at: sg.at });
      if (r() < 0.15) conv.c(stream.subarray(Math.max(0, sg.at - 3), sg.at + sg.data.length), { at: Math.max(0, sg.at - 3) });
    }
    detections.length = 0;
    feed(engine, conv.frames);
    const got = detections.filter((d) => d.srcPort === cport).map((d) => d.signatureId).sort((a, b) => a - b);
    assert.deepEqual(got, expected, `stream ${i} ${JSON.stringify(stream.toString('latin1'))} segments ${JSON.stringify(order.map((s) => s.at))}`);
    compared++;
    positives += expected.length;
  }
  assert.equal(compared, streams);
  assert.ok(positives > minPositives, `only ${positives} expected matches: the test would not exercise matching`);
}

test('engine agrees with the reference matcher on random rules, payloads and segmentations', () => {
  differential(424242, 2500, 10, 260, 500);
});

test('same on long segments (parallel scan chains)', () => {
  differential(777, 100, 500, 2000, 300);
});
