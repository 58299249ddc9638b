/**
 * The first-byte shortcuts of the Redis and POP3 probes answer exactly what their full checks
 * answer: compared with the checks as they were (copied here) for every first byte, both
 * directions, after openings of the protocol and random tails, at every length.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { probeRedis } from '../../../../../src/engine/app-layer/banners/index.js';
import { APP_PROTOCOLS } from '../../../../../src/engine/app-layer/registry.js';
import type { AppDirection, AppProbeResult } from '../../../../../src/engine/app-layer/types.js';

function redisFull(dir: AppDirection, d: Uint8Array, len: number): AppProbeResult {
  if (dir !== 'to_server') return 'no';
  if (len === 0) return 'need-more';
  const n = Math.min(len, 32);
  const s = String.fromCharCode(...d.subarray(0, n));
  if (/^\*[1-9]\d{0,5}\r\n\$\d{1,9}\r\n/.test(s)) return 'match';
  if (/^\*(\d{0,6}(\r(\n(\$\d{0,9}\r?)?)?)?)?$/.test(s) && n < 32) return 'need-more';
  return 'no';
}

const COMMANDS = new Set(['USER', 'PASS', 'APOP', 'STAT', 'LIST', 'RETR', 'DELE', 'NOOP', 'RSET', 'QUIT', 'TOP', 'UIDL', 'CAPA', 'STLS', 'AUTH', 'UTF8', 'LANG']);
function pop3Full(dir: AppDirection, data: Uint8Array, len: number): AppProbeResult {
  const head = Buffer.from(data.subarray(0, Math.min(len, 5))).toString('latin1').toUpperCase();
  if (dir === 'to_client') {
    if (!('+OK'.startsWith(head.slice(0, 3)) || '-ERR'.startsWith(head.slice(0, 4)))) return 'no';
  } else {
    const word = /^[A-Z0-9]*/.exec(head)![0];
    if (word.length < Math.min(head.length, 4) && !(word.length >= 3 && COMMANDS.has(word))) return 'no';
    if (![...COMMANDS].some((c) => c.startsWith(word))) return 'no';
  }
  const n = Math.min(len, 256);
  const lf = data.subarray(0, n).indexOf(0x0a);
  if (lf === -1) return len < 256 ? 'need-more' : 'no';
  const line = Buffer.from(data.subarray(0, lf)).toString('latin1').replace(/\r$/, '');
  if (dir === 'to_client') return /^(\+OK|-ERR)( |$)/.test(line) ? 'match' : 'no';
  const kw = line.split(' ')[0]!.toUpperCase();
  return COMMANDS.has(kw) ? 'match' : 'no';
}

test('Redis and POP3 probes: the first-byte shortcut changes no answer', () => {
  const pop3 = APP_PROTOCOLS.find((p) => p.name === 'pop3')!;
  let a = 99;
  const r = (): number => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return a / 4294967296;
  };
  const tails = ['', 'OK ready\r\n', 'ERR no\r\n', 'SER bob\r\n', 'tls\r\n', '1\r\n$4\r\nPING\r\n', 'OP 1 10\r\n', 'ANG\r\n'].map((t) => Buffer.from(t, 'latin1'));
  for (let c0 = 0; c0 < 256; c0++) {
    for (const t of [...tails, Buffer.from(Array.from({ length: 40 }, () => Math.floor(r() * 256)))]) {
      const d = new Uint8Array(1 + t.length);
      d[0] = c0;
      d.set(t, 1);
      for (const dir of ['to_server', 'to_client'] as const) {
        for (let len = 0; len <= d.length; len++) {
          assert.equal(probeRedis(dir, d, len), redisFull(dir, d, len), `redis ${dir} ${c0} ${len}`);
          assert.equal(pop3.probe(dir, d, len), pop3Full(dir, d, len), `pop3 ${dir} ${c0} ${Buffer.from(d).toString('hex')} ${len}`);
        }
      }
    }
  }
});

test('POP3 upperHead is latin1 + toUpperCase for every byte, alone and after ASCII', async () => {
  const { upperHead } = await import('../../../../../src/engine/app-layer/pop3/index.js');
  for (let c = 0; c < 256; c++) {
    for (const d of [Uint8Array.of(c), Uint8Array.of(0x75, 0x73, c, 0x65, 0x72)]) {
      assert.equal(upperHead(d, d.length), Buffer.from(d).toString('latin1').toUpperCase(), `byte ${c}`);
    }
  }
});
