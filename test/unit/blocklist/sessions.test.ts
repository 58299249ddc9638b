import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAuthenticatedSshd, parseProcNetTcp, parseUtmp, procHexAddress, ProcSessionSource } from '../../../src/blocklist/sessions.js';
import { parseRouteGateways } from '../../../src/blocklist/adapters.js';

/** One glibc utmp record (384 bytes). */
function utmp(type: number, pid: number, user: string, line: string, host: string, addr?: number[]): Buffer {
  const b = Buffer.alloc(384);
  b.writeInt32LE(type, 0);
  b.writeInt32LE(pid, 4);
  b.write(line, 8);
  b.write(user, 44);
  b.write(host, 76);
  if (addr) addr.forEach((x, i) => (b[348 + i] = x));
  return b;
}

test('parseUtmp: USER_PROCESS records with ut_addr_v6 (IPv4, IPv6) or an address in ut_host', () => {
  const v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07];
  const buf = Buffer.concat([
    utmp(7, 100, 'op', 'pts/0', 'op-laptop', [198, 51, 100, 7]),
    utmp(7, 101, 'op', 'pts/1', '', v6),
    utmp(7, 102, 'op', 'pts/2', '203.0.113.9'),
    utmp(8, 103, 'gone', 'pts/3', '', [198, 51, 100, 8]), // DEAD_PROCESS
    utmp(7, 104, 'root', 'tty1', ''), // local console
  ]);
  const s = parseUtmp(buf);
  assert.deepEqual(
    s.map((x) => [x.pid, x.user, x.line, x.address]),
    [
      [100, 'op', 'pts/0', '198.51.100.7'],
      [101, 'op', 'pts/1', '2001:db8::7'],
      [102, 'op', 'pts/2', '203.0.113.9'],
      [104, 'root', 'tty1', undefined],
    ],
  );
  assert.deepEqual(parseUtmp(Buffer.alloc(100)), [], 'a truncated file has no record');
});

test('isAuthenticatedSshd: post-authentication titles only', () => {
  for (const t of ['sshd: op@pts/0', 'sshd: op@notty', 'sshd-session: op@pts/12', 'sshd: deploy@notty\0\0\0', 'sshd: op@pts/3 ']) assert.equal(isAuthenticatedSshd(t), true, t);
  for (const t of ['sshd: op [priv]', 'sshd: unknown [net]', 'sshd: root [preauth]', 'sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups', '/usr/sbin/sshd -D', 'sshd-session: op [priv]', 'bash sshd: op@pts/0', 'sshd: op@evil [priv]'])
    assert.equal(isAuthenticatedSshd(t), false, t);
});

test('parseProcNetTcp: established sockets by inode, IPv4 and IPv6 (mapped normalised)', () => {
  const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0
   1: 0B6433C6:0016 0A6433C6:D431 01 00000000:00000000 02:000A7C1C 00000000     0        0 2222 2 0000000000000000 20 4 30 10 -1
`;
  assert.deepEqual([...parseProcNetTcp(tcp)], [['2222', '198.51.100.10']]);
  const tcp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000B6433C6:0016 0000000000000000FFFF00000C6433C6:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0
   1: B80D0120000000000000000007000000:0016 B80D0120000000000000000009000000:A1B3 01 00000000:00000000 00:00000000 00000000     0        0 4444 1 0
`;
  assert.deepEqual([...parseProcNetTcp(tcp6)], [['3333', '198.51.100.12'], ['4444', '2001:db8::9']]);
  assert.equal(procHexAddress('zz'), undefined);
});

test('ProcSessionSource: peers of live utmp sessions and of authenticated sshd processes, not of pre-auth ones', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bulwark-proc-'));
  try {
    const proc = join(root, 'proc');
    const mk = (pid: number, cmdline: string, inodes: string[], tcp: string): void => {
      mkdirSync(join(proc, String(pid), 'fd'), { recursive: true });
      mkdirSync(join(proc, String(pid), 'net'), { recursive: true });
      writeFileSync(join(proc, String(pid), 'cmdline'), cmdline);
      writeFileSync(join(proc, String(pid), 'stat'), `${pid} (x) S`);
      inodes.forEach((ino, i) => { symlinkSync(`socket:[${ino}]`, join(proc, String(pid), 'fd', String(i + 3))); });
      symlinkSync('/dev/null', join(proc, String(pid), 'fd', '0'));
      writeFileSync(join(proc, String(pid), 'net', 'tcp'), tcp);
      writeFileSync(join(proc, String(pid), 'net', 'tcp6'), '  sl local remote st\n');
    };
    const line = (ino: string, peerHex: string): string => `  sl hdr\n   0: 0B6433C6:0016 ${peerHex}:D431 01 00000000:00000000 00:00000000 00000000 0 0 ${ino} 1 0\n`;
    mk(200, 'sshd: op@pts/0\0\0', ['501'], line('501', '0A6433C6')); // 198.51.100.10
    mk(201, 'sshd: deploy@notty\0', ['502'], line('502', '0D6433C6')); // 198.51.100.13
    mk(202, 'sshd: root [priv]\0', ['503'], line('503', '0E6433C6')); // pre-auth: 198.51.100.14
    mk(203, 'sshd: unknown [net]\0', ['504'], line('504', '0F6433C6'));
    mk(204, 'bash\0', ['505'], line('505', '106433C6'));
    mk(205, 'sshd: other@pts/1\0', ['506'], line('506', '116433C6')); // another network namespace
    mkdirSync(join(proc, 'self', 'ns'), { recursive: true });
    symlinkSync('net:[4026531840]', join(proc, 'self', 'ns', 'net'));
    for (const pid of [200, 201, 202, 203, 204, 205]) {
      mkdirSync(join(proc, String(pid), 'ns'), { recursive: true });
      symlinkSync(pid === 205 ? 'net:[4026532999]' : 'net:[4026531840]', join(proc, String(pid), 'ns', 'net'));
    }
    const u = join(root, 'utmp');
    writeFileSync(u, Buffer.concat([utmp(7, 200, 'op', 'pts/0', '', [203, 0, 113, 20]), utmp(7, 999, 'old', 'pts/9', '', [203, 0, 113, 21])]));
    const s = new ProcSessionSource(proc, [join(root, 'missing'), u]);
    assert.deepEqual(await s.authenticatedPeers(), ['198.51.100.10', '198.51.100.13', '203.0.113.20'], 'pid 999 is not alive: its utmp record is stale');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the real host: ProcSessionSource reads without failing', async () => {
  const peers = await new ProcSessionSource().authenticatedPeers();
  assert.ok(Array.isArray(peers));
});

test('parseRouteGateways: ip -j route show default, both families, multipath', () => {
  assert.deepEqual(parseRouteGateways('[{"dst":"default","gateway":"198.51.100.1","dev":"eth0","flags":[]}]'), ['198.51.100.1']);
  assert.deepEqual(parseRouteGateways('[{"dst":"default","gateway":"fe80::1","dev":"eth0"},{"dst":"default","nexthops":[{"gateway":"2001:db8::1"},{"gateway":"2001:db8::2"}]}]').sort(), ['2001:db8::1', '2001:db8::2', 'fe80::1']);
  assert.deepEqual(parseRouteGateways('[{"dst":"default","via":{"family":"inet6","host":"::ffff:198.51.100.1"}}]'), ['198.51.100.1'], 'mapped form normalised');
  assert.deepEqual(parseRouteGateways(''), []);
  assert.deepEqual(parseRouteGateways('not json'), []);
  assert.deepEqual(parseRouteGateways('[{"dst":"default","dev":"wg0"}]'), []);
});
