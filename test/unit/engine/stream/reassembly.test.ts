import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reassembler, ReassemblyCounters, StreamState, startStream } from '../../../../src/engine/stream/reassembly.js';

function setup(depth = 1 << 20, maxSegments = 8): { r: Reassembler<StreamState>; s: StreamState; out: string[]; gaps: number[]; c: ReassemblyCounters } {
  const out: string[] = [];
  const gaps: number[] = [];
  const c = new ReassemblyCounters();
  const r = new Reassembler<StreamState>({ depth, maxSegments }, c, (_d, data, off, len, at, _po, _pl, _f, gap) => {
    out.push(Buffer.from(data.subarray(off, off + len)).toString('latin1'));
    if (gap) gaps.push(at);
  });
  return { r, s: new StreamState(), out, gaps, c };
}
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('in order, out of order, retransmission and partial overlap', () => {
  const { r, s, out, c } = setup();
  startStream(s, 100);
  r.segment(s, 100, b('abc'), 0, 3, 0);
  r.segment(s, 106, b('ghi'), 0, 3, 0); // hole 103..106
  assert.deepEqual(out, ['abc']);
  r.segment(s, 101, b('bcdef'), 0, 5, 0); // overlaps delivered 'bc', fills the hole
  assert.deepEqual(out, ['abc', 'def', 'ghi']);
  r.segment(s, 100, b('abcdefghi'), 0, 9, 0); // full retransmission
  assert.equal(out.join(''), 'abcdefghi');
  assert.equal(c.retransmittedSegments, 1);
  assert.equal(s.delivered, 9);
});

test('first-wins against buffered out-of-order data, mismatches counted', () => {
  const { r, s, out, c } = setup();
  startStream(s, 0);
  r.segment(s, 4, b('EFGH'), 0, 4, 0);
  r.segment(s, 2, b('cdXYZij'), 0, 7, 0); // XYZ overlaps buffered EFG... (E at 4) and differs
  r.segment(s, 0, b('ab'), 0, 2, 0);
  assert.equal(out.join(''), 'abcdEFGHj');
  assert.equal(c.overlapMismatchBytes, 4);
});

test('sequence numbers wrap around 2^32', () => {
  const { r, s, out } = setup();
  startStream(s, 0xfffffffe);
  r.segment(s, 0xfffffffe, b('ab'), 0, 2, 0);
  r.segment(s, 2, b('ef'), 0, 2, 0);
  r.segment(s, 0, b('cd'), 0, 2, 0);
  assert.equal(out.join(''), 'abcdef');
});

test('depth: only the first depth bytes are delivered, the rest counted', () => {
  const { r, s, out, c } = setup(5);
  startStream(s, 0);
  r.segment(s, 0, b('abc'), 0, 3, 0);
  r.segment(s, 3, b('defg'), 0, 4, 0);
  r.segment(s, 7, b('hij'), 0, 3, 0);
  assert.equal(out.join(''), 'abcde');
  assert.equal(c.bytesBeyondDepth, 5);
});

test('bounded out-of-order buffer gives up a hole and flags the gap', () => {
  const { r, s, out, gaps, c } = setup(1 << 20, 3);
  startStream(s, 0);
  r.segment(s, 10, b('k'), 0, 1, 0);
  r.segment(s, 12, b('m'), 0, 1, 0);
  assert.deepEqual(out, []);
  r.segment(s, 14, b('o'), 0, 1, 0); // third buffered segment: buffer full → skip to 10
  assert.ok(c.gaps >= 1);
  assert.equal(gaps[0], 10);
  assert.ok(out.join('').startsWith('k'));
  assert.ok(c.gapBytes >= 10);
});

test('mid-stream start at the first segment seen', () => {
  const { r, s, out } = setup();
  r.segment(s, 123456, b('xyz'), 0, 3, 0);
  r.segment(s, 123459, b('w'), 0, 1, 0);
  assert.equal(out.join(''), 'xyzw');
  assert.equal(s.base, 123456);
});

test('segment far outside the window is ignored as bogus', () => {
  const { r, s, out, c } = setup();
  startStream(s, 0);
  r.segment(s, 0x7fffff00, b('zz'), 0, 2, 0);
  assert.deepEqual(out, []);
  assert.equal(c.bogusSegments, 1);
});

test('a hole the receiver acknowledged is a gap: what waits behind it is delivered (ACKed unseen segment)', () => {
  const { r, s, out, gaps, c } = setup();
  startStream(s, 1000);
  r.segment(s, 1000, b('VERY'), 0, 4, 0);
  r.segment(s, 1008, b('DATA'), 0, 4, 0); // 1004..1008 never captured
  r.segment(s, 1016, b('MORE'), 0, 4, 0); // 1012..1016 never captured either
  assert.deepEqual(out, ['VERY']);
  // An ACK short of the hole, or with nothing buffered beyond it, changes nothing.
  r.ackedGap(s, 1004);
  assert.deepEqual(out, ['VERY']);
  // The peer acknowledged up to 1012: the first hole is lost, DATA follows it; the second hole is
  // past the ACK and still waits for a retransmission.
  r.ackedGap(s, 1012);
  assert.deepEqual(out, ['VERY', 'DATA']);
  assert.deepEqual(gaps, [8]);
  assert.equal(c.gaps, 1);
  assert.equal(c.gapBytes, 4);
  r.ackedGap(s, 1020);
  assert.deepEqual(out, ['VERY', 'DATA', 'MORE']);
  assert.deepEqual(gaps, [8, 16]);
  assert.equal(s.ooo, null);
  // A later in-order segment is delivered normally, without a gap.
  r.segment(s, 1020, b('END!'), 0, 4, 0);
  assert.deepEqual(gaps, [8, 16]);
  assert.equal(out.join(''), 'VERYDATAMOREEND!');
});

test('an ACK far ahead (bogus) does not skip data', () => {
  const { r, s, out } = setup();
  startStream(s, 0);
  r.segment(s, 8, b('late'), 0, 4, 0);
  r.ackedGap(s, (0x7fffffff + 10) >>> 0);
  assert.deepEqual(out, []);
});

test('flushHeld: flow end delivers what waits behind holes, gaps flagged but not counted', () => {
  const { r, s, out, gaps, c } = setup(1 << 20, 8);
  startStream(s, 1000);
  r.segment(s, 1000, b('Please '), 0, 7, 0);
  r.segment(s, 1011, b('Me '), 0, 3, 0); // hole 1007..1011 ("Let ")
  r.segment(s, 1014, b('In!'), 0, 3, 0);
  r.segment(s, 1020, b('xyz'), 0, 3, 0); // second hole 1017..1020
  assert.deepEqual(out, ['Please ']);
  assert.equal(r.flushHeld(s), 9);
  assert.deepEqual(out, ['Please ', 'Me ', 'In!', 'xyz']);
  assert.deepEqual(gaps, [11, 20]);
  assert.equal(s.ooo, null);
  assert.equal(s.oooBytes, 0);
  // Unacknowledged data with holes is normal at flow end: no reassembly gap.
  assert.equal(c.gaps, 0);
  assert.equal(c.gapBytes, 0);
  // Nothing held: nothing to do.
  assert.equal(r.flushHeld(s), 0);
});

test('flushHeld respects the reassembly depth', () => {
  const { r, s, out, c } = setup(12, 8);
  startStream(s, 0);
  r.segment(s, 0, b('abcd'), 0, 4, 0);
  r.segment(s, 6, b('ghij'), 0, 4, 0);
  r.segment(s, 14, b('opqr'), 0, 4, 0);
  r.flushHeld(s);
  assert.deepEqual(out, ['abcd', 'ghij']);
  assert.equal(c.bytesBeyondDepth, 4);
});

test('buffered segments are delivered as copies of the same kind as the capture\'s buffers (one map for every chunk)', () => {
  const kinds: string[] = [];
  const c = new ReassemblyCounters();
  const capture = b('abcdefghi');
  const r = new Reassembler<StreamState>({ depth: 1 << 20, maxSegments: 8 }, c, (_d, data, off, len) => {
    kinds.push(`${data.constructor.name}:${Buffer.from(data.subarray(off, off + len)).toString('latin1')}:${data.buffer === capture.buffer ? 'capture' : 'copy'}`);
  });
  const s = new StreamState();
  startStream(s, 0);
  r.segment(s, 0, capture, 0, 3, 0); // in order: the capture's own bytes
  r.segment(s, 6, capture, 6, 3, 0); // held behind a hole: copied out of the capture buffer
  r.segment(s, 3, capture, 3, 3, 0); // fills the hole (merged into the held list, copied too)
  assert.deepEqual(kinds, ['Buffer:abc:capture', 'Buffer:def:copy', 'Buffer:ghi:copy']);
});
