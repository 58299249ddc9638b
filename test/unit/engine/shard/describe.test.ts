/** The signatures' descriptive fields stay on the main thread of a sharded scan (engine/shard/describe.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restoreDescription, takeDescriptions } from '../../../../src/engine/shard/describe.js';
import { toAlertEvent } from '../../../../src/engine/events.js';
import type { Detection } from '../../../../src/engine/types.js';
import { Conv, feed, makeEngine, rules } from '../helpers.js';

const TEXT = [
  'alert tcp any any -> any 80 (msg:"evil thing"; flow:to_server; content:"evil"; classtype:trojan-activity; reference:url,example.com/evil; reference:cve,2021-44228; metadata:created_at 2020_01_01, signature_severity Major; sid:1; rev:2;)',
  'alert tcp any any -> any 80 (msg:"bad"; flow:to_server; content:"bad|20|thing"; priority:1; sid:2;)',
  'alert tcp any any -> any 80 (msg:"no class"; flow:to_server; content:"GET"; metadata:former_category MALWARE; sid:3;)',
].join('\n');

function run(rs: ReturnType<typeof rules>): Detection[] {
  const { engine, detections } = makeEngine(rs);
  const c = new Conv('203.0.113.9', '198.51.100.2', 40000, 80);
  c.handshake().c('GET /evil HTTP/1.0\r\nX: bad thing\r\n\r\n');
  feed(engine, c.frames);
  engine.flush();
  return detections;
}

/** The alert's EVE line but its flow_id (each engine numbers flows from a seed of its own). */
const eve = (d: Detection): string => JSON.stringify({ ...toAlertEvent(d, { action: 'allowed', count: 1, eventId: 'x', references: true }), flow_id: '' });

test('the workers get signatures without msg, metadata and EVE texts; their alerts get them back as one engine writes them', () => {
  const one = run(rules(TEXT)).map(eve);
  assert.equal(one.length, 3);
  assert.match(one.join('\n'), /"metadata":\{"created_at":\["2020_01_01"\]/);
  assert.match(one.join('\n'), /"references":\["https:\/\/example.com\/evil"/);
  const stripped = rules(TEXT);
  const texts = takeDescriptions(stripped.signatures);
  assert.equal(texts.size, 3);
  for (const s of stripped.signatures) {
    assert.equal(s.name, '');
    assert.deepEqual(s.metadata, []);
    assert.deepEqual(s.references, []);
    assert.equal(s.eve?.category, '');
    assert.deepEqual(s.eve.references, []);
  }
  // One EVE object per severity (sids 1 and 2 have priority 1).
  assert.equal(stripped.signatures[0]!.eve, stripped.signatures[1]!.eve);
  assert.notEqual(stripped.signatures[0]!.eve, stripped.signatures[2]!.eve);
  // The alert queue's order (priority / EVE severity) is unchanged.
  assert.deepEqual(stripped.signatures.map((s) => s.eve?.severity), rules(TEXT).signatures.map((s) => s.eve?.severity));
  const dets = run(stripped);
  assert.ok(dets.every((d) => d.signature === '' && d.metadata === undefined));
  for (const d of dets) restoreDescription(d, texts);
  assert.deepEqual(dets.map(eve), one);
});

test('signatures sharing a sid with different texts keep theirs; detector findings are left alone', () => {
  const rs = rules(TEXT);
  const twin = { ...rs.signatures[0]!, name: 'another msg' };
  const sigs = [...rs.signatures, twin];
  const texts = takeDescriptions(sigs);
  assert.equal(texts.has('1:1'), false);
  assert.equal(sigs[0]!.name, 'evil thing');
  assert.equal(twin.name, 'another msg');
  assert.equal(sigs[1]!.name, '');
  const finding = { signatureId: 2, gid: 1, signature: 'Portscan', detector: 'portscan' } as Detection;
  restoreDescription(finding, texts);
  assert.equal(finding.signature, 'Portscan');
});
