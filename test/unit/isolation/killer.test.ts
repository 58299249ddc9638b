import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conntrackToDelete, createSystemKiller, flowExcluded, parseConntrack, parseSs, planConntrack, socketsToSever, ssFilter } from '../../../src/isolation/killer.js';
import { conntrackScript, countConntrackLines } from '../../../src/isolation/conntrack.js';
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

test('conntrack plan: spared sockets get their mark, exclusions and loopback are kept, the rest deleted', () => {
  const e = parseConntrack(`tcp      6 431999 ESTABLISHED src=198.51.100.11 dst=198.51.100.10 sport=41000 dport=4222 src=198.51.100.10 dst=198.51.100.11 sport=4222 dport=41000 [ASSURED] mark=0 use=1
tcp      6 431999 ESTABLISHED src=198.51.100.10 dst=198.51.100.11 sport=50000 dport=7001 src=198.51.100.11 dst=198.51.100.10 sport=7001 dport=50000 [ASSURED] mark=0 use=1
udp      17 29 src=198.51.100.11 dst=198.51.100.12 sport=40000 dport=53 src=198.51.100.12 dst=198.51.100.11 sport=53 dport=40000 mark=256 use=1
udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=1 dport=2 src=127.0.0.1 dst=127.0.0.1 sport=2 dport=1 mark=0 use=1
tcp      6 431999 ESTABLISHED src=198.51.100.10 dst=198.51.100.11 sport=50001 dport=8080 src=198.51.100.11 dst=198.51.100.10 sport=8080 dport=50001 [ASSURED] mark=0 use=1`);
  const sock = (local: number, remote: string, remotePort: number) => ({ proto: 'tcp' as const, local: '198.51.100.11', localPort: local, remote, remotePort, pids: [9], uid: 0 });
  const spared = [
    { socket: sock(41000, '198.51.100.10', 4222), kind: 'agent' as const },
    { socket: sock(7001, '198.51.100.10', 50000), kind: 'process' as const },
  ];
  const plan = planConntrack(e, { rules: [dns], agentPid: 1 }, spared);
  assert.deepEqual(plan.mark.map((m) => [m.entry.dport, m.mark]), [[4222, 0x4277], [7001, 0x4278]]);
  assert.deepEqual(plan.keep.map((x) => x.dport), [53, 2]);
  assert.deepEqual(plan.delete.map((x) => x.dport), [8080]);
  // One deletion vs two keepers needing the bit: by tuple is fewer table walks.
  const small = conntrackScript(plan);
  assert.equal(small.strategy, 'tuple');
  assert.deepEqual(small.steps.map((s) => [s.kind, s.lines.length]), [['mark', 1], ['mark', 1], ['delete', 1]]);
  assert.equal(small.steps[2]!.lines[0], '-D -f ipv4 -p tcp -s 198.51.100.10 -d 198.51.100.11 --sport 50001 --dport 8080');
  // Many deletions: keep bit on the keepers, one delete-by-mark line, bits restored; each step one mark value.
  const many = { ...plan, delete: Array.from({ length: 10_000 }, (_, i) => ({ proto: 'udp', src: '198.51.100.10', dst: '198.51.100.11', sport: 1024 + i, dport: 9, mark: 0 })) };
  const big = conntrackScript(many);
  assert.equal(big.strategy, 'mark');
  assert.deepEqual(big.steps.map((s) => s.kind), ['mark', 'mark', 'keep', 'delete', 'restore']);
  assert.deepEqual(big.steps[3]!.lines, ['-D -m 0/0x4000']);
  assert.deepEqual(big.steps[2]!.lines, ['-U -f ipv4 -p udp -s 198.51.100.11 -d 198.51.100.12 --sport 40000 --dport 53 -m 0x4000/0x4000', '-U -f ipv4 -p udp -s 127.0.0.1 -d 127.0.0.1 --sport 1 --dport 2 -m 0x4000/0x4000']);
  assert.ok(big.steps[4]!.lines.every((l) => l.endsWith('-m 0/0x4000')));
  for (const s of big.steps) assert.equal(new Set(s.lines.map((l) => l.split(' -m ')[1])).size, 1, 'one mark value per conntrack -R file (it keeps option state across lines)');
  assert.equal(big.walks, 7, 'table walks do not grow with the number of entries deleted');
  assert.equal(countConntrackLines('udp 17 599 src=1.2.3.4 dst=1.2.3.5 sport=1 dport=2\nconntrack v1.4.7: 1 flow entries\n'), 1);
  // An entry already carrying the bit (another tool's mark, our own marks) needs no update and is never deleted.
  assert.deepEqual(conntrackToDelete([{ proto: 'udp', src: '198.51.100.10', dst: '198.51.100.11', mark: 0x4001 }], { rules: [], agentPid: 1 }), []);
});

test('ss --cgroup output: the socket cgroup is parsed', () => {
  const s = parseSs('tcp ESTAB 0 0 198.51.100.11:7001 198.51.100.10:50000 users:(("node",pid=9,fd=3)) ino:5 sk:1 cgroup:/system.slice/a.service <->');
  assert.equal(s[0]?.cgroup, '/system.slice/a.service');
  assert.equal(parseSs(SS)[0]?.cgroup, undefined);
});

const ENTRY = (sport: number): string => `udp      17 29 src=198.51.100.10 dst=198.51.100.11 sport=${sport} dport=9 src=198.51.100.11 dst=198.51.100.10 sport=9 dport=${sport} mark=0 use=1`;
const manyPlan = () => ({
  mark: [],
  keep: [{ proto: 'udp', src: '127.0.0.1', dst: '127.0.0.1', sport: 1, dport: 2, mark: 0 }, { proto: 'udp', src: '198.51.100.11', dst: '198.51.100.12', sport: 40000, dport: 53, mark: 0 }],
  delete: Array.from({ length: 20 }, (_, i) => ({ proto: 'udp', src: '198.51.100.10', dst: '198.51.100.11', sport: 2000 + i, dport: 9, mark: 0 })),
});

test('a partial conntrack listing is never deleted by mark: only its listed entries go, by tuple', () => {
  const full = conntrackScript(manyPlan());
  assert.equal(full.strategy, 'mark');
  const partial = conntrackScript({ ...manyPlan(), partial: true });
  assert.equal(partial.strategy, 'tuple');
  assert.deepEqual(partial.steps.map((s) => s.kind), ['delete']);
  assert.equal(partial.steps[0]!.lines.length, 20);
  assert.ok(partial.steps[0]!.lines.every((l) => l.startsWith('-D -f ipv4 -p udp -s 198.51.100.10 ')));
});

/**
 * A fake `conntrack` behind the adapter's argv prefix: logs each -R file, fails the keep step
 * (`-m 0x4000/0x4000`) after its first line as conntrack -R does at a line whose entry is gone,
 * and fails every listing when told to.
 */
function fakeConntrack(opts: { failKeep: boolean | number; failList: boolean }): { prefix: string[]; runs: () => string[]; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-fake-ct-'));
  const log = join(dir, 'log');
  writeFileSync(log, '');
  const sh = join(dir, 'wrap.sh');
  writeFileSync(sh, `#!/bin/sh
shift  # the command name (conntrack)
if [ "$1" = "-L" ]; then
  echo '${ENTRY(2000)}'
  ${opts.failList ? 'echo "conntrack v1.4.7 (conntrack-tools): Operation failed: No buffer space available" >&2; exit 1' : 'exit 0'}
fi
f="$2"
{ cat "$f"; echo ---; } >> ${log}
if grep -q -- '-m 0x4000/0x4000' "$f"; then
  k=$(cat ${dir}/keeps 2>/dev/null || echo 0); echo $((k+1)) > ${dir}/keeps
  if [ $k -lt ${opts.failKeep === true ? 1000 : opts.failKeep === false ? 0 : opts.failKeep} ]; then echo '${ENTRY(1)}'; echo 'conntrack v1.4.7 (conntrack-tools): Operation failed: Interrupted system call' >&2; exit 1; fi
fi
n=$(wc -l < "$f"); i=0; while [ $i -lt $n ]; do echo '${ENTRY(3000)}'; i=$((i+1)); done
exit 0
`);
  chmodSync(sh, 0o755);
  return {
    prefix: [sh],
    runs: () => readFileSync(log, 'utf8').split('---\n').filter((x) => x !== ''),
    done: () => { rmSync(dir, { recursive: true, force: true }); },
  };
}

test('a keep step that keeps failing stops the delete-by-mark: the deletions go by tuple, the bits set are cleared', async () => {
  const ct = fakeConntrack({ failKeep: true, failList: false });
  try {
    const r = await createSystemKiller({ prefix: ct.prefix }).applyConntrack(manyPlan());
    const runs = ct.runs();
    assert.equal(runs.length, 5, runs.join('|'));
    for (const k of [0, 1, 2]) assert.match(runs[k]!, /-m 0x4000\/0x4000/, 'the keep step is tried three times');
    assert.ok(!runs.some((x) => x.includes('-D -m 0/0x4000')), 'no delete by mark after a failed keep step');
    assert.equal(runs[3]!.trim().split('\n').length, 20);
    assert.ok(runs[3]!.trim().split('\n').every((l) => l.startsWith('-D -f ipv4 -p udp -s 198.51.100.10 ')));
    assert.match(runs[4]!, /-U .* -m 0\/0x4000/);
    assert.equal(r.strategy, 'tuple');
    assert.equal(r.deleted, 20);
    assert.equal(r.failures.length, 3);
    assert.match(r.failures[0]!, /^keep: .*Interrupted system call/);
  } finally {
    ct.done();
  }
  const once = fakeConntrack({ failKeep: 1, failList: false });
  try {
    const r = await createSystemKiller({ prefix: once.prefix }).applyConntrack(manyPlan());
    assert.equal(r.strategy, 'mark', 'a keep step that fails once and then works still deletes by mark');
    assert.deepEqual(once.runs().map((x) => x.trim().split('\n')[0]!.split(' ')[0]), ['-U', '-U', '-D', '-U']);
    assert.equal(r.failures.length, 1);
  } finally {
    once.done();
  }
  const ok = fakeConntrack({ failKeep: false, failList: false });
  try {
    const r = await createSystemKiller({ prefix: ok.prefix }).applyConntrack(manyPlan());
    assert.equal(r.strategy, 'mark');
    assert.deepEqual(ok.runs().map((x) => x.trim().split('\n')[0]!.split(' ')[0]), ['-U', '-D', '-U']);
    assert.ok(ok.runs()[1]!.includes('-D -m 0/0x4000'));
  } finally {
    ok.done();
  }
});

test('a conntrack listing that fails twice says it is partial', async () => {
  const bad = fakeConntrack({ failKeep: false, failList: true });
  const good = fakeConntrack({ failKeep: false, failList: false });
  try {
    const l = await createSystemKiller({ prefix: bad.prefix }).listConntrack();
    assert.equal(l.complete, false);
    assert.equal(l.entries.length, 1);
    assert.equal((await createSystemKiller({ prefix: good.prefix }).listConntrack()).complete, true);
  } finally {
    bad.done();
    good.done();
  }
});
