/**
 * TLS and SSH parsers on real handshakes: OpenSSL's s_client/s_server and OpenSSH's ssh/sshd
 * talk over loopback through a recording TCP relay in this process; the recorded byte streams,
 * fed in capture order, must give what the tools themselves report (certificate DER, serial,
 * fingerprint, SNI, ALPN, negotiated version; banners and the configured KEXINIT lists).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { TlsParser, tlsEve } from '../../src/engine/app-layer/tls/index.js';
import { SshParser, sshEve } from '../../src/engine/app-layer/ssh/index.js';
import type { AppDirection, AppParser } from '../../src/engine/app-layer/types.js';

interface Chunk { dir: AppDirection; data: Buffer }

/** A loopback relay to `port` that records both directions in arrival order; resolves its port. */
async function relay(port: number, chunks: Chunk[], done: () => void): Promise<net.Server> {
  const srv = net.createServer((c) => {
    const up = net.connect(port, '127.0.0.1');
    let open = 2;
    const closed = (): void => {
      if (--open === 0) done();
    };
    c.on('data', (d) => { chunks.push({ dir: 'to_server', data: d }); up.write(d); });
    up.on('data', (d) => { chunks.push({ dir: 'to_client', data: d }); c.write(d); });
    c.on('end', () => up.end());
    up.on('end', () => c.end());
    c.on('close', closed);
    up.on('close', closed);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return srv;
}

const portOf = (s: net.Server): number => (s.address() as net.AddressInfo).port;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = portOf(s);
  await new Promise<void>((r) => s.close(() => { r(); }));
  return p;
}

/** Resolves when `text` appears on the child's stdout or stderr. */
function waitFor(child: ChildProcess, text: string, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => { reject(new Error(`timeout waiting for ${text}: ${buf}`)); }, ms);
    const on = (d: Buffer): void => {
      buf += d.toString();
      if (buf.includes(text)) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
}

const exited = (c: ChildProcess): Promise<void> => new Promise((r) => { if (c.exitCode !== null || c.signalCode !== null) r(); else c.on('exit', () => { r(); }); });

function replay(p: AppParser, chunks: Chunk[]): void {
  for (const c of chunks) p.feed(c.dir, new Uint8Array(c.data), 0, c.data.length, 0);
}

const str = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('latin1'));

/** Port of the last relay (tshark decodes it as TLS: it is not a well-known TLS port). */
let lastRelayPort = 0;

async function tlsSession(dir: string, version: '-tls1_2' | '-tls1_3', pcap?: string): Promise<Chunk[]> {
  const port = await freePort();
  const server = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', join(dir, 'c.pem'), '-key', join(dir, 'k.pem'), version, '-alpn', 'h2', '-naccept', '1'], { stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    await waitFor(server, 'ACCEPT');
    const chunks: Chunk[] = [];
    let closed!: () => void;
    const allClosed = new Promise<void>((r) => { closed = r; });
    const rl = await relay(port, chunks, () => { closed(); });
    // the capture tshark reads: the client leg only (loopback, the relay's port); immediate mode
    // so that packets still in the ring buffer are not lost when tcpdump is interrupted
    const dump = pcap === undefined ? null : spawn('tcpdump', ['-i', 'lo', '--immediate-mode', '-U', '-w', pcap, 'tcp', 'port', String(portOf(rl))], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (dump) await waitFor(dump, 'listening on');
    lastRelayPort = portOf(rl);
    const client = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${portOf(rl)}`, '-servername', 'tls.test', '-alpn', 'h2,http/1.1', version], { stdio: ['pipe', 'pipe', 'pipe'] });
    await waitFor(client, 'Verify return code');
    client.stdin.end();
    await exited(client);
    await allClosed;
    rl.close();
    if (dump) {
      dump.kill('SIGINT');
      await exited(dump);
    }
    return chunks;
  } finally {
    server.kill();
    await exited(server);
  }
}

test('TLS 1.2 / 1.3 handshakes of openssl s_client and s_server', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/C=US/O=Bulwark Test/CN=tls.test', '-days', '30', '-addext', 'subjectAltName=DNS:tls.test,DNS:alt.tls.test'], { stdio: 'ignore' });
    const der = execFileSync('openssl', ['x509', '-in', join(dir, 'c.pem'), '-outform', 'DER']);
    const info = execFileSync('openssl', ['x509', '-in', join(dir, 'c.pem'), '-noout', '-serial', '-fingerprint', '-sha1']).toString();
    const serialHex = /serial=([0-9A-F]+)/.exec(info)![1]!;
    const fp = /Fingerprint=([0-9A-F:]+)/.exec(info)![1]!.toLowerCase();

    const pcap = join(dir, 'tls12.pcap');
    const p12 = new TlsParser();
    replay(p12, await tlsSession(dir, '-tls1_2', pcap));
    const t = p12.transaction;
    assert.equal(p12.state, 'ok');
    assert.equal(str(t.buffer('tls.sni', 'to_server')), 'tls.test');
    const certs = t.multiBuffer('tls.certs', 'to_client');
    assert.equal(certs.length, 1);
    assert.ok(Buffer.from(certs[0]!).equals(der), 'certificate DER as openssl wrote it');
    assert.equal(str(t.buffer('tls.cert_subject', 'to_client')), 'C=US, O=Bulwark Test, CN=tls.test');
    assert.equal(str(t.buffer('tls.cert_fingerprint', 'to_client')), fp);
    // openssl prints the serial value; the DER INTEGER carries a leading 00 when the high bit is set
    const serial = str(t.buffer('tls.cert_serial', 'to_client'))!.replace(/:/g, '');
    assert.equal(serial.replace(/^00(?=[89A-F])/, ''), serialHex.padStart(serialHex.length + (serialHex.length % 2), '0'));
    assert.deepEqual(t.multiBuffer('tls.subjectaltname', 'to_client').map(str), ['tls.test', 'alt.tls.test']);
    assert.deepEqual(t.multiBuffer('tls.alpn', 'to_client').map(str), ['h2']);
    assert.deepEqual(t.multiBuffer('tls.alpn', 'to_server').map(str), ['h2', 'http/1.1']);
    const eve = tlsEve(t);
    assert.equal(eve.version, 'TLS 1.2');
    assert.match((eve.ja3 as { string: string }).string, /^771,[0-9-]+,[0-9-]+,[0-9-]*,[0-9-]*$/);
    assert.ok(t.complete('to_server') && t.complete('to_client'));
    // JA3 / JA3S as Wireshark computes them on the capture of the same session
    const field = (filter: string, f: string): string => execFileSync('tshark', ['-r', pcap, '-d', `tcp.port==${lastRelayPort},tls`, '-Y', filter, '-T', 'fields', '-e', f]).toString().trim();
    assert.equal(str(t.buffer('ja3.string', 'to_server')), field('tls.handshake.type == 1', 'tls.handshake.ja3_full'));
    assert.equal(str(t.buffer('ja3.hash', 'to_server')), field('tls.handshake.type == 1', 'tls.handshake.ja3'));
    assert.equal(str(t.buffer('ja3s.string', 'to_client')), field('tls.handshake.type == 2', 'tls.handshake.ja3s_full'));
    assert.equal(str(t.buffer('ja3s.hash', 'to_client')), field('tls.handshake.type == 2', 'tls.handshake.ja3s'));

    const p13 = new TlsParser();
    replay(p13, await tlsSession(dir, '-tls1_3'));
    const u = p13.transaction;
    assert.equal(p13.state, 'ok');
    assert.equal(tlsEve(u).version, 'TLS 1.3');
    assert.match(str(u.buffer('ja4.hash', 'to_server'))!, /^t13d\d{4}h2_[0-9a-f]{12}_[0-9a-f]{12}$/);
    assert.deepEqual(u.multiBuffer('tls.certs', 'to_client'), []); // encrypted in TLS 1.3
    assert.ok(u.complete('to_client'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** `key value` lines of `ssh -G` / `sshd -T`. */
function settings(out: string): Map<string, string> {
  return new Map(out.split('\n').filter((l) => l.includes(' ')).map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
}

test('SSH banners and HASSH of OpenSSH ssh against sshd', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-ssh-'));
  // sshd refuses to start without its privilege separation directory (the package creates it at boot).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  let sshd: ChildProcess | null = null;
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'hk')]);
    const port = await freePort();
    const sshdArgs = ['-f', '/dev/null', '-h', join(dir, 'hk'), '-o', 'ListenAddress=127.0.0.1', '-o', `Port=${port}`, '-o', 'UsePAM=no', '-o', 'PidFile=none'];
    const srvCfg = settings(execFileSync('/usr/sbin/sshd', ['-T', ...sshdArgs]).toString());
    const cliCfg = settings(execFileSync('ssh', ['-G', '-F', '/dev/null', '127.0.0.1']).toString());
    sshd = spawn('/usr/sbin/sshd', ['-D', '-e', ...sshdArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitFor(sshd, 'Server listening');
    const chunks: Chunk[] = [];
    let closed!: () => void;
    const allClosed = new Promise<void>((r) => { closed = r; });
    const rl = await relay(port, chunks, () => { closed(); });
    const ssh = spawn('ssh', ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-p', String(portOf(rl)), 'nobody@127.0.0.1', 'true'], { stdio: 'ignore' });
    await exited(ssh);
    await allClosed;
    rl.close();

    const version = /^(OpenSSH_[^\s,]+)/.exec(spawnSync('ssh', ['-V']).stderr.toString());
    assert.ok(version, 'ssh -V');
    const p = new SshParser();
    replay(p, chunks);
    const t = p.transaction;
    assert.equal(p.state, 'ok');
    assert.equal(str(t.buffer('ssh.proto', 'to_server')), '2.0');
    assert.equal(str(t.buffer('ssh.proto', 'to_client')), '2.0');
    assert.equal(str(t.buffer('ssh.software', 'to_server')), version[1]);
    assert.match(str(t.buffer('ssh.software', 'to_client'))!, /^OpenSSH_/);
    const [kex, enc, mac, comp] = str(t.buffer('ssh.hassh.string', 'to_server'))!.split(';');
    // the client appends its pseudo-algorithms (ext-info-c, kex-strict-c…) to the configured list
    assert.ok(kex!.startsWith(`${cliCfg.get('kexalgorithms')!},`), kex);
    assert.equal(enc, cliCfg.get('ciphers'));
    assert.equal(mac, cliCfg.get('macs'));
    // `compression no` (ssh -G) still offers the zlib methods after "none", which comes first
    assert.equal(comp!.split(',')[0], 'none');
    const [skex, senc, smac] = str(t.buffer('ssh.hassh.server.string', 'to_client'))!.split(';');
    assert.ok(skex!.startsWith(srvCfg.get('kexalgorithms')!), skex);
    assert.equal(senc, srvCfg.get('ciphers'));
    assert.equal(smac, srvCfg.get('macs'));
    assert.match(str(t.buffer('ssh.hassh', 'to_server'))!, /^[0-9a-f]{32}$/);
    assert.ok(t.complete('to_server') && t.complete('to_client'), 'NEWKEYS seen on both sides');
    assert.ok((p.counters().encrypted_bytes ?? 0) > 0);
    assert.ok(sshEve(t).server);
  } finally {
    if (sshd) {
      sshd.kill();
      await exited(sshd);
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
