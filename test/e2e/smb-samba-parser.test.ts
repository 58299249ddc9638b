/**
 * The SMB and DCERPC parsers on real traffic: a real Samba (smbd, started here with its own
 * configuration under a temp dir, on a loopback port — never the system service) and the real
 * smbclient, talking through a TCP relay in this test that records both directions in order.
 * The recorded streams are fed to SmbParser; the assertions are what the protocols carry:
 * SMB2 negotiate, NTLMSSP session setup, IPC$ as a named-pipe tree and the disk share, the
 * srvsvc DCERPC bind and NetShareEnumAll (opnum 15) over the pipe with the share list in the
 * response stub. Debian packages: samba, smbclient (Makefile SYSTEM_PACKAGES).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { SmbParser, SmbTx, smbVersionKeyword } from '../../src/engine/app-layer/smb/index.js';
import { DceCall, dceIfaceKeyword, dceOpnumKeyword } from '../../src/engine/app-layer/dcerpc/index.js';
import type { AppDirection } from '../../src/engine/app-layer/types.js';

const SRVSVC = '4b324fc8-1670-01d3-1278-5a47bf6ee188';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => { resolve(typeof a === 'object' && a ? a.port : 0); });
    });
    s.on('error', reject);
  });
}

async function waitPort(port: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
      c.on('error', () => { resolve(false); });
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`port ${port} not listening`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Chunk { dir: AppDirection; data: Buffer; conn: number }

/** A TCP relay to `target` recording every chunk with its direction, per connection. */
function relay(target: number, chunks: Chunk[]): Promise<{ port: number; close: () => Promise<void> }> {
  let conns = 0;
  const server = net.createServer((client) => {
    const conn = conns++;
    const upstream = net.connect(target, '127.0.0.1');
    client.on('data', (d: Buffer) => { chunks.push({ dir: 'to_server', data: d, conn }); upstream.write(d); });
    upstream.on('data', (d: Buffer) => { chunks.push({ dir: 'to_client', data: d, conn }); client.write(d); });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ port: typeof a === 'object' && a ? a.port : 0, close: () => new Promise((r) => { server.close(() => { r(); }); }) });
    });
  });
}

function smbclient(args: string[], conf: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('smbclient', ['-N', '-U', 'alice%', '-W', 'TESTDOM', '-s', conf, ...args], { timeout: 20_000 }, (_err, stdout, stderr) => { resolve(`${stdout}${stderr}`); });
  });
}

test('real smbd + smbclient: shares, named pipe, NTLMSSP and srvsvc DCERPC parsed from the recorded streams', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-smbd-'));
  for (const d of ['private', 'lock', 'state', 'cache', 'pid', 'share', 'log', 'ncalrpc']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'share', 'hello.txt'), 'hello\n');
  const port = await freePort();
  const conf = join(dir, 'smb.conf');
  writeFileSync(conf, [
    '[global]',
    'workgroup = TESTGRP', 'netbios name = BULWARKTEST', 'server role = standalone server',
    'interfaces = lo', 'bind interfaces only = yes', `smb ports = ${port}`, 'disable netbios = yes',
    ...['private', 'lock', 'state', 'cache', 'pid'].map((k) => `${k === 'lock' ? 'lock directory' : `${k} ${k === 'private' ? 'dir' : 'directory'}`} = ${join(dir, k)}`),
    `ncalrpc dir = ${join(dir, 'ncalrpc')}`, `log file = ${join(dir, 'log', 'smbd.log')}`,
    'map to guest = Bad User', 'guest account = root', 'load printers = no', 'printing = bsd', 'printcap name = /dev/null',
    'disable spoolss = yes', 'server min protocol = SMB2_02', 'server signing = disabled', 'smb encrypt = off',
    '[pub]', `path = ${join(dir, 'share')}`, 'guest ok = yes', 'read only = yes', '',
  ].join('\n'));
  // Its own session (detached): smbd signals its whole process group when it stops.
  const smbd: ChildProcess = spawn('smbd', ['--foreground', '--no-process-group', '-s', conf, '--debug-stdout', '-d', '0'], { stdio: 'ignore', detached: true });
  t.after(() => {
    if (smbd.pid !== undefined) {
      try {
        process.kill(-smbd.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await waitPort(port, 15_000);
  const chunks: Chunk[] = [];
  const r = await relay(port, chunks);
  t.after(() => r.close());

  const list = await smbclient(['-L', '//127.0.0.1', '-p', String(r.port)], conf);
  assert.match(list, /pub\s+Disk/, list);
  const ls = await smbclient(['//127.0.0.1/pub', '-p', String(r.port), '-c', 'ls'], conf);
  assert.match(ls, /hello\.txt/, ls);

  const parsers = new Map<number, SmbParser>();
  for (const c of chunks) {
    let p = parsers.get(c.conn);
    if (!p) parsers.set(c.conn, (p = new SmbParser()));
    p.feed(c.dir, new Uint8Array(c.data), 0, c.data.length);
  }
  for (const p of parsers.values()) {
    p.end('to_server');
    p.end('to_client');
  }
  const all = [...parsers.values()].flatMap((p) => [...p.txs()]);
  const smb = all.filter((x): x is SmbTx => x instanceof SmbTx);
  const dce = all.filter((x): x is DceCall => x instanceof DceCall);
  const text = (u: Uint8Array | null): string => (u === null ? '' : Buffer.from(u).toString('utf8'));

  for (const p of parsers.values()) {
    const c = p.counters();
    assert.equal(c.malformed ?? 0, 0, JSON.stringify(c));
    assert.equal(c.not_smb ?? 0, 0, JSON.stringify(c));
    assert.ok((c.smb2_records ?? 0) > 0, JSON.stringify(c));
  }
  const neg = smb.find((x) => x.kind === 'negotiate' && x.version === 2);
  assert.ok(neg, 'SMB2 NEGOTIATE');
  assert.ok(neg.dialects.includes('2.02') && neg.dialects.includes('3.11'), neg.dialects.join(','));
  assert.ok(neg.dialect !== null && neg.dialect.startsWith('3.'), String(neg.dialect));
  assert.ok(smbVersionKeyword.match(neg, 'to_server', 2, 0));
  const ss = smb.filter((x) => x.kind === 'session_setup' && x.ntlmssp !== null);
  assert.ok(ss.length >= 1, 'NTLMSSP AUTHENTICATE seen');
  // Unknown user with an empty password: NTLMSSP carries it, the server maps it to guest.
  assert.equal(text(ss[0]!.buffer('smb.ntlmssp_user', 'to_server')), 'alice');
  assert.equal(text(ss[0]!.buffer('smb.ntlmssp_domain', 'to_server')), 'TESTDOM');

  const pipes = smb.filter((x) => x.buffer('smb.named_pipe', 'to_server') !== null).map((x) => text(x.buffer('smb.named_pipe', 'to_server')));
  const shares = smb.filter((x) => x.buffer('smb.share', 'to_server') !== null).map((x) => text(x.buffer('smb.share', 'to_server')));
  assert.ok(pipes.includes('\\127.0.0.1\\IPC$'), pipes.join(','));
  assert.ok(shares.includes('\\127.0.0.1\\pub'), shares.join(','));
  assert.ok(smb.some((x) => x.kind === 'create' && text(x.filename) === 'srvsvc'), 'CREATE srvsvc');

  const enumAll = dce.find((x) => x.opnum === 15 && x.complete('to_client'));
  assert.ok(enumAll, `NetShareEnumAll call; calls: ${dce.map((x) => `${x.reqCmd}/${x.opnum}`).join(' ')}`);
  assert.ok(dceIfaceKeyword.match(enumAll, 'to_server', dceIfaceKeyword.parse(SRVSVC), 0), 'dcerpc.iface srvsvc');
  assert.ok(dceIfaceKeyword.match(enumAll, 'to_server', dceIfaceKeyword.parse(`${SRVSVC},=3`), 0), 'srvsvc version 3');
  assert.ok(!dceIfaceKeyword.match(enumAll, 'to_server', dceIfaceKeyword.parse('367abb81-9844-35f1-ad32-98f038001003'), 0));
  assert.ok(dceOpnumKeyword.match(enumAll, 'to_server', dceOpnumKeyword.parse('15'), 0));
  const resp = Buffer.from(enumAll.buffer('dcerpc.stub_data', 'to_client') ?? new Uint8Array(0));
  assert.ok(resp.includes(Buffer.from('pub', 'utf16le')), 'share list in the response stub');
  assert.ok(resp.includes(Buffer.from('IPC$', 'utf16le')));
});
