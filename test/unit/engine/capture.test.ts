import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureFilter, capturePorts, ethernetAddress, linkTypeNumber } from '../../../src/engine/capture/live.js';
import { frameDirection, parseMac } from '../../../src/engine/capture/direction.js';
import { DIR } from '../../../src/engine/capture/types.js';
import { LocalAddressSet } from '../../../src/engine/local-addresses.js';
import { tcpFrame } from '../../../src/engine/pcap-writer.js';
import { isBulwarkError } from '../../../src/errors.js';

test('captureFilter: watched ports as ranges, SYNs and RSTs to any port, exclusions', () => {
  const f = captureFilter({ ports: [80, 81, 82, 443, 8080], exclude: ['192.0.2.0/24', '2001:db8::/32'] });
  assert.match(f, /portrange 80-82 or port 443 or port 8080/);
  assert.match(f, /tcp\[13\] & 0x12 = 0x02/);
  assert.match(f, /tcp\[13\] & 0x04 != 0/);
  // nmap -sF/-sN/-sX probes (none of SYN, ACK, RST) reach the port-scan detector.
  assert.match(f, /tcp\[13\] & 0x16 = 0/);
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

test('frame direction: Ethernet by the interface MAC, cooked captures by the kernel packet type, raw IP unknown', () => {
  const mac = parseMac('02:aa:bb:cc:dd:01')!;
  const peer = Uint8Array.of(2, 0, 0, 0, 0, 9);
  const eth = (dst: Uint8Array, src: Uint8Array): Uint8Array => tcpFrame({ srcIp: '198.51.100.1', dstIp: '198.51.100.2', srcPort: 1, dstPort: 2, seq: 1, flags: 2, srcMac: src, dstMac: dst });
  const dir = (f: Uint8Array, lt = 1, m: Uint8Array | null = mac): number => frameDirection(f, 0, f.length, lt, m);
  assert.equal(dir(eth(peer, mac)), DIR.OUTBOUND);
  assert.equal(dir(eth(mac, peer)), DIR.INBOUND);
  assert.equal(dir(eth(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff), peer)), DIR.INBOUND, 'broadcast');
  assert.equal(dir(eth(Uint8Array.of(0x33, 0x33, 0, 0, 0, 1), peer)), DIR.INBOUND, 'multicast');
  assert.equal(dir(eth(Uint8Array.of(2, 0, 0, 0, 0, 7), peer)), DIR.OTHER_HOST, 'another host\'s MAC');
  assert.equal(dir(eth(mac, peer), 1, null), DIR.UNKNOWN, 'MAC unknown');
  assert.equal(dir(eth(mac, peer).subarray(14), 101), DIR.UNKNOWN, 'raw IP');
  // Linux cooked v1: packet type in the first two bytes; v2: byte 10.
  const sll = (t: number): Uint8Array => Uint8Array.from([0, t, ...new Array<number>(14).fill(0)]);
  assert.deepEqual([0, 1, 2, 3, 4, 7].map((t) => dir(sll(t), 113)), [DIR.INBOUND, DIR.INBOUND, DIR.INBOUND, DIR.OTHER_HOST, DIR.OUTBOUND, DIR.UNKNOWN]);
  const sll2 = new Uint8Array(20);
  sll2[10] = 4;
  assert.equal(dir(sll2, 276), DIR.OUTBOUND);
  sll2[10] = 3;
  assert.equal(dir(sll2, 276), DIR.OTHER_HOST);
  assert.equal(dir(sll2.subarray(0, 10), 276), DIR.UNKNOWN, 'truncated');
});

test('MAC parsing and reading the MAC from sysfs', () => {
  assert.deepEqual(parseMac('02:AA:bb:0c:dd:01'), Uint8Array.of(2, 0xaa, 0xbb, 0x0c, 0xdd, 1));
  assert.equal(parseMac('00:00:00:00:00:00'), null);
  assert.equal(parseMac('02:aa:bb:cc:dd'), null);
  const sys = mkdtempSync(join(tmpdir(), 'bulwark-sysnet-'));
  try {
    mkdirSync(join(sys, 'eth0'));
    writeFileSync(join(sys, 'eth0', 'type'), '1\n');
    writeFileSync(join(sys, 'eth0', 'address'), '02:aa:bb:cc:dd:01\n');
    mkdirSync(join(sys, 'wg0'));
    writeFileSync(join(sys, 'wg0', 'type'), '65534\n');
    writeFileSync(join(sys, 'wg0', 'address'), '\n');
    assert.deepEqual(ethernetAddress('eth0', sys), parseMac('02:aa:bb:cc:dd:01'));
    assert.equal(ethernetAddress('wg0', sys), null, 'not Ethernet');
    assert.equal(ethernetAddress('any', sys), null, 'no such interface');
    assert.equal(ethernetAddress('../eth0', sys), null);
  } finally {
    rmSync(sys, { recursive: true, force: true });
  }
});

test('LocalAddressSet: IPv4 and IPv6 lookups without strings, unknown until first set', () => {
  const s = new LocalAddressSet();
  assert.equal(s.known, false);
  assert.equal(s.set(['198.51.100.11', '2001:db8:b1::b', 'fe80::1', 'not-an-address'], new Map([['eth0', '02:aa:bb:cc:dd:01']])), 1);
  assert.equal(s.known, true);
  assert.equal(s.has4(((198 << 24) | (51 << 16) | (100 << 8) | 11) >>> 0), true);
  assert.equal(s.has4(((198 << 24) | (51 << 16) | (100 << 8) | 12) >>> 0), false);
  const v6 = tcpFrame({ srcIp: '2001:db8:b1::b', dstIp: '2001:db8:b1::c', srcPort: 1, dstPort: 2, seq: 1, flags: 2 });
  assert.equal(s.has6(v6, 14 + 8), true);
  assert.equal(s.has6(v6, 14 + 24), false);
  assert.equal(s.macs.get('eth0'), '02:aa:bb:cc:dd:01');
});
