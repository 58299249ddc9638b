/** TLS and SSH rules through the real rule loader and the detect stage's app-layer path (AppTxDetector). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AppTxDetector } from '../../../../../src/engine/detect/app-tx.js';
import type { AppFeedContext } from '../../../../../src/engine/detect/types.js';
import { compileRuleset } from '../../../../../src/signatures/compile.js';
import { parseRule } from '../../../../../src/signatures/rules.js';
import { defaultConfig } from '../../../../../src/config/types.js';
import { md5Hex } from '../../../../../src/engine/app-layer/tls/index.js';
import {
  appData, cat, ccs, certificate, clientHello, groupsExt, pointFormatsExt, record, serverHello, serverHelloDone, sniExt,
} from './build.js';

const LEAF = new Uint8Array(readFileSync(new URL('../../../../fixtures/tls/leaf.der', import.meta.url)));
const vars = defaultConfig().databases.vars;
const JA3 = '769,47-53,0-10-11,23,0';

function run(rules: string[], flows: { port: number; chunks: [ 'to_server' | 'to_client', Uint8Array][] }[], tsUs = 0): number[] {
  const rs = compileRuleset([{ file: 't.rules', text: rules.join('\n') }], { vars });
  assert.equal(rs.stats.loaded, rules.length, 'every rule loads');
  const d = new AppTxDetector(rs);
  const fired: number[] = [];
  const ctx: AppFeedContext = { verify: { flowbits: new Set() }, fire: (si) => fired.push(rs.signatures[si]!.id) };
  for (const fl of flows) {
    const f = d.newFlow(fl.port, 40000);
    const at = { to_server: 0, to_client: 0 };
    for (const [dir, data] of fl.chunks) {
      d.data(f, dir, data, 0, data.length, at[dir], tsUs, ctx);
      at[dir] += data.length;
    }
  }
  return fired.sort((a, b) => a - b);
}

const tlsFlow = (): { port: number; chunks: ['to_server' | 'to_client', Uint8Array][] } => ({
  port: 8443,
  chunks: [
    ['to_server', record(22, clientHello(0x0301, [47, 53], [sniExt('test.example.com'), groupsExt([23]), pointFormatsExt([0])]))],
    ['to_client', cat(record(22, cat(serverHello(0x0303, 47, null), certificate([LEAF]), serverHelloDone()), 0x0303), ccs(), appData(100))],
    ['to_server', cat(ccs(), appData(50))],
  ],
});

test('alert tls rules with sticky buffers and keywords load and fire on a TLS flow on any port', () => {
  const rules = [
    'alert tls any any -> any any (msg:"sni"; tls.sni; content:"test.example"; sid:1;)',
    'alert tls any any -> any any (msg:"subject"; flow:to_client; tls.cert_subject; content:"CN=test.example.com"; sid:2;)',
    `alert tls any any -> any any (msg:"ja3"; ja3.hash; content:"${md5Hex(JA3)}"; sid:3;)`,
    'alert tls any any -> any any (msg:"ja3 legacy"; ja3_hash; content:"0000"; sid:4;)',
    'alert tls any any -> any any (msg:"version"; flow:to_client; tls.version:1.2; sid:5;)',
    'alert tls any any -> any any (msg:"expired"; tls_cert_expired; sid:6;)',
    'alert tls any any -> any any (msg:"serial"; tls.cert_serial; content:"00:C5:01"; startswith; sid:7;)',
    'alert tls any any -> any any (msg:"certs"; tls.certs; content:"test.example.com"; sid:8;)',
    'alert tcp any any -> any any (msg:"ssl_version on tcp"; flow:to_server; ssl_version:tls1.0; sid:9;)',
    'alert tls any any -> any any (msg:"legacy sni"; tls_sni; content:"other.example"; sid:10;)',
  ];
  assert.deepEqual(run(rules, [tlsFlow()], Date.parse('2010-01-01T00:00:00Z') * 1000), [1, 2, 3, 5, 6, 7, 8, 9]);
  // before notAfter the certificate is not expired
  assert.deepEqual(run(['alert tls any any -> any any (tls_cert_expired; sid:6;)'], [tlsFlow()], Date.parse('2005-01-01T00:00:00Z') * 1000), []);
});

test('tls.random / tls.random_time / tls.random_bytes: the hello random of the direction, whole, first 4 or last 28 bytes', () => {
  const srvRandom = new Uint8Array(32).map((_, i) => i);
  srvRandom.set([0x54, 0xb8, 0xf7, 0x73], 0);
  const flow = {
    port: 443,
    chunks: [
      ['to_server', record(22, clientHello(0x0301, [47], [sniExt('r.example')]))],
      ['to_client', record(22, cat(serverHello(0x0303, 47, null, srvRandom), serverHelloDone()), 0x0303)],
    ] as ['to_server' | 'to_client', Uint8Array][],
  };
  const rules = [
    'alert tls any any -> any any (flow:to_client; tls.random; content:"|54 b8 f7 73|"; startswith; bsize:32; sid:1;)',
    'alert tls any any -> any any (flow:to_client; tls.random_time; content:"|54 b8 f7 73|"; bsize:4; sid:2;)',
    'alert tls any any -> any any (flow:to_client; tls.random_bytes; content:"|04 05 06|"; startswith; bsize:28; sid:3;)',
    // the client's random (the builder fills it with 07) to_server
    'alert tls any any -> any any (flow:to_server; tls.random; content:"|07 07 07 07|"; startswith; bsize:32; sid:4;)',
    // the server random is not the client's
    'alert tls any any -> any any (flow:to_server; tls.random; content:"|54 b8 f7 73|"; sid:5;)',
    'alert tls any any -> any any (flow:to_client; tls.random_bytes; content:"|54 b8|"; sid:6;)',
  ];
  assert.deepEqual(run(rules, [flow]), [1, 2, 3, 4]);
});

test('alert ssh rules: banner buffers, HASSH, protoversion keyword', () => {
  const u32 = (v: number): Uint8Array => new Uint8Array([v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
  const nl = (s: string): Uint8Array => cat(u32(s.length), new Uint8Array(Buffer.from(s)));
  const payload = cat(new Uint8Array([20]), new Uint8Array(16), ...['kex1', 'ssh-ed25519', 'aes128-ctr', 'aes256-ctr', 'hmac-sha1', 'hmac-sha2-256', 'none', 'none', '', ''].map(nl), new Uint8Array(5));
  const kexinit = cat(u32(payload.length + 5), new Uint8Array([4]), payload, new Uint8Array(4));
  const rules = [
    'alert ssh any any -> any any (ssh.software; content:"PuTTY"; sid:1;)',
    'alert ssh any any -> any any (ssh_proto; content:"2.0"; sid:2;)',
    `alert ssh any any -> any any (ssh.hassh; content:"${md5Hex('kex1;aes128-ctr;hmac-sha1;none')}"; sid:3;)`,
    'alert ssh any any -> any any (ssh.hassh.string; content:"aes256"; sid:4;)',
    'alert ssh any any -> any any (flow:to_client; ssh.protoversion:2_compat; sid:5;)',
  ];
  const flow = { port: 2222, chunks: [
    ['to_client', new Uint8Array(Buffer.from('SSH-1.99-OpenSSH_9.2\r\n'))],
    ['to_server', cat(new Uint8Array(Buffer.from('SSH-2.0-PuTTY_Release_0.78\r\n')), kexinit)],
  ] as ['to_server' | 'to_client', Uint8Array][] };
  assert.deepEqual(run(rules, [flow]), [1, 2, 3, 5]);
});

test('rules Suricata refuses are skipped with a reason, not loaded with another meaning', () => {
  const opts = { vars };
  const skip = (r: string): string => {
    const x = parseRule(r, 't.rules', 1, opts);
    assert.ok('reason' in x, r);
    return x.message;
  };
  assert.match(skip('alert tls any any -> any any (ja3.hash; content:"ABCDEF"; sid:1;)'), /lowercase/);
  assert.match(skip('alert tls any any -> any any (tls.version:1.4; sid:1;)'), /tls\.version/);
  assert.match(skip('alert tls any any -> any any (flow:to_client; tls.sni; content:"x"; sid:1;)'), /to_client/);
  assert.match(skip('alert ssh any any -> any any (ssh.hassh; content:"x"; ssh.hassh.server; content:"y"; sid:1;)'), /both directions/);
});
