/** Suricata's per-packet alert queue: signature order, pass, packet-alert-max (src/engine/detect/alert-queue.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finalizeQueue, parseActionOrder, signatureOrder } from '../../../../src/engine/detect/alert-queue.js';
import { rules } from '../helpers.js';

const order = (text: string, actionOrder?: Parameters<typeof signatureOrder>[1]): number[] => {
  const r = rules(text, [80]);
  const rank = signatureOrder(r.signatures, actionOrder);
  return r.signatures.map((s, i) => ({ sid: s.id, r: rank[i]! })).sort((a, b) => a.r - b.r).map((x) => x.sid);
};

test('signature order: action (pass, drop, reject, alert), flowbits setters before readers, priority, sid', () => {
  // the internal ids of suricata-verify alert-max-append-higher-priority-drop-5180-02
  const text = [
    'alert tcp any any -> any 80 (content:"a"; dsize:<140; sid:1;)',
    'alert tcp any any -> any 80 (content:"b"; sid:2;)',
    'alert tcp any any -> any 80 (content:"c"; flowbits:set,x; sid:3;)',
    'drop tcp any any -> any 80 (content:"d"; flowbits:isset,x; sid:4;)',
    'alert tcp any any -> any 80 (content:"e"; sid:5;)',
    'pass tcp any any -> any 80 (content:"f"; sid:6;)',
    'alert tcp any any -> any 80 (content:"g"; priority:1; sid:7;)',
    'reject tcp any any -> any 80 (content:"h"; sid:8;)',
  ].join('\n');
  assert.deepEqual(order(text), [6, 4, 8, 3, 7, 1, 2, 5]);
  assert.deepEqual(order(text, ['drop', 'alert', 'reject', 'pass']), [4, 3, 7, 1, 2, 5, 8, 6]);
});

test('finalize: sorted by rank, a pass ends the list (not logged), at most max alerts (the rest counted)', () => {
  const rank = Int32Array.from([3, 0, 2, 1]);
  const isPass = (si: number): boolean => si === 2;
  const q = [0, 1, 2, 3].map((si) => ({ si, flowMatch: false }));
  const r = finalizeQueue(q, rank, isPass, 15);
  assert.deepEqual(r.alert.map((i) => q[i]!.si), [1, 3]);
  assert.equal(r.pass, 2);
  assert.equal(r.passed, 1);
  assert.equal(r.overflow, 0);
  const none = finalizeQueue(q, rank, () => false, 2);
  assert.deepEqual(none.alert.map((i) => q[i]!.si), [1, 3]);
  assert.equal(none.overflow, 2);
  assert.equal(none.pass, -1);
});

test('action-order must name each action once', () => {
  assert.deepEqual(parseActionOrder(['Drop', 'pass', 'reject', 'alert']), ['drop', 'pass', 'reject', 'alert']);
  assert.throws(() => parseActionOrder(['drop', 'pass', 'alert']), /each of/);
  assert.throws(() => parseActionOrder(['drop', 'drop', 'reject', 'alert']), /twice/);
  assert.throws(() => parseActionOrder(['drop', 'pass', 'reject', 'log']), /unknown action/);
});
