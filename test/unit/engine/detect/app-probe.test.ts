/**
 * Protocol detection while a flow probes (AppTxDetector.probe): held bytes are the detector's
 * own copies, a probe's 'no' is final for its direction (not asked again), and every registered
 * probe keeps that promise unless it says it may revise (`probeMayRevise`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppTxDetector } from '../../../../src/engine/detect/app-tx.js';
import type { AppFeedContext } from '../../../../src/engine/detect/types.js';
import { APP_PROTOCOLS } from '../../../../src/engine/app-layer/registry.js';
import type { AppDirection, AppProbeResult } from '../../../../src/engine/app-layer/types.js';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { defaultConfig } from '../../../../src/config/types.js';
import { rng } from '../helpers.js';

const rs = compileRuleset(
  [{ file: 't.rules', text: 'alert http any any -> any any (msg:"uri"; flow:to_server; http.uri; content:"/admin"; sid:1;)' }],
  { vars: defaultConfig().databases.vars },
);

function ctx(fired: number[]): AppFeedContext {
  return { verify: { flowbits: new Set() }, fire: (si) => fired.push(rs.signatures[si]!.id) };
}

test('bytes held while probing are copies: a caller reusing its buffer (capture, file reader) does not change them', () => {
  const d = new AppTxDetector(rs);
  const f = d.newFlow(8081, 40000);
  const fired: number[] = [];
  // one reused read buffer, as the pcap reader's chunk: "GE" is not enough to detect HTTP
  const cap = Buffer.alloc(64);
  cap.write('GE', 10, 'latin1');
  d.data(f, 'to_server', cap, 10, 2, 0, 0, ctx(fired));
  assert.equal(f.state, 'probing');
  cap.fill(0x58);
  const rest = Buffer.from('T /admin HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1');
  d.data(f, 'to_server', rest, 0, rest.length, 2, 0, ctx(fired));
  assert.equal(f.state, 'parsing');
  assert.equal(f.proto?.name, 'http');
  assert.deepEqual(fired, [1]);
});

test('a protocol whose probe said no to a direction is not asked again for it while the flow probes', () => {
  const http = APP_PROTOCOLS.find((p) => p.name === 'http')!;
  const orig = http.probe.bind(http);
  const calls: AppDirection[] = [];
  http.probe = (dir, data, len): AppProbeResult => {
    calls.push(dir);
    return orig(dir, data, len);
  };
  try {
    const d = new AppTxDetector(rs);
    const f = d.newFlow(8081, 40000);
    const c = ctx([]);
    const junk = Buffer.from('\x07\x07junk', 'latin1');
    d.data(f, 'to_server', junk, 0, junk.length, 0, 0, c);
    // '+' may still become a POP3 status line: the flow keeps probing
    const plus = Buffer.from('+', 'latin1');
    d.data(f, 'to_client', plus, 0, 1, 0, 0, c);
    d.data(f, 'to_server', junk, 0, junk.length, junk.length, 0, c);
    assert.equal(f.state, 'probing');
    assert.deepEqual(calls.filter((x) => x === 'to_server'), ['to_server'], 'asked once for the client side');
    // the server side said 'no' to HTTP with "+" as well: not asked again either
    assert.deepEqual(calls.filter((x) => x === 'to_client'), ['to_client']);
    const ok = Buffer.from('OK ready\r\n', 'latin1');
    d.data(f, 'to_client', ok, 0, ok.length, 1, 0, c);
    assert.equal(f.proto?.name, 'pop3');
  } finally {
    http.probe = orig;
  }
});


const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

/** Openings of each registered protocol (and near misses once mutated), both directions. */
const SEEDS: Uint8Array[] = [
  bytes('GET /a HTTP/1.1\r\nHost: x\r\n\r\n'), bytes('HTTP/1.1 200 OK\r\n\r\n'),
  bytes([0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0]), bytes([0x80, 0x2e, 1, 3, 1, 0, 0x15]),
  bytes('SSH-2.0-OpenSSH\r\n'),
  bytes([5, 0, 11, 3, 0x10, 0, 0, 0, 0x48, 0, 0, 0, 1, 0, 0, 0, 0xb8, 0x10]),
  bytes([0, 0, 0, 0x50, 0xff, 0x53, 0x4d, 0x42, 0x72, 0, 0]), bytes([0, 0, 0, 0x50, 0xfe, 0x53, 0x4d, 0x42, 0x40, 0]),
  bytes('USER anon\r\n'), bytes('220 ftp ready\r\n'), bytes('220 mail ESMTP ready\r\n'), bytes('EHLO x\r\n'),
  bytes('+OK POP3\r\n'), bytes('CAPA\r\n'), bytes('* OK IMAP4rev1\r\n'), bytes('a1 LOGIN u p\r\n'),
  bytes([3, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0]), bytes([3, 0, 0, 11, 6, 0xd0, 0, 0]), bytes('RFB 003.008\n'),
  bytes([0x4a, 0, 0, 0, 0x0a], '8.0.32', [0, 1, 2]), bytes([0x10, 0, 0, 0, 0xff, 0x6a, 4, 0x48, 0x6f, 0x73]),
  bytes([0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f]), bytes([0, 0, 0, 40, 0, 3, 0, 0, 0x75, 0x73, 0x65, 0x72]),
  bytes('*1\r\n$4\r\nPING\r\n'), bytes([0x3a, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xdd, 7, 0, 0, 0]),
  bytes([0x3a, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0]),
  bytes([0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03]), bytes([0x30, 0x84, 0, 0, 0, 0x0c, 0x02, 0x01, 0x01, 0x61]),
  bytes([0, 29, 0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3], 'www', [7], 'example', [3], 'com', [0, 0, 1, 0, 1]),
];

test('every registered probe: a "no" stays "no" for any longer prefix (unless the protocol says it may revise)', () => {
  const r = rng(7);
  for (const p of APP_PROTOCOLS) {
    if (p.probeMayRevise === true) continue;
    for (const dir of ['to_server', 'to_client'] as const) {
      for (const seed of SEEDS) {
        for (let v = 0; v < 60; v++) {
          // a mutated, extended copy of the seed
          const m = new Uint8Array(seed.length + Math.floor(r() * 24));
          m.set(seed);
          for (let i = seed.length; i < m.length; i++) m[i] = Math.floor(r() * 256);
          const edits = v === 0 ? 0 : 1 + Math.floor(r() * 3);
          for (let e = 0; e < edits; e++) m[Math.floor(r() * m.length)] = r() < 0.5 ? Math.floor(r() * 256) : [0, 0x0a, 0x0d, 0x20, 0x30][Math.floor(r() * 5)]!;
          let no = -1;
          for (let len = 0; len <= m.length; len++) {
            const res = p.probe(dir, m, len);
            if (no >= 0) assert.equal(res, 'no', `${p.name} ${dir}: "no" at ${no} bytes, "${res}" at ${len} of ${Buffer.from(m).toString('hex')}`);
            else if (res === 'no') no = len;
          }
        }
      }
    }
  }
});

test('SMTP may revise: its greeting check said no to a long first line, and matches once the line ends', () => {
  const smtp = APP_PROTOCOLS.find((p) => p.name === 'smtp')!;
  assert.equal(smtp.probeMayRevise, true);
  const g = bytes('220 ', 'x'.repeat(600), ' SMTP\r\n');
  assert.equal(smtp.probe('to_client', g, 520), 'no');
  assert.equal(smtp.probe('to_client', g, g.length), 'match');
});
