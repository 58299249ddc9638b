/** POP3 and IMAP: transactions, multi-line responses / literals, STLS/STARTTLS upgrade, events, gaps, probes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { POP3_PROTOCOL, Pop3Parser, pop3Eve, type Pop3Tx } from '../../../../../src/engine/app-layer/pop3/index.js';
import { IMAP_PROTOCOL, ImapParser, type ImapTx } from '../../../../../src/engine/app-layer/imap/index.js';
import type { AppDirection, AppParser } from '../../../../../src/engine/app-layer/types.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
function run<P extends AppParser>(p: P, steps: [AppDirection, string][], chunk = 1 << 20): P {
  for (const [dir, text] of steps) {
    const d = b(text);
    for (let o = 0; o < d.length; o += chunk) p.feed(dir, d, o, Math.min(chunk, d.length - o), 0);
  }
  return p;
}

const POP: [AppDirection, string][] = [
  ['to_client', '+OK POP3 server ready\r\n'],
  ['to_server', 'USER bob\r\n'], ['to_client', '+OK\r\n'],
  ['to_server', 'PASS secret\r\n'], ['to_client', '+OK logged in\r\n'],
  ['to_server', 'LIST\r\n'], ['to_client', '+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n'],
  ['to_server', 'RETR 1\r\n'], ['to_client', '+OK 120 octets\r\nSubject: x\r\n\r\n+OK not a status\r\n..\r\n.\r\n'],
  ['to_server', 'LIST 9\r\n'], ['to_client', '-ERR no such message\r\n'],
  ['to_server', 'XYZZY\r\nTOP 1\r\n'], ['to_client', '-ERR what\r\n-ERR args\r\n'],
  ['to_server', 'QUIT\r\n'], ['to_client', '+OK bye\r\n'],
];

test('POP3: greeting tx, one tx per command, multi-line bodies, events; split-invariant', () => {
  const snap = (p: Pop3Parser): unknown => [...p.txs()].map((t) => [t.command, t.args, t.ok, t.bodyLines, t.complete('to_client'), t.events]);
  const p = run(new Pop3Parser(), POP);
  assert.deepEqual(snap(p), [
    [null, [], true, 0, true, []],
    ['USER', ['bob'], true, 0, true, []],
    ['PASS', ['secret'], true, 0, true, []],
    ['LIST', [], true, 2, true, []],
    ['RETR', ['1'], true, 4, true, []],
    ['LIST', ['9'], false, 0, true, []],
    ['XYZZY', [], false, 0, true, ['pop3.unknown_command']],
    ['TOP', ['1'], false, 0, true, ['pop3.incorrect_argument_count']],
    ['QUIT', [], true, 0, true, []],
  ]);
  assert.deepEqual(snap(run(new Pop3Parser(), POP, 1)), snap(p));
  assert.deepEqual(pop3Eve([...p.txs()][1]!), { request: { command: 'USER', args: ['bob'] }, response: { success: true, status: 'OK', header: '' } });
  assert.deepEqual(POP3_PROTOCOL.buffers, [], 'no pop3.* buffers offered (see index.ts)');
});

test('POP3: STLS +OK upgrades; AUTH continuation makes the next client line SASL data; long lines raise events', () => {
  const p = run(new Pop3Parser(), [['to_client', '+OK hi\r\n'], ['to_server', 'STLS\r\n'], ['to_client', '+OK begin TLS\r\n'], ['to_server', '\x16\x03\x01']]);
  assert.equal(p.state, 'upgrade');
  assert.equal(p.upgradeTo, 'tls');
  const q = run(new Pop3Parser(), [
    ['to_client', '+OK hi\r\n'], ['to_server', 'AUTH PLAIN\r\n'], ['to_client', '+ \r\n'], ['to_server', 'AGJvYgBzZWNyZXQ=\r\n'], ['to_client', '+OK\r\n'],
    ['to_server', `USER ${'u'.repeat(300)}\r\n`], ['to_client', `-ERR ${'e'.repeat(600)}\r\n`],
  ]);
  const t = [...q.txs()] as Pop3Tx[];
  assert.deepEqual(t.map((x) => x.command), [null, 'AUTH', '<SASL DATA>', 'USER']);
  assert.deepEqual(t[3]!.events, ['pop3.request_too_long', 'pop3.response_too_long']);
});

test('POP3: a gap resynchronises on the next command / status line; transaction limit', () => {
  const p = run(new Pop3Parser(), [['to_server', 'USER a\r\n']]);
  p.gap('to_server', 50);
  run(p, [['to_server', 'garbage tail\r\nNOOP\r\n'], ['to_client', '+OK\r\n+OK\r\n']]);
  assert.deepEqual([...p.txs()].map((t) => t.command), ['USER', 'NOOP']);
  assert.equal(p.counters().resync_skipped_lines, 1);
  const q = run(new Pop3Parser({ maxTransactions: 2 }), [['to_server', 'NOOP\r\nNOOP\r\nNOOP\r\n']]);
  assert.equal(q.state, 'failed');
  assert.ok([...q.txs()].every((t) => t.events.includes('pop3.too_many_transactions')));
});

test('POP3 probe', () => {
  const pr = (dir: AppDirection, t: string): string => POP3_PROTOCOL.probe(dir, b(t), t.length);
  assert.equal(pr('to_client', '+OK Dovecot ready.\r\n'), 'match');
  assert.equal(pr('to_client', '+OK Dove'), 'need-more');
  assert.equal(pr('to_server', 'user bob\r\n'), 'match');
  assert.equal(pr('to_server', 'GET / HTTP/1.1\r\n'), 'no');
  assert.equal(pr('to_client', '220 smtp\r\n'), 'no');
});

test('IMAP: tagged txs, untagged responses, literals skipped in both directions, STARTTLS upgrade', () => {
  const msg = 'Subject: a\r\n\r\nA1 LOGOUT\r\n';
  const p = run(new ImapParser(), [
    ['to_client', '* OK IMAP4rev1 ready\r\n'],
    ['to_server', 'a1 LOGIN bob secret\r\n'], ['to_client', 'a1 OK done\r\n'],
    ['to_server', `a2 APPEND INBOX {${msg.length}}\r\n`], ['to_client', '+ go ahead\r\n'],
    ['to_server', `${msg}\r\n`], ['to_client', 'a2 OK appended\r\n'],
    ['to_server', 'a3 FETCH 1 BODY[]\r\n'], ['to_client', `* 1 FETCH (BODY[] {${msg.length}}\r\n${msg})\r\na3 OK fetched\r\n`],
    ['to_server', 'a4 STARTTLS\r\n'], ['to_client', 'a4 OK begin TLS\r\n'],
  ], 3);
  const t = [...p.txs()] as ImapTx[];
  assert.deepEqual(t.map((x) => [x.tag, x.command, x.status]), [['a1', 'LOGIN', 'OK'], ['a2', 'APPEND', 'OK'], ['a3', 'FETCH', 'OK'], ['a4', 'STARTTLS', 'OK']]);
  assert.equal(p.counters().literal_bytes, 2 * msg.length);
  assert.equal(p.state, 'upgrade');
  assert.equal(p.upgradeTo, 'tls');
  const q = run(new ImapParser(), [['to_server', 'x STARTTLS\r\n'], ['to_client', 'x NO not now\r\n'], ['to_server', 'y NOOP\r\n']]);
  assert.equal(q.state, 'ok');
  q.gap('to_client', 3);
  assert.equal(q.state, 'failed');
});

test('IMAP probe: Suricata patterns', () => {
  const pr = (dir: AppDirection, t: string): string => IMAP_PROTOCOL.probe(dir, b(t), t.length);
  assert.equal(pr('to_client', '* OK [CAPABILITY IMAP4rev1] ready\r\n'), 'match');
  assert.equal(pr('to_server', '1 capability\r\n'), 'match');
  assert.equal(pr('to_server', 'a1 LOGIN x y\r\n'), 'no');
  assert.equal(pr('to_client', '* o'), 'no', 'to_client pattern is case-sensitive');
});
