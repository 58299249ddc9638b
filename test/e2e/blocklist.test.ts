// Blocklist end to end: the real daemon and CLI inside test namespaces; assertions on the kernel
// (nft inside the protected host's namespace) and on sockets from the attacker's namespace.
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestNet, type Host, type TestNet } from './netns.js';
import { BIN, startDaemon, type DaemonHandle } from './daemon.js';
import { nftSetElems, type SetElement } from './nft.js';

// netns.ts run() writes to the child's stdin without an error listener: a command that exits
// before the write (fast `ip`/`nft` calls on a loaded machine) raises EPIPE as an uncaught
// exception and fails the whole file. Until netns.ts listens for it, give every spawned child's
// stdin an error listener (the EPIPE itself is harmless: the child did not want input).
const origSpawn = childProcess.spawn.bind(childProcess);
childProcess.spawn = ((...args: Parameters<typeof childProcess.spawn>) => {
  const c = origSpawn(...args);
  c.stdin?.on('error', () => undefined);
  return c;
}) as typeof childProcess.spawn;
syncBuiltinESMExports();

const PORT = 8080;
let net: TestNet;
let attacker: Host;
let protectedHost: Host;
let other: Host;
const daemons: DaemonHandle[] = [];

before(async () => {
  net = await createTestNet(['attacker', 'protected', 'other']);
  attacker = net.host('attacker');
  protectedHost = net.host('protected');
  other = net.host('other');
  // A TCP service on the protected host, both families.
  // Clients hang up right after connecting: the server must survive the resulting socket errors.
  protectedHost.spawn(process.execPath, ['-e', `require('net').createServer((s) => { s.on('error', () => {}); s.end('hi'); }).listen(${PORT}, '::')`]);
  await waitFor(async () => (await tcpOk(other, protectedHost.ip4)) || undefined, 5000, 'test service up');
});

after(async () => {
  for (const d of daemons) await d.destroy();
  await net.destroy();
});

async function daemon(config: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): Promise<DaemonHandle> {
  // A test that failed half-way left its daemon running (and holding the metrics port).
  for (const old of daemons.splice(0)) await old.destroy();
  const d = await startDaemon(protectedHost, {
    config: { protection: { enabled: false }, neverBlockSshClients: false, ...config },
    env: { BULWARK_BLOCKLIST_RECONCILE_MS: '1000', ...env },
  });
  daemons.push(d);
  return d;
}

/** Connects from `from` to the protected service; true when the handshake completes within 1 s. */
async function tcpOk(from: Host, addr: string): Promise<boolean> {
  const js = `const s=require('net').connect({host:${JSON.stringify(addr)},port:${PORT}});s.setTimeout(1000);s.on('connect',()=>process.exit(0));s.on('timeout',()=>process.exit(1));s.on('error',()=>process.exit(2));`;
  return (await from.exec(process.execPath, ['-e', js], { timeoutMs: 5000 })).code === 0;
}

async function pingOk(from: Host, addr: string): Promise<boolean> {
  return (await from.exec('ping', [addr.includes(':') ? '-6' : '-4', '-c1', '-W1', addr])).code === 0;
}

/** Elements of a blocked set, without its canary (docs/nftables.md). */
function kernelSet(name: 'blocked4' | 'blocked6' | 'blockednet4' | 'blockednet6' = 'blocked4'): Promise<SetElement[]> {
  return nftSetElems(protectedHost, name);
}

async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function cliOk(r: { code: number; stdout: string; stderr: string }): void {
  assert.equal(r.code, 0, `exit ${r.code}; stdout: ${r.stdout}; stderr: ${r.stderr}`);
}

async function resetKernel(): Promise<void> {
  await protectedHost.exec('nft', ['delete', 'table', 'inet', 'bulwark']);
}

test('CLI block cuts TCP and ICMP from the attacker (v4 and v6), others still connect; unblock restores at once', async () => {
  await resetKernel();
  const d = await daemon();
  assert.ok(await tcpOk(attacker, protectedHost.ip4), 'attacker connects before the block');
  let r = await d.cli(['block', attacker.ip4, '--for', '10m', '--reason', 'e2e test']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`blocked ${attacker.ip4.replace(/\./g, '\\.')}`));
  r = await d.cli(['block', attacker.ip6]);
  assert.equal(r.code, 0, r.stderr);
  const set = await kernelSet();
  assert.deepEqual(set.map((e) => e.val), [attacker.ip4]);
  assert.ok(set[0]!.timeout === 600, `timeout in kernel: ${JSON.stringify(set[0])}`);
  assert.deepEqual((await kernelSet('blocked6')).map((e) => e.val), [attacker.ip6]);
  assert.equal(await tcpOk(attacker, protectedHost.ip4), false, 'attacker TCP v4 blocked');
  assert.equal(await pingOk(attacker, protectedHost.ip4), false, 'attacker ICMP blocked');
  assert.equal(await tcpOk(attacker, protectedHost.ip6), false, 'attacker TCP v6 blocked');
  assert.equal(await pingOk(attacker, protectedHost.ip6), false, 'attacker ICMPv6 blocked');
  assert.ok(await tcpOk(other, protectedHost.ip4), 'another host still connects');
  assert.ok(await pingOk(other, protectedHost.ip6), 'another host still pings');

  const list = await d.cli(['--json', 'blocked']);
  assert.equal(list.code, 0, list.stderr);
  const entries = (JSON.parse(list.stdout) as { entries: { address: string; reason: string; expiresInMs: number }[] }).entries;
  assert.deepEqual(entries.map((e) => e.address).sort(), [attacker.ip4, attacker.ip6].sort());
  assert.equal(entries.find((e) => e.address === attacker.ip4)!.reason, 'e2e test');
  assert.ok(entries[0]!.expiresInMs > 590_000 && entries[0]!.expiresInMs <= 600_000);

  r = await d.cli(['unblock', attacker.ip4, attacker.ip6, '198.51.100.200']);
  assert.equal(r.code, 1, 'one address was not blocked');
  assert.match(r.stderr, /not blocked: 198\.51\.100\.200/);
  assert.deepEqual(await kernelSet(), []);
  assert.ok(await tcpOk(attacker, protectedHost.ip4), 'attacker connects right after unblock');
  // IPv6 needs neighbour discovery again (the block dropped it too, the entry went FAILED):
  // allow the kernel a few seconds to re-resolve.
  await waitFor(async () => ((await pingOk(attacker, protectedHost.ip6)) ? true : undefined), 5000, 'ICMPv6 after unblock');
  await d.stop();
});

test('invalid addresses exit 2; never-block addresses are refused by the daemon and spared by the kernel', async () => {
  await resetKernel();
  const d = await daemon({ neverBlock: [`${other.ip4}/32`] });
  let r = await d.cli(['block', '198.51.100.300']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /invalid address "198\.51\.100\.300"/);
  r = await d.cli(['block', '198.51.100.7/24']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /did you mean 198\.51\.100\.0\/24/);
  r = await d.cli(['block', other.ip4]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /never-block/);
  r = await d.cli(['block', protectedHost.ip4]);
  assert.equal(r.code, 1, 'own interface address refused');
  r = await d.cli(['block', '198.51.100.0/24']);
  assert.equal(r.code, 1, 'a CIDR containing a never-block address is refused');
  assert.deepEqual(await kernelSet(), []);
  // Even an element put in the set behind the daemon's back does not cut a never-block host.
  assert.equal((await protectedHost.exec('nft', ['add', 'element', 'inet', 'bulwark', 'blocked4', `{ ${other.ip4}, ${attacker.ip4} }`])).code, 0);
  assert.ok(await tcpOk(other, protectedHost.ip4), 'allow4 spares the never-block host in the kernel');
  assert.equal(await tcpOk(attacker, protectedHost.ip4), false);
  await d.stop();
  await resetKernel();
});

test('table deleted behind the daemon: re-created with its blocks within 10 s', async () => {
  await resetKernel();
  const d = await daemon({}, { BULWARK_BLOCKLIST_RECONCILE_MS: '3000' });
  cliOk(await d.cli(['block', attacker.ip4, '--for', '1h']));
  const t0 = Date.now();
  assert.equal((await protectedHost.exec('nft', ['delete', 'table', 'inet', 'bulwark'])).code, 0);
  assert.ok(await tcpOk(attacker, protectedHost.ip4), 'table gone: attacker gets through for a moment');
  await waitFor(async () => ((await kernelSet()).some((e) => e.val === attacker.ip4) ? true : undefined), 10_000, 'block restored');
  assert.ok(Date.now() - t0 < 10_000);
  assert.equal(await tcpOk(attacker, protectedHost.ip4), false, 'blocked again');
  await d.waitForLog((e) => e.msg === 'nftables table bulwark was missing parts: re-created with its blocks', 2000);
  const m = await d.http('/metrics');
  assert.match(m.body, /^bulwark_ruleset_restored_total [1-9]/m);
  await d.stop();
  await resetKernel();
});

test('issue 14: partial tampering (flushed set, flushed chain) is repaired within the check period', async () => {
  await resetKernel();
  const d = await daemon({}, { BULWARK_BLOCKLIST_RECONCILE_MS: '1000' });
  cliOk(await d.cli(['block', attacker.ip4, '--for', '1h']));
  cliOk(await d.cli(['block', attacker.ip6, '--for', '1h']));
  assert.equal(await tcpOk(attacker, protectedHost.ip4), false);
  const rules = async (): Promise<string[]> => {
    const r = await protectedHost.exec('nft', ['-j', '-t', 'list', 'ruleset']);
    return (JSON.parse(r.stdout) as { nftables: { rule?: { table: string; chain: string; comment?: string } }[] }).nftables
      .filter((x) => x.rule?.table === 'bulwark' && x.rule.chain === 'input')
      .map((x) => x.rule!.comment ?? '');
  };
  const intact = await rules();

  for (const set of ['blocked4', 'blocked6'] as const) {
    assert.equal((await protectedHost.exec('nft', ['flush', 'set', 'inet', 'bulwark', set])).code, 0);
    const t0 = Date.now();
    await waitFor(async () => ((await kernelSet(set)).length === 1 ? true : undefined), 5000, `${set} refilled`);
    assert.ok(Date.now() - t0 < 5000);
  }
  assert.equal(await tcpOk(attacker, protectedHost.ip4), false, 'blocked again (v4)');
  assert.equal(await tcpOk(attacker, protectedHost.ip6), false, 'blocked again (v6)');

  assert.equal((await protectedHost.exec('nft', ['flush', 'chain', 'inet', 'bulwark', 'input'])).code, 0);
  await waitFor(async () => ((await rules()).join() === intact.join() ? true : undefined), 5000, 'input chain refilled');
  assert.equal(await tcpOk(attacker, protectedHost.ip4), false, 'blocked again after the chain repair');

  // A rule slipped into our base chain ahead of the drops is removed too.
  assert.equal((await protectedHost.exec('nft', ['insert', 'rule', 'inet', 'bulwark', 'input', 'ip', 'saddr', attacker.ip4, 'accept'])).code, 0);
  await waitFor(async () => ((await rules()).join() === intact.join() ? true : undefined), 5000, 'inserted rule removed');

  const list = JSON.parse((await d.cli(['--json', 'blocked'])).stdout) as { entries: unknown[] };
  assert.equal(list.entries.length, 2);
  const m = await d.http('/metrics');
  assert.match(m.body, /^bulwark_blocklist_repairs_total\{what="elements"\} [2-9]/m);
  assert.match(m.body, /^bulwark_blocklist_repairs_total\{what="chains"\} [2-9]/m);
  await d.stop();
  await resetKernel();
});

test('issue 14: a table of the previous layout (interval sets) is migrated at start, blocks kept', async () => {
  await resetKernel();
  const old = [
    'add table inet bulwark',
    'add set inet bulwark blocked4 { type ipv4_addr; flags interval,timeout; timeout 1h; }',
    'add set inet bulwark blocked6 { type ipv6_addr; flags interval,timeout; timeout 1h; }',
    'add set inet bulwark allow4 { type ipv4_addr; flags interval; }',
    'add set inet bulwark allow6 { type ipv6_addr; flags interval; }',
    'add chain inet bulwark bypass',
    'add chain inet bulwark iso_in',
    'add chain inet bulwark iso_out',
    'add chain inet bulwark iso_fwd',
    'add chain inet bulwark input { type filter hook input priority filter - 10; policy accept; }',
    'add rule inet bulwark input ip saddr @blocked4 ip saddr != @allow4 drop',
    'add rule inet bulwark input ip6 saddr @blocked6 ip6 saddr != @allow6 drop',
    `add element inet bulwark blocked4 { ${attacker.ip4} timeout 30m, 203.0.113.0/24 timeout 20m }`,
    `add element inet bulwark blocked6 { ${attacker.ip6} timeout 30m }`,
  ].join('\n');
  const r = await protectedHost.exec('nft', ['-f', '-'], { input: old + '\n' });
  assert.equal(r.code, 0, r.stderr);
  const d = await daemon();
  const sets = JSON.parse((await protectedHost.exec('nft', ['-j', '-t', 'list', 'sets', 'inet'])).stdout) as { nftables: { set?: { name: string; flags?: string[] } }[] };
  const flags = Object.fromEntries(sets.nftables.filter((x) => x.set).map((x) => [x.set!.name, x.set!.flags ?? []]));
  assert.deepEqual(flags.blocked4, ['timeout']);
  assert.deepEqual(flags.blockednet4, ['interval', 'timeout']);
  const b4 = await kernelSet('blocked4');
  assert.deepEqual(b4.map((e) => e.val), [attacker.ip4]);
  assert.ok(b4[0]!.timeout! <= 1800 && b4[0]!.timeout! > 1700, 'time left kept');
  assert.deepEqual((await kernelSet('blocked6')).map((e) => e.val), [attacker.ip6]);
  assert.deepEqual((await kernelSet('blockednet4')).map((e) => e.val), [{ prefix: { addr: '203.0.113.0', len: 24 } }]);
  assert.equal(await tcpOk(attacker, protectedHost.ip4), false, 'still blocked after the migration');
  assert.ok(await tcpOk(other, protectedHost.ip4));
  await d.stop();
  await resetKernel();
});

test('issue 14: broadcast, multicast, unspecified and mapped forms of never-block addresses are refused', async () => {
  await resetKernel();
  const d = await daemon();
  const bcast = protectedHost.ip4.replace(/\.\d+$/, '.255');
  for (const a of ['0.0.0.0', '255.255.255.255', bcast, '224.0.0.1', 'ff02::1', '::', 'ff02::1:ff00:2', `::ffff:${protectedHost.ip4}`]) {
    const r = await d.cli(['block', a]);
    assert.equal(r.code, 1, `${a}: ${r.stdout} ${r.stderr}`);
    assert.match(r.stderr, /never-block/, a);
  }
  assert.deepEqual(await kernelSet(), []);
  assert.deepEqual(await kernelSet('blocked6'), []);
  await d.stop();
  await resetKernel();
});

test('restart restores blocks with their remaining time; the bypass chain rule survives', async () => {
  await resetKernel();
  const d1 = await daemon();
  cliOk(await d1.cli(['block', attacker.ip4, '--for', '1h', '--reason', 'before restart']));
  // Operator bypass: let the attacker reach the service port anyway (not ICMP).
  // Both directions: the bypass chain is jumped to from input and output alike.
  const add = await protectedHost.exec('nft', ['add', 'rule', 'inet', 'bulwark', 'bypass', 'ip', 'saddr', attacker.ip4, 'tcp', 'dport', String(PORT), 'accept']);
  assert.equal(add.code, 0, add.stderr);
  const add2 = await protectedHost.exec('nft', ['add', 'rule', 'inet', 'bulwark', 'bypass', 'ip', 'daddr', attacker.ip4, 'tcp', 'sport', String(PORT), 'accept']);
  assert.equal(add2.code, 0, add2.stderr);
  assert.ok(await tcpOk(attacker, protectedHost.ip4), 'bypass rule lets TCP through');
  assert.equal(await pingOk(attacker, protectedHost.ip4), false, 'ICMP still blocked');
  await d1.stop();
  // Simulate a reboot for the blocked set: the elements are gone, the state file is not.
  assert.equal((await protectedHost.exec('nft', ['flush', 'set', 'inet', 'bulwark', 'blocked4'])).code, 0);
  await new Promise((r) => setTimeout(r, 1500));
  // d1 is stopped (port free) and must not be destroyed yet: its temp dir holds the state file.
  const d2 = await startDaemon(protectedHost, {
    config: { protection: { enabled: false }, neverBlockSshClients: false, stateDir: d1.stateDir },
    env: { BULWARK_STATE_DIR: d1.stateDir },
  });
  daemons.push(d2);
  const set = await kernelSet();
  assert.equal(set.length, 1);
  assert.equal(set[0]!.val, attacker.ip4);
  assert.ok(set[0]!.timeout! < 3600 && set[0]!.timeout! > 3500, `remaining time, got ${set[0]!.timeout}`);
  const rules = await protectedHost.exec('nft', ['list', 'chain', 'inet', 'bulwark', 'bypass']);
  assert.match(rules.stdout, new RegExp(`ip saddr ${attacker.ip4.replace(/\./g, '\\.')} tcp dport ${PORT} accept`), 'bypass rule survived the restart');
  assert.ok(await tcpOk(attacker, protectedHost.ip4));
  assert.equal(await pingOk(attacker, protectedHost.ip4), false);
  const list = JSON.parse((await d2.cli(['--json', 'blocked'])).stdout) as { entries: { reason: string }[] };
  assert.equal(list.entries[0]?.reason, 'before restart');
  await d2.stop();
  await resetKernel();
});

test('a 3 s block expires in the kernel while the daemon is stopped', async () => {
  await resetKernel();
  const d = await daemon();
  cliOk(await d.cli(['block', attacker.ip4, '--for', '3s']));
  await d.stop();
  assert.equal(await tcpOk(attacker, protectedHost.ip4), false, 'blocked right after');
  await waitFor(async () => ((await kernelSet()).length === 0 ? true : undefined), 6000, 'kernel expiry');
  assert.ok(await tcpOk(attacker, protectedHost.ip4), 'connects after the kernel expired the block');
  await resetKernel();
});

test('a running daemon learns of expiry: event, metric, list', async () => {
  await resetKernel();
  const d = await daemon();
  cliOk(await d.cli(['block', attacker.ip4, '--for', '2s']));
  await d.waitForLog((e) => e.msg === 'host unblocked: expired' && e.addr === attacker.ip4, 6000);
  const list = JSON.parse((await d.cli(['--json', 'blocked'])).stdout) as { entries: unknown[] };
  assert.equal(list.entries.length, 0);
  const m = await d.http('/metrics');
  assert.match(m.body, /^bulwark_unblocks_total\{reason="expired"\} 1$/m);
  assert.match(m.body, /^bulwark_blocks_total\{source="cli"\} 1$/m);
  assert.match(m.body, /^bulwark_blocked_hosts\{family="ipv4"\} 0$/m);
  await d.stop();
  await resetKernel();
});

test('with the daemon stopped the CLI lists, blocks and unblocks directly', async () => {
  await resetKernel();
  const d = await daemon();
  await d.stop();
  let r = await d.cli(['block', attacker.ip4, '--for', '20m', '--reason', 'direct']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, 'daemon not running: acting on the kernel and state file directly\n');
  assert.deepEqual((await kernelSet()).map((e) => e.val), [attacker.ip4]);
  assert.equal(await tcpOk(attacker, protectedHost.ip4), false);
  assert.ok(existsSync(join(d.stateDir, 'blocklist.json')));
  r = await d.cli(['blocked']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, new RegExp(`${attacker.ip4.replace(/\./g, '\\.')}\\s+direct\\s+-\\s+cli`));
  assert.match(r.stderr, /daemon not running/);
  r = await d.cli(['unblock', attacker.ip4]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await kernelSet(), []);
  assert.ok(await tcpOk(attacker, protectedHost.ip4));
  r = await d.cli(['unblock', '--all']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /nothing was blocked/);
  await resetKernel();
});

test('CIDRs go to blockednet4 beside the blocked hosts; a wider CIDR replaces narrower ones keeping the longest expiry; a host inside is covered', async () => {
  await resetKernel();
  const d = await daemon();
  cliOk(await d.cli(['block', '203.0.113.7', '--for', '2h']));
  cliOk(await d.cli(['block', '203.0.113.128/25', '--for', '3h']));
  let r = await d.cli(['block', '203.0.113.0/24', '--for', '1h']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await kernelSet()).map((e) => e.val), ['203.0.113.7'], 'the host keeps its own element');
  const nets = await kernelSet('blockednet4');
  assert.deepEqual(nets.map((e) => e.val), [{ prefix: { addr: '203.0.113.0', len: 24 } }]);
  assert.ok(nets[0]!.timeout! > 10_700 && nets[0]!.timeout! <= 10_800, `the longest expiry of the replaced /25 (3h) is kept, not 1h: ${nets[0]!.timeout}`);
  r = await d.cli(['block', '203.0.113.50']);
  cliOk(r);
  assert.match(r.stdout, /already covered by 203\.0\.113\.0\/24/);
  r = await d.cli(['unblock', '203.0.113.50']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not blocked: 203\.0\.113\.50 \(inside the blocked 203\.0\.113\.0\/24/);
  r = await d.cli(['unblock', '--all']);
  cliOk(r);
  assert.deepEqual(await kernelSet(), []);
  assert.deepEqual(await kernelSet('blockednet4'), []);
  await d.stop();
  await resetKernel();
});

test('the CLI outside any daemon config: invalid input is exit 2 before anything is touched', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bl-cli-'));
  try {
    const env = { ...process.env, BULWARK_SOCKET: join(dir, 'none.sock'), BULWARK_STATE_DIR: join(dir, 'state') };
    const r = await protectedHost.exec(process.execPath, [BIN, 'unblock', 'not-an-address'], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid address "not-an-address"/);
    assert.ok(!existsSync(join(dir, 'state')), 'nothing written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
