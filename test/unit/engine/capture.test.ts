import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureFilter, capturePorts, linkTypeNumber } from '../../../src/engine/capture/live.js';
import { isBulwarkError } from '../../../src/errors.js';

test('captureFilter: watched ports as ranges, SYNs and RSTs to any port, exclusions', () => {
  const f = captureFilter({ ports: [80, 81, 82, 443, 8080], exclude: ['192.0.2.0/24', '2001:db8::/32'] });
  assert.match(f, /portrange 80-82 or port 443 or port 8080/);
  assert.match(f, /tcp\[13\] & 0x12 = 0x02/);
  assert.match(f, /tcp\[13\] & 0x04 != 0/);
  assert.match(f, /ip6\[53\]/);
  assert.match(f, /and not \(net 192\.0\.2\.0\/24 or net 2001:db8::\/32\)$/);
  assert.doesNotMatch(captureFilter({ ports: [22], exclude: [] }), /not/);
  assert.throws(() => captureFilter({ ports: [22], exclude: ['host; rm -rf'] }), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CONFIG'));
  // No watched ports: still SYNs and RSTs for the detectors.
  assert.match(captureFilter({ ports: [], exclude: [] }), /^\(ip and tcp and \(\(tcp\[13\]/);
});

test('capturePorts adds brute-force detector ports', () => {
  const base = { description: '', severity: 'high' as const, action: 'block' as const, source: { file: 'x', line: 1 }, name: 'b', track: 'by_src' as const, count: 5, seconds: 60 };
  const ports = capturePorts({ ports: [80, 443], detectors: [{ ...base, id: 1, kind: 'bruteforce', ports: [{ from: 22, to: 23 }, { from: 3389, to: 3389 }] }] });
  assert.deepEqual(ports, [22, 23, 80, 443, 3389]);
});

test('node_pcap link type names', () => {
  assert.equal(linkTypeNumber('LINKTYPE_ETHERNET'), 1);
  assert.equal(linkTypeNumber('LINKTYPE_LINUX_SLL'), 113);
  assert.equal(linkTypeNumber('LINKTYPE_RAW'), 101);
  assert.equal(linkTypeNumber('Unknown linktype 276'), 276);
});
