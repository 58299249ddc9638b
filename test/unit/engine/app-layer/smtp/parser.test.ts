/** SMTP: mail transactions, pipelining, DATA/BDAT, MIME (email.*, file.data, URLs), STARTTLS, limits, gaps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SMTP_PROTOCOL, SmtpParser, SmtpTx, emailEve, findHeaderToken, smtpEve, smtpFiles } from '../../../../../src/engine/app-layer/smtp/index.js';
import type { AppDirection, AppTx } from '../../../../../src/engine/app-layer/types.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const s = (x: Uint8Array | null): string | null => (x === null ? null : Buffer.from(x).toString('latin1'));
const ss = (xs: readonly Uint8Array[]): string[] => xs.map((x) => Buffer.from(x).toString('latin1'));

function run(steps: [AppDirection, string][], chunk = 1 << 20, p = new SmtpParser()): SmtpParser {
  for (const [dir, text] of steps) {
    const d = b(text);
    for (let o = 0; o < d.length; o += chunk) p.feed(dir, d, o, Math.min(chunk, d.length - o));
  }
  return p;
}
const txs = (p: SmtpParser): SmtpTx[] => [...p.txs()];
const buf = (t: SmtpTx, n: string): string | null => s(t.buffer(n, 'to_server'));
const multi = (t: SmtpTx, n: string): string[] => ss(t.multiBuffer(n, 'to_server'));

// The conversation of suricata-verify detect-email-received (smtp.syn), as the wire carries it.
const RECEIVED: [AppDirection, string][] = [
  ['to_client', '220 smtpblah.mailserver.xxx.com ESMTP AAAAAAAAA\r\n'],
  ['to_server', 'EHLO Simone\r\n'],
  ['to_client', '250-smtp001.mail.xxx.xxxxx.com\r\n250 ok\r\n'],
  ['to_server', 'MAIL FROM: <xxxxxx@xxxxx.co.uk>\r\n'], ['to_client', '250 ok\r\n'],
  ['to_server', 'RCPT TO: <xxxxx@aba.com>\r\n'], ['to_client', '250 ok\r\n'],
  ['to_server', 'RCPT TO: <cc0@example.com>\r\n'], ['to_client', '250 ok\r\n'],
  ['to_server', 'DATA\r\n'], ['to_client', '354 Start mail input; end with <CRLF>.<CRLF>\r\n'],
  ['to_server', 'Subject: Test Email\r\n' +
    'Received: from client.local (client.local [10.0.0.1]) by smtp.relay1.com with ESMTP id relay1abc; Thu, 10 Apr 2025 12:00:00 -0000\r\n' +
    'Received: from smtp.relay1.com (smtp.relay1.com [10.0.0.10]) by smtp.relay2.com with ESMTP id relay2xyz; Thu, 10 Apr 2025 12:01:00 -0000\r\n' +
    'From: <xxxxxx@xxxxx.co.uk>\r\nTo: <xxxxx@aba.com>, <xxxxx@example.com>\r\n' +
    'Cc: cc0 <cc0@example.com>, cc1 <cc1@example.com>\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n' +
    'Hello, see http://Example.com/a?b=1 and HTTP://two.example/x>y.\r\n..leading dot\r\n.\r\n'],
  ['to_client', '250 ok: queued as 12345\r\n'],
  ['to_server', 'QUIT\r\n'], ['to_client', '221 bye\r\n'],
];

test('a mail: smtp.* buffers, email.* from the top-level headers, URLs, QUIT opens no new tx', () => {
  const p = run(RECEIVED);
  const t = txs(p);
  assert.equal(t.length, 1, 'QUIT after a finished mail does not open a tx (Suricata 8.0.7)');
  const [m] = t as [SmtpTx];
  assert.equal(buf(m, 'smtp.helo'), 'Simone');
  assert.equal(buf(m, 'smtp.mail_from'), '<xxxxxx@xxxxx.co.uk>');
  assert.deepEqual(multi(m, 'smtp.rcpt_to'), ['<xxxxx@aba.com>', '<cc0@example.com>']);
  assert.equal(buf(m, 'email.subject'), 'Test Email');
  assert.equal(buf(m, 'email.from'), '<xxxxxx@xxxxx.co.uk>');
  assert.equal(buf(m, 'email.to'), '<xxxxx@aba.com>, <xxxxx@example.com>');
  assert.equal(buf(m, 'email.cc'), 'cc0 <cc0@example.com>, cc1 <cc1@example.com>');
  assert.equal(buf(m, 'email.date'), null);
  const rec = multi(m, 'email.received');
  assert.equal(rec.length, 2);
  assert.equal(rec[0]!.length, 119, 'same bsize as the suricata-verify rule');
  assert.deepEqual(multi(m, 'email.url'), ['Example.com/a?b=1', 'two.example/x']);
  assert.deepEqual(multi(m, 'file.data'), [], 'a text body without a file name is not a file (Suricata 8)');
  assert.equal(m.buffer('smtp.helo', 'to_client'), null, 'SMTP buffers are to_server');
  assert.ok(m.done && (m as AppTx).complete('to_server'));
  assert.deepEqual(smtpEve(m), { helo: 'Simone', mail_from: '<xxxxxx@xxxxx.co.uk>', rcpt_to: ['<xxxxx@aba.com>', '<cc0@example.com>'] });
  assert.deepEqual(emailEve(m), {
    from: '<xxxxxx@xxxxx.co.uk>', to: ['<xxxxx@aba.com>', ' <xxxxx@example.com>'], cc: ['cc0 <cc0@example.com>', ' cc1 <cc1@example.com>'],
    status: 'PARSE_DONE', url: ['two.example/x', 'Example.com/a?b=1'],
  });
  assert.deepEqual(SMTP_PROTOCOL.eveExtra?.(m), { email: emailEve(m) });
  assert.equal(p.counters().messages, 1);
});

test('same result whatever the split (byte by byte, 5-byte pieces)', () => {
  const snap = (p: SmtpParser): unknown => txs(p).map((t) => ({
    e: smtpEve(t), m: emailEve(t), f: multi(t, 'file.data'), n: multi(t, 'file.name'), ev: t.events, r: multi(t, 'email.received'),
  }));
  const want = snap(run(RECEIVED));
  assert.deepEqual(snap(run(RECEIVED, 1)), want);
  assert.deepEqual(snap(run(RECEIVED, 5)), want);
});

const B64 = Buffer.from('MZ attachment bytes \x00\x01\x02 EICAR-LIKE-PAYLOAD', 'latin1').toString('base64');
const MULTIPART = 'From: a@b\r\nSubject: Hello\r\n World\r\nContent-Type: multipart/mixed; boundary="XYZ"\r\n\r\n' +
  'preamble http://pre.example/\r\n' +
  '--XYZ\r\nContent-Type: text/plain\r\n\r\nbody text http://body.example/p\r\n' +
  '--XYZ\r\nContent-Type: application/octet-stream; name="ignored.bin"\r\nContent-Disposition: attachment; filename="mal ware.exe"\r\n' +
  `Content-Transfer-Encoding: base64\r\n\r\n${B64.slice(0, 20)}\r\n${B64.slice(20)}\r\n` +
  '--XYZ\r\nContent-Type: text/plain; name=q.txt\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nline=3D1 soft=\r\nbreak http://qp.example/\r\n' +
  '--XYZ--\r\n';

test('MIME: attachments decoded into file.data (base64, quoted-printable), names, URLs from text parts, folded header', () => {
  const p = run([
    ['to_server', 'HELO x\r\nMAIL FROM:<a@b> SIZE=100\r\nRCPT TO:<c@d>\r\nDATA\r\n'],
    ['to_client', '220 hi\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n'],
    ['to_server', `${MULTIPART}.\r\n`],
  ]);
  const [m] = txs(p) as [SmtpTx];
  assert.equal(buf(m, 'smtp.mail_from'), '<a@b>', 'the parameter stops at the first space (SIZE=)');
  assert.equal(buf(m, 'email.subject'), 'HelloWorld', 'a folded line is appended without its first byte (Suricata)');
  assert.deepEqual(multi(m, 'file.name'), ['mal ware.exe', 'q.txt']);
  const files = multi(m, 'file.data');
  assert.equal(files[0], Buffer.from(B64, 'base64').toString('latin1'));
  // QP (Suricata): =XX decoded, a soft break joins the lines, hard line endings kept (also the last one).
  assert.equal(files[1], 'line=1 softbreak http://qp.example/\r\n');
  // The preamble belongs to the multipart/mixed top level: not a text type, no URL taken (Suricata).
  assert.deepEqual(multi(m, 'email.url'), ['body.example/p', 'qp.example/']);
  assert.deepEqual(emailEve(m)?.attachment, ['mal ware.exe', 'q.txt']);
  assert.deepEqual(m.events, []);
});

test('MIME anomalies are Suricata events on the tx: invalid base64, long lines', () => {
  const p = run([
    ['to_server', 'HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'],
    ['to_server', 'Content-Type: application/x; name=a\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n' + `${'A'.repeat(1000)}\r\n.\r\n`],
  ]);
  const [m] = txs(p) as [SmtpTx];
  assert.ok(m.events.includes('smtp.mime_invalid_base64'));
  assert.ok(m.events.includes('smtp.mime_long_line'));
  assert.ok(m.events.includes('smtp.mime_long_enc_line'));
});

test('pipelining: commands and message in one segment, second mail opens a tx and inherits HELO', () => {
  const p = run([
    ['to_client', '220 mx ESMTP\r\n'],
    ['to_server', 'EHLO c\r\n'], ['to_client', '250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n'],
    ['to_server', 'MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\nSubject: one\r\n\r\nx\r\n.\r\nMAIL FROM:<c@x>\r\nRCPT TO:<d@x>\r\nDATA\r\nSubject: two\r\n\r\ny\r\n.\r\nQUIT\r\n'],
    ['to_client', '250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n221 bye\r\n'],
  ]);
  assert.ok(p.pipelining);
  const t = txs(p);
  assert.deepEqual(t.map((x) => [buf(x, 'smtp.helo'), buf(x, 'smtp.mail_from'), buf(x, 'email.subject'), x.done]), [
    ['c', '<a@x>', 'one', true], ['c', '<c@x>', 'two', true],
  ]);
  assert.equal(p.counters().event_unable_to_match_reply_with_request, undefined);
});

test('DATA rejected: data mode ends at the reply, later commands parse; event data_command_rejected', () => {
  const p = run([
    ['to_server', 'HELO x\r\nMAIL FROM:<a@b>\r\nDATA\r\n'],
    ['to_client', '220 hi\r\n250 ok\r\n250 ok\r\n554 no valid recipients\r\n'],
    ['to_server', 'RCPT TO:<late@b>\r\n'],
  ]);
  const [m] = txs(p) as [SmtpTx];
  assert.ok(m.events.includes('smtp.data_command_rejected'));
  assert.deepEqual(multi(m, 'smtp.rcpt_to'), ['<late@b>']);
  assert.equal(m.mime, null);
});

test('a refused pipelined mail, RSET, then an accepted one: two txs (suricata-verify smtp-to-comma conversation)', () => {
  const p = run([
    ['to_client', '220 mx ESMTP Sendmail\r\n'], ['to_server', 'EHLO c\r\n'], ['to_client', '250-mx\r\n250-PIPELINING\r\n250 HELP\r\n'],
    ['to_server', 'MAIL FROM: <bad@x> \r\nRCPT TO:<m@y>\r\nDATA\r\n'],
    ['to_client', '553 5.1.8 Domain of sender does not exist\r\n503 5.0.0 Need MAIL before RCPT\r\n503 5.0.0 Need MAIL command\r\n'],
    ['to_server', 'RSET\r\n'], ['to_client', '250 2.0.0 Reset state\r\n'],
    ['to_server', 'MAIL FROM: <ok@x> \r\nRCPT TO:<m@y>\r\nDATA\r\n'], ['to_client', '250 ok\r\n250 ok\r\n354 go\r\n'],
    ['to_server', 'Cc: "jam,abrakadabra.ch" <mirjam@abrakadabra.ch>\r\n\r\nbody\r\n.\r\n'], ['to_client', '250 queued\r\n'],
  ]);
  const [a, c] = txs(p) as [SmtpTx, SmtpTx];
  assert.equal(txs(p).length, 2);
  assert.equal(buf(a, 'smtp.mail_from'), '<bad@x>');
  assert.ok(a.events.includes('smtp.data_command_rejected'));
  assert.equal(a.mime, null);
  assert.equal(buf(c, 'smtp.mail_from'), '<ok@x>');
  assert.deepEqual(multi(c, 'smtp.rcpt_to'), ['<m@y>']);
  assert.equal(buf(c, 'email.cc'), '"jam,abrakadabra.ch" <mirjam@abrakadabra.ch>');
  assert.deepEqual(emailEve(c)?.cc, ['"jam,abrakadabra.ch" <mirjam@abrakadabra.ch>'], 'EVE splits at commas outside quotes');
  assert.deepEqual(c.events, []);
});

test('BDAT: chunks of raw bytes across segments and LAST, then a second message', () => {
  const msg1 = 'Subject: FIRST\r\nContent-Type: text/plain; name=a.txt\r\n\r\nchunked body line\r\n';
  const c1 = msg1.slice(0, 30);
  const c2 = msg1.slice(30);
  const msg2 = 'Subject: SECOND-MAIL-MARKER\r\n\r\nhi';
  const p = run([
    ['to_server', `EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nBDAT ${c1.length}\r\n${c1}BDAT ${c2.length} LAST\r\n${c2}`],
    ['to_server', `MAIL FROM:<c@x>\r\nRCPT TO:<d@x>\r\nBDAT ${msg2.length} LAST\r\n${msg2}QUIT\r\n`],
  ], 7);
  const t = txs(p);
  assert.equal(t.length, 2);
  assert.equal(buf(t[0]!, 'email.subject'), 'FIRST');
  assert.deepEqual(multi(t[0]!, 'file.data'), ['chunked body line']);
  assert.equal(buf(t[1]!, 'email.subject'), 'SECOND-MAIL-MARKER');
  assert.ok(t.every((x) => x.done));
  assert.equal(p.counters().messages, 2);
});

test('STARTTLS answered 220 upgrades to tls; refused raises tls_rejected', () => {
  const p = run([['to_server', 'EHLO c\r\n'], ['to_client', '220 mx ESMTP\r\n250 STARTTLS\r\n'], ['to_server', 'STARTTLS\r\n'], ['to_client', '220 go ahead\r\n'], ['to_server', '\x16\x03\x01']]);
  assert.equal(p.state, 'upgrade');
  assert.equal(p.upgradeTo, 'tls');
  assert.equal(p.counters().ignored_bytes, 3);
  const q = run([['to_server', 'EHLO c\r\n'], ['to_client', '220 mx ESMTP\r\n250 ok\r\n'], ['to_server', 'STARTTLS\r\n'], ['to_client', '454 not available\r\n']]);
  assert.equal(q.state, 'ok');
  assert.ok(txs(q)[0]!.events.includes('smtp.tls_rejected'));
});

test('line limits: a cut command line raises truncated_line; a command over 510 bytes raises max_command_line_len_exceeded', () => {
  const p = run([['to_server', `HELO ${'h'.repeat(600)}\r\nNOOP ${'n'.repeat(5000)}\r\nMAIL FROM:<a@b>\r\nDATA\r\nSubject: x\r\n\r\n${'z'.repeat(5000)}\r\n.\r\n`]], 1 << 20, new SmtpParser({ maxLine: 4096 }));
  const [m] = txs(p) as [SmtpTx];
  assert.ok(m.events.includes('smtp.max_command_line_len_exceeded'));
  assert.ok(m.events.includes('smtp.truncated_line'));
  assert.equal(buf(m, 'smtp.mail_from'), '<a@b>');
  assert.ok(m.done, 'the end of data is still found after the long lines');
});

test('message lines longer than maxLine reach the decoder whole, in pieces (Suricata: data lines are never cut)', () => {
  const line = Array.from({ length: 16384 }, (_, i) => String.fromCharCode(0x61 + (i % 26))).join('');
  for (const chunk of [1 << 20, 1000, 4096, 4097]) {
    const p = run([['to_server', `MAIL FROM:<a@b>\r\nDATA\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain; name="J.txt"\r\n\r\n${line}\r\n.starts-with-dot\r\n--B--\r\n.\r\n`]], chunk, new SmtpParser({ maxLine: 4096 }));
    const [m] = txs(p) as [SmtpTx];
    assert.ok(m.done, `chunk ${chunk}`);
    assert.equal(multi(m, 'file.data')[0], `${line}\r\nstarts-with-dot`, `chunk ${chunk}`);
    assert.equal(m.events.includes('smtp.truncated_line'), false);
  }
});

test('file.data of an attachment is inspected once complete or fileInspectMinSize bytes (Suricata content-inspect-min-size)', () => {
  const p = new SmtpParser({ fileInspectMinSize: 100 });
  run([['to_server', 'MAIL FROM:<a@b>\r\nDATA\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Disposition: attachment; filename="f.bin"\r\n\r\n' + 'x'.repeat(50) + '\r\n']], 1 << 20, p);
  const [m] = txs(p) as [SmtpTx];
  assert.deepEqual(multi(m, 'file.data'), [], '50 bytes, file open: not yet');
  assert.deepEqual(multi(m, 'file.name'), ['f.bin']);
  run([['to_server', 'y'.repeat(60) + '\r\n']], 1 << 20, p);
  assert.equal(multi(m, 'file.data')[0]?.length, 112, 'past the minimum: inspected');
  const q = new SmtpParser({ fileInspectMinSize: 100 });
  run([['to_server', 'MAIL FROM:<a@b>\r\nDATA\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Disposition: attachment; filename="f.bin"\r\n\r\nsmall\r\n--B--\r\n']], 1 << 20, q);
  const [n] = txs(q) as [SmtpTx];
  assert.deepEqual(multi(n, 'file.data'), ['small'], 'complete (boundary): inspected');
});

test('limits: attachment bytes kept, recipients, transactions', () => {
  const p = run([['to_server', `HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<1>\r\nRCPT TO:<2>\r\nRCPT TO:<3>\r\nDATA\r\nContent-Type: a/b; name=f\r\n\r\n${'0123456789\r\n'.repeat(10)}.\r\n`]], 1 << 20,
    new SmtpParser({ fileDataLimit: 25, maxRecipients: 2 }));
  const [m] = txs(p) as [SmtpTx];
  assert.equal(multi(m, 'file.data')[0], '0123456789\r\n0123456789\r\n0');
  assert.deepEqual(multi(m, 'smtp.rcpt_to'), ['<1>', '<2>']);
  assert.equal(p.counters().limit_recipients, 1);
  assert.ok((p.counters().limit_file_data ?? 0) > 0);
  const q = new SmtpParser({ maxTransactions: 2 });
  run([['to_server', 'MAIL FROM:<a>\r\nDATA\r\n\r\n.\r\nMAIL FROM:<b>\r\nDATA\r\n\r\n.\r\nMAIL FROM:<c>\r\n']], 1 << 20, q);
  assert.equal(q.state, 'failed');
  assert.equal(q.failReason, 'too_many_transactions');
  assert.equal(txs(q).length, 2);
});

test('a gap stops parsing; garbage never throws; memory bounded after release', () => {
  const p = run([['to_server', 'HELO x\r\n']]);
  p.gap('to_server', 10);
  assert.equal(p.state, 'failed');
  assert.equal(p.failReason, 'gap');
  const q = new SmtpParser({ maxLine: 512 });
  let x = 99;
  const d = new Uint8Array(100_000);
  for (let i = 0; i < d.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    d[i] = x % 7 === 0 ? 0x0a : x >> 16;
  }
  for (let o = 0; o < d.length; o += 997) {
    const n = Math.min(997, d.length - o);
    q.feed('to_server', d, o, n);
    q.feed('to_client', d, o, n);
    for (const t of q.txs()) {
      smtpEve(t);
      emailEve(t);
      if (t.done) q.release(t.id);
    }
  }
  assert.ok(q.memory() < 2_000_000, `memory ${q.memory()}`);
});

test('probe: client patterns; server greeting naming SMTP; FTP greeting is not SMTP', () => {
  const pr = (dir: AppDirection, t: string): string => SMTP_PROTOCOL.probe(dir, b(t), t.length);
  assert.equal(pr('to_server', 'ehlo x\r\n'), 'match');
  assert.equal(pr('to_server', 'HE'), 'need-more');
  assert.equal(pr('to_server', 'USER x\r\n'), 'no');
  assert.equal(pr('to_client', '220 mx.example ESMTP Postfix\r\n'), 'match');
  assert.equal(pr('to_client', '220 mx.example ES'), 'need-more');
  assert.equal(pr('to_client', '220 ProFTPD Server ready\r\n'), 'no');
});

test('MIME header tokens: quoted, unquoted, RFC 2231 sections', () => {
  assert.equal(s(findHeaderToken(b('attachment; filename="a \\"b\\".txt"'), 'filename')), 'a \\"b\\".txt');
  assert.equal(s(findHeaderToken(b('text/plain; charset=utf-8; name = x.txt ;'), 'name')), null, 'Suricata keys include the space before =');
  assert.equal(s(findHeaderToken(b('text/plain; charset=utf-8; name=x.txt ;'), 'name')), 'x.txt');
  assert.equal(s(findHeaderToken(b('attachment; filename*0="ab"; filename*1="cd"'), 'filename')), 'abcd');
  assert.equal(findHeaderToken(b('attachment'), 'filename'), null);
});

test('EVE files of an SMTP tx: each attachment with state OPEN until its part ends, then CLOSED with its decoded size', () => {
  const p = new SmtpParser();
  run([['to_server', 'MAIL FROM:<a@b>\r\nDATA\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Disposition: attachment; filename="malware.exe"\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gd29ybGQ=\r\n']], 1 << 20, p);
  const [m] = txs(p) as [SmtpTx];
  assert.deepEqual(smtpFiles(m), [{ filename: 'malware.exe', gaps: false, state: 'OPEN', stored: false, size: 11, tx_id: 0 }]);
  assert.equal(SMTP_PROTOCOL.files, smtpFiles);
  run([['to_server', '--B--\r\n.\r\n']], 1 << 20, p);
  assert.deepEqual(smtpFiles(m), [{ filename: 'malware.exe', gaps: false, state: 'CLOSED', stored: false, size: 11, tx_id: 0 }]);
});
