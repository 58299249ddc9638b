/** Banner protocols: each probe on its protocol's real opening bytes, on the others', and on prefixes; pgsql TLS upgrade. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BANNER_PROTOCOLS, PGSQL_PROTOCOL, RDP_PROTOCOL } from '../../../../../src/engine/app-layer/banners/index.js';
import type { AppDirection } from '../../../../../src/engine/app-layer/types.js';

const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const txt = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const cat = (...a: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(a));
const le = (n: number): Uint8Array => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return new Uint8Array(b);
};
const mongoMsg = (responseTo: number, op: number): Uint8Array => cat(le(21), le(7), le(responseTo), le(op), hex('00 00 00 00 00'));

/** Opening bytes per protocol and direction, as the real clients/servers send them. */
const SAMPLES: Record<string, Partial<Record<AppDirection, Uint8Array>>> = {
  // mstsc / nmap: TPKT + X.224 Connection Request with RDP negotiation request; server Connection Confirm.
  rdp: { to_server: hex('03 00 00 13 0e e0 00 00 00 00 00 01 00 08 00 03 00 00 00'), to_client: hex('03 00 00 13 0e d0 00 00 12 34 00 02 01 08 00 02 00 00 00') },
  vnc: { to_client: txt('RFB 003.008\n'), to_server: txt('RFB 003.008\n') },
  // MySQL 8 Handshake v10: length 0x4a, seq 0, protocol 10, "8.0.36\0", ...
  mysql: { to_client: cat(hex('4a 00 00 00 0a'), txt('8.0.36\0'), hex('0a 00 00 00 01 02 03 04')) },
  pgsql: { to_server: cat(hex('00 00 00 17 00 03 00 00'), txt('user\0postgres\0\0')) },
  redis: { to_server: txt('*1\r\n$4\r\nPING\r\n') },
  mongodb: { to_server: mongoMsg(0, 2013), to_client: mongoMsg(7, 2013) },
  // simple bind (v3, anonymous) and its success response
  ldap: { to_server: hex('30 0c 02 01 01 60 07 02 01 03 04 00 80 00'), to_client: hex('30 0c 02 01 01 61 07 0a 01 00 04 00 04 00') },
};
const OTHERS: Uint8Array[] = [
  txt('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), txt('HTTP/1.1 200 OK\r\n\r\n'), txt('220 mx ESMTP\r\n'), txt('SSH-2.0-OpenSSH_9.6\r\n'),
  hex('16 03 01 02 00 01 00 01 fc 03 03'), txt('USER bob\r\n'), txt('+OK ready\r\n'),
];

test('each banner protocol matches its own opening bytes in the directions it probes', () => {
  for (const p of BANNER_PROTOCOLS) {
    const s = SAMPLES[p.name];
    assert.ok(s, p.name);
    for (const dir of p.probeDirections) {
      const d: Uint8Array | undefined = s[dir];
      if (!d) continue;
      assert.equal(p.probe(dir, d, d.length), 'match', `${p.name} ${dir}`);
      // Every proper prefix is 'need-more' or 'match', never 'no' (data arrives in pieces).
      for (let n = 0; n < d.length; n++) assert.notEqual(p.probe(dir, d, n), 'no', `${p.name} ${dir} prefix ${n}`);
    }
  }
});

test('no banner protocol claims another protocol’s opening bytes', () => {
  for (const p of BANNER_PROTOCOLS) {
    for (const dir of p.probeDirections) {
      for (const o of OTHERS) assert.notEqual(p.probe(dir, o, o.length), 'match', `${p.name} ${dir} on ${Buffer.from(o).toString('latin1').slice(0, 12)}`);
      for (const [name, s] of Object.entries(SAMPLES)) {
        if (name === p.name) continue;
        const d: Uint8Array | undefined = s[dir];
        if (d) assert.notEqual(p.probe(dir, d, d.length), 'match', `${p.name} ${dir} on ${name}`);
      }
    }
  }
});

test('PostgreSQL SSLRequest answered S upgrades to tls; N stays; parsers hold nothing and count bytes', () => {
  const ssl = hex('00 00 00 08 04 d2 16 2f');
  assert.equal(PGSQL_PROTOCOL.probe('to_server', ssl, 8), 'match');
  const a = PGSQL_PROTOCOL.create({ serverPort: 5432, clientPort: 1 });
  a.feed('to_server', ssl, 0, 8, 0);
  a.feed('to_client', txt('S'), 0, 1, 0);
  assert.equal(a.state, 'upgrade');
  assert.equal(a.upgradeTo, 'tls');
  const b = PGSQL_PROTOCOL.create({ serverPort: 5432, clientPort: 1 });
  b.feed('to_server', ssl, 0, 8, 0);
  b.feed('to_client', txt('N'), 0, 1, 0);
  assert.equal(b.state, 'ok');
  const r = RDP_PROTOCOL.create({ serverPort: 3389, clientPort: 1 });
  r.feed('to_server', SAMPLES.rdp!.to_server!, 0, 19, 0);
  r.gap('to_server', 5);
  assert.deepEqual([...r.txs()], []);
  assert.equal(r.memory(), 0);
  assert.deepEqual(r.counters(), { request_bytes: 19, response_bytes: 0, gaps: 1 });
});
