import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conntrackToDelete, flowExcluded, parseConntrack, parseSs, socketsToSever, ssFilter } from '../../../src/isolation/killer.js';
import type { EffectiveRule } from '../../../src/isolation/types.js';

const SS = `tcp ESTAB 0 0 198.51.100.11:22 198.51.100.10:40001 users:(("sshd",pid=100,fd=3)) ino:1 sk:1 <->
tcp ESTAB 0 0 198.51.100.11:5555 198.51.100.20:443 users:(("curl",pid=101,fd=3)) uid:1000 ino:2 sk:2 <->
tcp ESTAB 0 0 127.0.0.1:7000 127.0.0.1:41000 users:(("x",pid=102,fd=3)) ino:3 sk:3 <->
tcp ESTAB 0 0 [2001:db8:b1::b]:22 [2001:db8:b1::a]:40002 users:(("sshd",pid=103,fd=3)) ino:4 sk:4 <->
udp ESTAB 0 0 198.51.100.11:40000 198.51.100.12:53 users:(("dig",pid=104,fd=3)) ino:5 sk:5 <->
tcp ESTAB 0 0 198.51.100.11:41000 198.51.100.13:8000 users:(("node",pid=4242,fd=20)) ino:6 sk:6 <->
tcp ESTAB 0 0 [::ffff:198.51.100.11]:8080 [::ffff:198.51.100.30]:50000 users:(("java",pid=105,fd=3)) ino:7 sk:7 <->`;

const dns: EffectiveRule = { id: 'profile:dns-client/1', source: 'profile', direction: 'outbound', protocol: 'udp', remote: ['198.51.100.12'], localPorts: 'any', remotePorts: [{ from: 53, to: 53 }], description: '' };
const ssh: EffectiveRule = { id: 'device/1', source: 'device', direction: 'inbound', protocol: 'tcp', remote: ['2001:db8:b1::/64'], localPorts: [{ from: 22, to: 22 }], remotePorts: 'any', description: '' };

test('ss output is parsed (v4, v6, v4-mapped, owners, uid)', () => {
  const s = parseSs(SS);
  assert.equal(s.length, 7);
  assert.deepEqual(s[1], { proto: 'tcp', local: '198.51.100.11', localPort: 5555, remote: '198.51.100.20', remotePort: 443, pids: [101], uid: 1000 });
  assert.equal(s[3]!.remote, '2001:db8:b1::a');
  assert.equal(s[6]!.remote, '198.51.100.30');
});

test('sockets severed: everything except loopback, the daemon and excluded flows', () => {
  const victims = socketsToSever(parseSs(SS), { rules: [dns, ssh], agentPid: 4242 });
  assert.deepEqual(
    victims.map((v) => `${v.remote}:${v.remotePort}`),
    ['198.51.100.10:40001', '198.51.100.20:443', '198.51.100.30:50000'],
  );
  assert.equal(socketsToSever(parseSs(SS), { rules: [dns, ssh], agentPid: 1, agentUid: 1000 }).length, 3, 'uid 1000 spared, the pid-4242 socket not');
  assert.equal(ssFilter(victims.slice(0, 1)), '( src 198.51.100.11:22 and dst 198.51.100.10:40001 )');
  assert.equal(ssFilter([{ proto: 'tcp', local: '2001:db8::1', localPort: 1, remote: '2001:db8::2', remotePort: 2, pids: [], uid: 0 }]), '( src [2001:db8::1]:1 and dst [2001:db8::2]:2 )');
});

test('conntrack entries: either end may be the remote one; agent mark and loopback spared', () => {
  const text = `ipv4     2 tcp      6 431999 ESTABLISHED src=198.51.100.10 dst=198.51.100.11 sport=40001 dport=22 src=198.51.100.11 dst=198.51.100.10 sport=22 dport=40001 [ASSURED] mark=0 use=1
ipv4     2 udp      17 29 src=198.51.100.11 dst=198.51.100.12 sport=40000 dport=53 src=198.51.100.12 dst=198.51.100.11 sport=53 dport=40000 mark=0 use=1
ipv4     2 tcp      6 431999 ESTABLISHED src=198.51.100.11 dst=198.51.100.13 sport=41000 dport=8000 src=198.51.100.13 dst=198.51.100.11 sport=8000 dport=41000 [ASSURED] mark=17015 use=1
ipv4     2 icmp     1 29 src=198.51.100.11 dst=198.51.100.10 type=8 code=0 id=1 src=198.51.100.10 dst=198.51.100.11 type=0 code=0 id=1 mark=0 use=1
ipv6     10 tcp      6 431999 ESTABLISHED src=2001:db8:b1::a dst=2001:db8:b1::b sport=40002 dport=22 src=2001:db8:b1::b dst=2001:db8:b1::a sport=22 dport=40002 [ASSURED] mark=0 use=1`;
  const e = parseConntrack(text);
  assert.equal(e.length, 5);
  assert.deepEqual(e[3], { proto: 'icmp', src: '198.51.100.11', dst: '198.51.100.10', mark: 0 });
  const del = conntrackToDelete(e, { rules: [dns, ssh], agentPid: 1 });
  assert.deepEqual(del.map((x) => `${x.proto} ${x.src}>${x.dst}`), ['tcp 198.51.100.10>198.51.100.11', 'icmp 198.51.100.11>198.51.100.10']);
});

test('flowExcluded honours protocol, address, both port lists', () => {
  assert.equal(flowExcluded([dns], 'udp', '198.51.100.12', 40000, 53), true);
  assert.equal(flowExcluded([dns], 'tcp', '198.51.100.12', 40000, 53), false);
  assert.equal(flowExcluded([dns], 'udp', '198.51.100.99', 40000, 53), false);
  assert.equal(flowExcluded([dns], 'udp', '198.51.100.12', 40000, 54), false);
  const anyProto: EffectiveRule = { ...dns, protocol: 'any', remotePorts: 'any' };
  assert.equal(flowExcluded([anyProto], 'icmp', '198.51.100.12', undefined, undefined), true);
});
