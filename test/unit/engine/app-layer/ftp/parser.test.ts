/** FTP control connection: transactions, replies, data-connection announcements, keywords, limits, gaps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FTP_DATA_PROTOCOL, FTP_PROTOCOL, FtpParser, FtpTx, createFtpDataParser, ftpEve, parseEprt, parseEpsvReply, parseHostPort,
} from '../../../../../src/engine/app-layer/ftp/index.js';
import type { AppDirection, AppKeywordSpec, AppTx } from '../../../../../src/engine/app-layer/types.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const s = (x: Uint8Array | null): string | null => (x === null ? null : Buffer.from(x).toString('latin1'));
const ctx = { serverPort: 21, clientPort: 40000, clientAddr: '198.51.100.10', serverAddr: '198.51.100.1' };

/** Feed a conversation: [dir, text] steps, each cut into `chunk`-byte pieces. */
function run(steps: [AppDirection, string][], chunk = 1 << 20, p = new FtpParser(ctx)): FtpParser {
  for (const [dir, text] of steps) {
    const d = b(text);
    for (let o = 0; o < d.length; o += chunk) p.feed(dir, d, o, Math.min(chunk, d.length - o));
  }
  return p;
}
const txs = (p: FtpParser): FtpTx[] => [...p.txs()];
const kw = (name: string): AppKeywordSpec => {
  const k = FTP_PROTOCOL.keywords.find((x) => x.name === name);
  assert.ok(k, name);
  return k;
};
const kmatch = (name: string, value: string | null, tx: AppTx, dir: AppDirection = 'to_server'): boolean => {
  const k = kw(name);
  return k.match(tx, dir, k.parse(value), 0);
};

const SESSION: [AppDirection, string][] = [
  ['to_client', '220-Welcome\r\n220-to the\r\n220 server\r\n'],
  ['to_server', 'USER anonymous\r\n'],
  ['to_client', '331 Please specify the password.\r\n'],
  ['to_server', 'pass secret\r\n'],
  ['to_client', '230 Login successful.\r\n'],
  ['to_server', 'PORT 198,51,100,10,232,157\r\n'],
  ['to_client', '200 PORT command successful.\r\n'],
  ['to_server', 'RETR temp.txt\r\n'],
  ['to_client', '150 Opening BINARY mode data connection for temp.txt (1164 bytes).\r\n226 Transfer complete.\r\n'],
  ['to_server', 'PASV\r\n'],
  ['to_client', '227 Entering Passive Mode (198,51,100,1,195,80).\r\n'],
  ['to_server', 'STOR up.bin\r\n'],
  ['to_client', '150 Ok to send data.\r\n226 Transfer complete.\r\n'],
  ['to_server', 'QUIT\r\n'],
  ['to_client', '221 Goodbye.\r\n'],
];

test('a session: greeting tx, one tx per command, replies attached, multi-line and preliminary replies', () => {
  const p = run(SESSION);
  const t = txs(p);
  assert.equal(t.length, 8);
  const [greet, user, pass, port, retr, pasv, stor, quit] = t as [FtpTx, FtpTx, FtpTx, FtpTx, FtpTx, FtpTx, FtpTx, FtpTx];
  assert.equal(greet.command, null, 'the greeting has no command');
  assert.deepEqual(greet.replies.map(s), ['Welcome', 'to the', 'server']);
  assert.deepEqual(greet.codes.map(s), ['220', '220', '220']);
  assert.ok(greet.done);
  assert.equal(s(user.buffer('ftp.command', 'to_server')), 'USER');
  assert.equal(s(user.buffer('ftp.command_data', 'to_server')), 'anonymous');
  assert.equal(s(pass.buffer('ftp.command', 'to_server')), 'PASS', 'known commands are canonical upper case');
  assert.equal(s(pass.buffer('ftp.command_data', 'to_server')), 'secret');
  assert.equal(user.buffer('ftp.command', 'to_client'), null, 'command buffers are to_server only');
  assert.deepEqual(user.multiBuffer('ftp.reply', 'to_client').map(s), ['Please specify the password.']);
  assert.deepEqual(user.multiBuffer('ftp.reply', 'to_server'), []);
  assert.deepEqual(retr.multiBuffer('ftp.reply', 'to_client').map(s), ['Opening BINARY mode data connection for temp.txt (1164 bytes).', 'Transfer complete.']);
  assert.deepEqual(retr.multiBuffer('ftp.completion_code', 'to_client').map(s), ['150', '226']);
  assert.equal(port.dynPort, 59549);
  assert.equal(port.mode, 'active');
  assert.equal(pasv.dynPort, 50000);
  assert.equal(pasv.mode, 'passive');
  assert.equal(stor.command !== null && s(stor.command), 'STOR');
  assert.equal(quit.buffer('ftp.command_data', 'to_server'), null, 'no argument, no command_data');
  for (const x of t) assert.ok(x.done && x.complete('to_client'));
  assert.equal(p.state, 'ok');
  assert.equal(p.counters().transactions, 8);
});

test('same transactions and expectations whatever the split (byte by byte, 7-byte pieces)', () => {
  const snap = (p: FtpParser): unknown => ({ t: txs(p).map((x) => ftpEve(x)), e: p.takeExpectations().map((e) => ({ ...e, fileName: s(e.fileName) })) });
  const want = snap(run(SESSION));
  assert.deepEqual(snap(run(SESSION, 1)), want);
  assert.deepEqual(snap(run(SESSION, 7)), want);
});

test('a 1xx reply keeps the tx open until the final reply; a reply without a command opens a tx', () => {
  const p = run([['to_server', 'RETR a\r\n'], ['to_client', '150 Opening\r\n']]);
  const [r] = txs(p) as [FtpTx];
  assert.equal(r.done, false);
  assert.equal(kmatch('ftp.reply_received', 'no', r, 'to_client'), true);
  run([['to_client', '226 Done\r\n421 Timeout\r\n']], 1 << 20, p);
  assert.equal(r.done, true);
  assert.equal(kmatch('ftp.reply_received', 'yes', r, 'to_client'), true);
  const t = txs(p);
  assert.equal(t.length, 2);
  assert.equal(t[1]!.command, null);
  assert.deepEqual(t[1]!.codes.map(s), ['421']);
});

test('pipelined commands get their replies in order', () => {
  const p = run([['to_server', 'USER a\r\nPASS b\r\nSYST\r\n'], ['to_client', '331 pw\r\n230 ok\r\n215 UNIX Type: L8\r\n']]);
  assert.deepEqual(txs(p).map((x) => [s(x.command), x.replies.map(s)]), [['USER', ['pw']], ['PASS', ['ok']], ['SYST', ['UNIX Type: L8']]]);
});

test('unknown commands keep the token as sent; empty lines are not commands', () => {
  const p = run([['to_server', '\r\nxyzzy plugh\r\nsite chmod 777 x\r\n']]);
  const t = txs(p);
  assert.deepEqual(t.map((x) => [s(x.command), s(x.commandData)]), [['xyzzy', 'plugh'], ['SITE', 'chmod 777 x']]);
  assert.equal(p.counters().unknown_commands, 1);
});

test('PORT/EPRT/PASV/EPSV: dynamic port, mode, expectations for RETR/STOR with the data flow direction', () => {
  const p = run([
    ['to_server', 'PORT 198,51,100,10,4,1\r\n'], ['to_client', '200 ok\r\n'],
    ['to_server', 'RETR f1\r\n'], ['to_client', '150 x\r\n226 y\r\n'],
    ['to_server', 'EPRT |2|2001:db8::5|6000|\r\n'], ['to_client', '200 ok\r\n'],
    ['to_server', 'STOR f2\r\n'], ['to_client', '226 y\r\n'],
    ['to_server', 'EPSV\r\n'], ['to_client', '229 Entering Extended Passive Mode (|||6446|)\r\n'],
    ['to_server', 'RETR f3\r\n'], ['to_client', '226 y\r\n'],
    ['to_server', 'PASV\r\n'], ['to_client', '227 Entering Passive Mode (198,51,100,1,10,0)\r\n'],
    ['to_server', 'STOR f4\r\n'], ['to_client', '226 y\r\n'],
    ['to_server', 'LIST\r\n'], ['to_client', '226 y\r\n'],
  ]);
  const e = p.takeExpectations().map((x) => [x.mode, x.host, x.port, x.command, s(x.fileName), x.fileDirection]);
  assert.deepEqual(e, [
    ['active', '198.51.100.10', 1025, 'RETR', 'f1', 'to_server'],
    ['active', '2001:db8::5', 6000, 'STOR', 'f2', 'to_client'],
    ['passive', null, 6446, 'RETR', 'f3', 'to_client'],
    ['passive', '198.51.100.1', 2560, 'STOR', 'f4', 'to_server'],
  ]);
  assert.deepEqual(p.takeExpectations(), [], 'handed out once');
  const t = txs(p);
  assert.equal(kmatch('ftp.dynamic_port', '1025', t[0]!), true);
  assert.equal(kmatch('ftp.dynamic_port', '>1025', t[0]!), false);
  assert.equal(kmatch('ftp.dynamic_port', '1000-2000', t[0]!), true);
  assert.equal(kmatch('ftp.dynamic_port', '1025', t[1]!), false, 'RETR itself announces nothing');
  assert.equal(kmatch('ftp.mode', 'active', t[0]!), true);
  assert.equal(kmatch('ftp.mode', 'passive', t[0]!), false);
  assert.equal(kmatch('ftp.mode', 'passive', t[4]!, 'to_client'), true);
  assert.equal(t[4]!.dynPort, 6446);
});

test('ftpbounce: PORT to another IPv4 host than the client matches, to the client does not', () => {
  const p = run([['to_server', 'PORT 198,51,100,10,232,157\r\nPORT 203,0,113,9,0,80\r\nPORT 1,2,3\r\n']]);
  const [own, other, bad] = txs(p) as [FtpTx, FtpTx, FtpTx];
  assert.equal(kmatch('ftpbounce', null, own), false);
  assert.equal(kmatch('ftpbounce', null, other), true);
  assert.equal(kmatch('ftpbounce', null, bad), false);
  assert.equal(p.counters().malformed_port, 1);
  assert.deepEqual(ftpEve(other), { command: 'PORT', command_data: '203,0,113,9,0,80', dynamic_port: 80, mode: 'active', reply_received: 'no' });
  // Without the client address the comparison cannot be made: never matches, counted.
  const q = run([['to_server', 'PORT 203,0,113,9,0,80\r\n']], 1 << 20, new FtpParser({ serverPort: 21, clientPort: 1 }));
  assert.equal(kmatch('ftpbounce', null, txs(q)[0]!), false);
  assert.equal(q.counters().bounce_client_unknown, 1);
});

test('keyword values are checked at rule load', () => {
  assert.throws(() => kw('ftpbounce').parse('x'), /takes no value/);
  assert.throws(() => kw('ftp.mode').parse('sideways'), /active or passive/);
  assert.throws(() => kw('ftp.reply_received').parse('maybe'), /yes\|on\|no\|off/);
  assert.throws(() => kw('ftp.dynamic_port').parse('70000'), /out of range/);
  assert.throws(() => kw('ftp.dynamic_port').parse('abc'), /invalid number/);
  assert.equal(kw('ftp.reply_received').parse('on'), true);
});

test('AUTH TLS answered 234 upgrades to tls; later bytes are not parsed', () => {
  const p = run([['to_server', 'AUTH TLS\r\n'], ['to_client', '234 Proceed with negotiation.\r\n'], ['to_server', '\x16\x03\x01\x00\x05hello\r\n']]);
  assert.equal(p.state, 'upgrade');
  assert.equal(p.upgradeTo, 'tls');
  assert.equal(txs(p).length, 1);
  const q = run([['to_server', 'AUTH TLS\r\n'], ['to_client', '502 no\r\n'], ['to_server', 'USER x\r\n']]);
  assert.equal(q.state, 'ok');
  assert.equal(txs(q).length, 2);
});

test('over-long lines are cut at maxLine with the Suricata event; the next line parses', () => {
  const p = new FtpParser(ctx, { maxLine: 32 });
  run([['to_server', `USER ${'A'.repeat(100)}\r\nPASS x\r\n`], ['to_client', `331 ${'B'.repeat(100)}\r\n230 ok\r\n`]], 10, p);
  const [u, pw] = txs(p) as [FtpTx, FtpTx];
  assert.equal(u.commandData!.length, 32 - 5);
  assert.deepEqual(u.events, ['ftp.request_command_too_long', 'ftp.response_command_too_long']);
  assert.equal(s(pw.command), 'PASS');
  assert.deepEqual(pw.replies.map(s), ['ok']);
  assert.equal(ftpEve(u).reply_truncated, true);
  assert.equal(p.counters().truncated_lines, 2);
});

test('limits: transactions alive and reply lines per tx', () => {
  const p = new FtpParser(ctx, { maxTransactions: 3, maxReplyLines: 2 });
  run([['to_client', '220-a\r\n220-b\r\n220-c\r\n220 d\r\n'], ['to_server', 'NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n']], 1 << 20, p);
  assert.equal(txs(p)[0]!.replies.length, 2);
  assert.equal(p.counters().limit_reply_lines, 2);
  assert.equal(p.state, 'failed');
  assert.equal(p.failReason, 'too_many_transactions');
  assert.equal(txs(p).length, 3, 'txs so far stay readable');
  const q = new FtpParser(ctx, { maxTransactions: 2 });
  for (let i = 0; i < 10; i++) {
    run([['to_server', 'NOOP\r\n'], ['to_client', '200 ok\r\n']], 1 << 20, q);
    q.release(txs(q).at(-1)!.id);
  }
  assert.equal(q.state, 'ok', 'released txs do not count');
  assert.equal(q.counters().transactions, 10);
});

test('a gap stops parsing (Suricata FTP does not accept gaps); bytes after are counted', () => {
  const p = run([['to_server', 'USER a\r\n']]);
  p.gap('to_server', 100);
  run([['to_server', 'PASS b\r\n']], 1 << 20, p);
  assert.equal(p.state, 'failed');
  assert.equal(p.failReason, 'gap');
  assert.equal(txs(p).length, 1);
  assert.equal(p.counters().ignored_bytes, 8);
});

test('binary garbage never throws and memory stays bounded', () => {
  const p = new FtpParser(ctx, { maxLine: 512 });
  let x = 12345;
  const d = new Uint8Array(200_000);
  for (let i = 0; i < d.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    d[i] = x >> 16;
  }
  for (let o = 0; o < d.length; o += 1000) {
    p.feed('to_server', d, o, 1000);
    p.feed('to_client', d, o, 1000);
    for (const t of p.txs()) {
      ftpEve(t);
      p.release(t.id);
    }
  }
  assert.ok(p.memory() < 64 * 1024, `memory ${p.memory()}`);
});

test('probe: Suricata patterns, case-insensitive, need-more on a prefix', () => {
  const pr = (dir: AppDirection, t: string): string => FTP_PROTOCOL.probe(dir, b(t), t.length);
  assert.equal(pr('to_server', 'user bob\r\n'), 'match');
  assert.equal(pr('to_server', 'AUTH TLS\r\n'), 'match');
  assert.equal(pr('to_server', 'US'), 'need-more');
  assert.equal(pr('to_server', 'GET / HTTP/1.1\r\n'), 'no');
  assert.equal(pr('to_client', '220 (vsFTPd 3.0.3)\r\n'), 'match');
  assert.equal(pr('to_client', '220 mail ESMTP\r\n'), 'no');
});

test('host/port argument parsers', () => {
  assert.deepEqual(parseHostPort('192,168,0,13,234,10'), { host: '192.168.0.13', port: 59914 });
  assert.equal(parseHostPort('1,2,3,4,0,0'), null);
  assert.equal(parseHostPort('300,2,3,4,1,1'), null);
  assert.deepEqual(parseEprt('|1|132.235.1.2|6275|'), { host: '132.235.1.2', port: 6275 });
  assert.equal(parseEprt('|1|x|99999|'), null);
  assert.equal(parseEpsvReply('Entering Extended Passive Mode (|||6446|)'), 6446);
  assert.equal(parseEpsvReply('Entering Extended Passive Mode'), null);
});

test('ftp-data: file bytes in the announced direction, bounded; ftpdata_command; file.name', () => {
  const p = run([['to_server', 'PASV\r\n'], ['to_client', '227 Entering Passive Mode (198,51,100,1,10,0)\r\n'], ['to_server', 'RETR /etc/passwd\r\n']]);
  const [e] = p.takeExpectations();
  assert.ok(e);
  const d = createFtpDataParser(e, { fileDataLimit: 8 });
  d.feed('to_client', b('root:x:0:0'), 0, 10);
  d.feed('to_server', b('zz'), 0, 2);
  const [t] = [...d.txs()];
  assert.ok(t);
  assert.equal(s(t.buffer('file.data', 'to_client')), 'root:x:0');
  assert.equal(t.buffer('file.data', 'to_server'), null);
  assert.equal(s(t.buffer('file.name', 'to_client')), '/etc/passwd');
  // The file travels to the client only: no file (name) the other way, so a rule read both ways alerts once.
  assert.equal(t.buffer('file.name', 'to_server'), null);
  assert.equal(d.counters().limit_file_data, 1);
  assert.equal(d.counters().wrong_direction_bytes, 2);
  assert.equal(t.complete('to_client'), false);
  d.end('to_client');
  assert.equal(t.complete('to_client'), true);
  const k = FTP_DATA_PROTOCOL.keywords[0]!;
  assert.equal(k.match(t, 'to_client', k.parse('retr'), 0), true);
  assert.equal(k.match(t, 'to_client', k.parse('stor'), 0), false);
  assert.throws(() => k.parse('list'), /retr or stor/);
  assert.deepEqual(FTP_DATA_PROTOCOL.eve(t), { filename: '/etc/passwd', command: 'RETR' });
  const inert = FTP_DATA_PROTOCOL.create({ serverPort: 1, clientPort: 2 });
  inert.feed('to_server', b('abc'), 0, 3, 0);
  assert.equal(inert.state, 'failed');
  assert.deepEqual([...inert.txs()], []);
});
