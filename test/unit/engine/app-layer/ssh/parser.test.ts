/** SSH parser: banners, binary packet framing, KEXINIT → HASSH, NEWKEYS, limits, gaps, keywords, EVE. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { SSH_PROTOCOL, SshParser, parseBanner, probeSsh, sshEve } from '../../../../../src/engine/app-layer/ssh/index.js';
import type { AppDirection, AppKeywordSpec, AppTx } from '../../../../../src/engine/app-layer/types.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const str = (x: Uint8Array | null): string | null => (x === null ? null : Buffer.from(x).toString('latin1'));
const cat = (...p: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(p));
const u32 = (v: number): Uint8Array => new Uint8Array([v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
const nameList = (s: string): Uint8Array => cat(u32(s.length), b(s));

/** Binary packet (RFC 4253 6) with `pad` padding bytes. */
function packet(payload: Uint8Array, pad = 4): Uint8Array {
  return cat(u32(payload.length + pad + 1), new Uint8Array([pad]), payload, new Uint8Array(pad));
}

interface Kex { kex: string; hostkey: string; encC: string; encS: string; macC: string; macS: string; compC: string; compS: string }

function kexinit(k: Kex): Uint8Array {
  return packet(cat(
    new Uint8Array([20]), new Uint8Array(16).fill(0x11),
    ...[k.kex, k.hostkey, k.encC, k.encS, k.macC, k.macS, k.compC, k.compS, '', ''].map(nameList),
    new Uint8Array([0]), u32(0),
  ), 6);
}
const newkeys = (): Uint8Array => packet(new Uint8Array([21]), 10);

const CLIENT_KEX: Kex = {
  kex: 'curve25519-sha256,diffie-hellman-group14-sha256,ext-info-c', hostkey: 'ssh-ed25519',
  encC: 'chacha20-poly1305@openssh.com,aes128-ctr', encS: 'aes256-ctr',
  macC: 'umac-64-etm@openssh.com,hmac-sha2-256', macS: 'hmac-sha1', compC: 'none,zlib@openssh.com', compS: 'none',
};
const SERVER_KEX: Kex = { ...CLIENT_KEX, kex: 'curve25519-sha256,kex-strict-s-v00@openssh.com', encC: 'aes128-gcm@openssh.com', encS: 'aes128-ctr,aes256-ctr', macS: 'hmac-sha2-512', compS: 'none,zlib@openssh.com' };

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

function session(): { client: Uint8Array; server: Uint8Array } {
  return {
    client: cat(b('SSH-2.0-OpenSSH_for_Windows_7.7\r\n'), kexinit(CLIENT_KEX), packet(new Uint8Array([30, 0, 0, 0, 1, 9])), newkeys(), new Uint8Array(500).fill(0xee)),
    server: cat(b('SSH-1.99-OpenSSH_7.4 Debian-10\r\n'), kexinit(SERVER_KEX), packet(new Uint8Array([31, 1, 2, 3])), newkeys(), new Uint8Array(3000).fill(0xdd)),
  };
}

function feed(p: SshParser, dir: AppDirection, d: Uint8Array, split?: number): void {
  if (split === undefined) p.feed(dir, d, 0, d.length);
  else for (let o = 0; o < d.length; o += split) p.feed(dir, d, o, Math.min(split, d.length - o));
}

const kw = (name: string): AppKeywordSpec => {
  const k = SSH_PROTOCOL.keywords.find((x) => x.name === name);
  assert.ok(k, name);
  return k;
};
const kmatch = (tx: AppTx, name: string, value: string, dir: AppDirection): boolean => kw(name).match(tx, dir, kw(name).parse(value), 0);

test('banner parsing follows Suricata: protoversion up to "-", software up to space / line end', () => {
  assert.deepEqual(Object.values(parseBanner(b('SSH-2.0-OpenSSH_7.4 Debian-10+deb9u2'))!).map(str), ['2.0', 'OpenSSH_7.4']);
  assert.deepEqual(Object.values(parseBanner(b('SSH-1.99-Cisco-1.25'))!).map(str), ['1.99', 'Cisco-1.25']);
  assert.deepEqual(Object.values(parseBanner(b('SSH-2.0-'))!).map(str), ['2.0', '']);
  assert.equal(parseBanner(b('SSH--x')), null);
  assert.equal(parseBanner(b('SSH-2.0')), null);
  assert.equal(parseBanner(b('HTTP/1.1 200 OK')), null);
});

test('session: banners, HASSH of client (c2s lists) and server (s2c lists), NEWKEYS, encrypted data skipped; any split gives the same', () => {
  const { client, server } = session();
  const wantC = `${CLIENT_KEX.kex};${CLIENT_KEX.encC};${CLIENT_KEX.macC};${CLIENT_KEX.compC}`;
  const wantS = `${SERVER_KEX.kex};${SERVER_KEX.encS};${SERVER_KEX.macS};${SERVER_KEX.compS}`;
  for (const split of [undefined, 1, 2, 5, 17, 100]) {
    const p = new SshParser();
    feed(p, 'to_client', server, split);
    feed(p, 'to_server', client, split);
    const t = p.transaction;
    assert.equal(p.state, 'ok');
    assert.equal(str(t.buffer('ssh.proto', 'to_server')), '2.0');
    assert.equal(str(t.buffer('ssh.proto', 'to_client')), '1.99');
    assert.equal(str(t.buffer('ssh.software', 'to_server')), 'OpenSSH_for_Windows_7.7');
    assert.equal(str(t.buffer('ssh.software', 'to_client')), 'OpenSSH_7.4');
    assert.equal(str(t.buffer('ssh.hassh.string', 'to_server')), wantC);
    assert.equal(str(t.buffer('ssh.hassh', 'to_server')), md5(wantC));
    assert.equal(str(t.buffer('ssh.hassh.server.string', 'to_client')), wantS);
    assert.equal(str(t.buffer('ssh.hassh.server', 'to_client')), md5(wantS));
    assert.equal(t.buffer('ssh.hassh', 'to_client'), null);
    assert.ok(t.complete('to_server') && t.complete('to_client'));
    assert.equal(p.counters().encrypted_bytes, 500 + 3000 + 20);
    assert.ok(p.memory() < 1000);
    assert.deepEqual(sshEve(t), {
      client: { proto_version: '2.0', software_version: 'OpenSSH_for_Windows_7.7', hassh: { hash: md5(wantC), string: wantC } },
      server: { proto_version: '1.99', software_version: 'OpenSSH_7.4', hassh: { hash: md5(wantS), string: wantS } },
    });
  }
});

test('keywords: ssh.protoversion (2_compat, exact) and ssh.softwareversion (exact)', () => {
  const { client, server } = session();
  const p = new SshParser();
  feed(p, 'to_server', client);
  feed(p, 'to_client', server);
  const t = p.transaction;
  assert.ok(kmatch(t, 'ssh.protoversion', '2_compat', 'to_client'));
  assert.ok(kmatch(t, 'ssh.protoversion', '2_compat', 'to_server'));
  assert.ok(kmatch(t, 'ssh.protoversion', '1.99', 'to_client'));
  assert.ok(!kmatch(t, 'ssh.protoversion', '2.0', 'to_client'));
  assert.ok(kmatch(t, 'ssh.protoversion', '"2.0"', 'to_server'));
  assert.throws(() => kw('ssh.protoversion').parse('two'), /ssh\.protoversion/);
  assert.ok(kmatch(t, 'ssh.softwareversion', 'OpenSSH_7.4', 'to_client'));
  assert.ok(!kmatch(t, 'ssh.softwareversion', 'OpenSSH', 'to_client'));
});

test('a banner line that is not SSH fails the parser; banners over the limit raise long_banner and keep the first bytes', () => {
  const p = new SshParser();
  feed(p, 'to_server', b('GET / HTTP/1.0\r\n'));
  assert.equal(p.state, 'failed');
  assert.equal(p.failReason, 'invalid_banner');
  assert.deepEqual(p.transaction.events, ['ssh.invalid_banner']);
  const q = new SshParser({ maxBanner: 32 });
  feed(q, 'to_server', cat(b(`SSH-2.0-Long ${'x'.repeat(100)}\r\n`), kexinit(CLIENT_KEX)), 7);
  assert.equal(q.state, 'ok');
  assert.deepEqual(q.transaction.events, ['ssh.long_banner']);
  assert.equal(str(q.transaction.buffer('ssh.software', 'to_server')), 'Long');
  assert.equal(str(q.transaction.buffer('ssh.hassh.string', 'to_server'))?.split(';')[0], CLIENT_KEX.kex);
});

test('KEXINIT over the limit is skipped with an event; invalid packet lengths fail; a gap inside a skipped packet resyncs', () => {
  const p = new SshParser({ maxKexinit: 50 });
  feed(p, 'to_server', cat(b('SSH-2.0-x\n'), kexinit(CLIENT_KEX), newkeys()));
  assert.equal(p.state, 'ok');
  assert.equal(p.transaction.buffer('ssh.hassh', 'to_server'), null);
  assert.equal(p.counters()['limit.kexinit'], 1);
  assert.ok(p.transaction.complete('to_server'));
  const q = new SshParser();
  feed(q, 'to_server', cat(b('SSH-2.0-x\n'), new Uint8Array([0, 0, 0, 1, 4, 20])));
  assert.equal(q.failReason, 'invalid_record');
  const r = new SshParser();
  const ignore = packet(new Uint8Array(200).fill(2));
  feed(r, 'to_server', cat(b('SSH-2.0-x\n'), ignore.subarray(0, 50)));
  r.gap('to_server', 100);
  feed(r, 'to_server', cat(ignore.subarray(150), kexinit(CLIENT_KEX)));
  assert.equal(r.state, 'ok');
  assert.equal(r.counters().gaps_resynced, 1);
  assert.notEqual(r.transaction.buffer('ssh.hassh', 'to_server'), null);
  const g = new SshParser();
  feed(g, 'to_server', b('SSH-2.0'));
  g.gap('to_server', 10);
  assert.equal(g.failReason, 'gap');
  // after NEWKEYS gaps are ignored
  const e = new SshParser();
  feed(e, 'to_server', cat(b('SSH-2.0-x\n'), newkeys()));
  e.gap('to_server', 1000);
  assert.equal(e.state, 'ok');
});

test('mutated sessions never throw and stay bounded', () => {
  const { client, server } = session();
  let seed = 3;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 300; i++) {
    const c = client.slice();
    const s = server.slice();
    for (let k = 0; k < 1 + rnd(6); k++) {
      const t = rnd(2) === 0 ? c : s;
      t[rnd(t.length)] = rnd(256);
    }
    const p = new SshParser();
    feed(p, 'to_server', c, 1 + rnd(40));
    feed(p, 'to_client', s, 1 + rnd(40));
    for (const tx of p.txs()) sshEve(tx);
    assert.ok(p.memory() < 70_000);
  }
});

test('probe and protocol object', () => {
  assert.equal(probeSsh('to_client', b('SSH-2.0-x'), 9), 'match');
  assert.equal(probeSsh('to_server', b('SS'), 2), 'need-more');
  assert.equal(probeSsh('to_server', b('SSL-'), 4), 'no');
  assert.equal(SSH_PROTOCOL.name, 'ssh');
  const names = SSH_PROTOCOL.buffers.flatMap((x) => [x.name, ...x.aliases]);
  for (const n of ['ssh.proto', 'ssh_proto', 'ssh.software', 'ssh_software', 'ssh.hassh', 'ssh.hassh.string', 'ssh.hassh.server', 'ssh.hassh.server.string']) assert.ok(names.includes(n), n);
  const p = SSH_PROTOCOL.create({ serverPort: 22, clientPort: 50000 });
  const d = b('SSH-2.0-PuTTY_Release_0.70\r\n');
  p.feed('to_server', d, 0, d.length, 0);
  const [tx] = [...p.txs()];
  assert.equal(str(tx!.buffer('ssh.software', 'to_server')), 'PuTTY_Release_0.70');
  assert.deepEqual(SSH_PROTOCOL.eve(tx!), { client: { proto_version: '2.0', software_version: 'PuTTY_Release_0.70' } });
});
