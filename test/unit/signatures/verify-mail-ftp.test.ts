/**
 * FTP, ftp-data and SMTP rules end to end inside src/signatures: rule text → compiled ruleset →
 * candidates and verification on transactions of the real parsers (the registry resolves the
 * buffers and keywords of these protocols, `file.data` by the rule's protocol).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { compileRuleset } from '../../../src/signatures/compile.js';
import { parseRule } from '../../../src/signatures/rules.js';
import { appCandidates, verifyAppSignature } from '../../../src/signatures/verify-app.js';
import { FTP_DATA_PROTOCOL, FTP_PROTOCOL, FtpParser, createFtpDataParser } from '../../../src/engine/app-layer/ftp/index.js';
import { SMTP_PROTOCOL, smtpFiles } from '../../../src/engine/app-layer/smtp/index.js';
import { defaultConfig } from '../../../src/config/types.js';
import type { AppDirection, AppParser, AppParserContext, AppProtocol, AppTx } from '../../../src/engine/app-layer/types.js';
import type { Ruleset } from '../../../src/signatures/types.js';

const vars = defaultConfig().databases.vars;
const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function compile(rules: string[]): Ruleset {
  const rs = compileRuleset([{ file: 't.rules', text: rules.join('\n') }], { vars });
  assert.equal(rs.stats.loaded, rules.length, JSON.stringify(rs.stats.problems));
  return rs;
}

function feed(p: AppParser, steps: [AppDirection, string][]): AppTx[] {
  for (const [dir, t] of steps) p.feed(dir, b(t), 0, t.length, 0);
  return [...p.txs()];
}

/** sids firing on any tx in either direction, once per (sid, tx). */
function fired(rs: Ruleset, proto: AppProtocol, txs: AppTx[], serverPort: number): number[] {
  const out = new Set<number>();
  for (const tx of txs) {
    for (const dir of ['to_server', 'to_client'] as const) {
      const cand: number[] = [];
      appCandidates(rs, [proto.name, ...proto.ruleProtocols], tx, dir, cand);
      for (const i of cand) if (verifyAppSignature(rs.signatures[i]!, tx, dir, { flowbits: new Set(), serverPort, appProto: proto.name })) out.add(rs.signatures[i]!.id);
    }
  }
  return [...out].sort((x, y) => x - y);
}

test('FTP rules: ftp.command, ftp.command_data, ftp.reply, ftp.completion_code, ftp.dynamic_port/mode/reply_received, ftpbounce in an alert tcp rule', () => {
  const rs = compile([
    'alert ftp any any -> any any (msg:"c"; flow:to_server; ftp.command; content:"PORT"; sid:1;)',
    'alert ftp any any -> any any (msg:"d"; ftp.command_data; content:"anonymous"; sid:2;)',
    'alert ftp any any -> any any (msg:"r"; ftp.reply; content:"Transfer complete."; startswith; endswith; sid:3;)',
    'alert ftp any any -> any any (msg:"cc"; ftp.completion_code; content:"150"; sid:4;)',
    'alert ftp any any -> any any (msg:"p"; ftp.dynamic_port:80; ftp.mode:active; ftp.reply_received:yes; sid:5;)',
    'alert tcp any any -> any 21 (msg:"GPL FTP PORT bounce attempt"; flow:to_server,established; content:"PORT"; nocase; ftpbounce; sid:6;)',
    'alert ftp any any -> any any (msg:"miss"; ftp.command; content:"DELE"; sid:7;)',
    'alert ftp any any -> any any (msg:"passive"; ftp.mode:passive; sid:8;)',
  ]);
  const steps: [AppDirection, string][] = [
    ['to_client', '220 (vsFTPd 3.0.3)\r\n'], ['to_server', 'USER anonymous\r\n'], ['to_client', '331 pw\r\n'],
    ['to_server', 'PORT 203,0,113,9,0,80\r\n'], ['to_client', '200 PORT command successful.\r\n'],
    ['to_server', 'RETR x\r\n'], ['to_client', '150 Opening\r\n226 Transfer complete.\r\n'],
  ];
  const bounce = feed(new FtpParser({ serverPort: 21, clientPort: 40000, clientAddr: '198.51.100.10' }), steps);
  // the payload content of rule 6 is checked on the stream by the detect stage; here its app part
  const ids = fired(rs, FTP_PROTOCOL, bounce, 21);
  assert.deepEqual(ids.filter((x) => x !== 6), [1, 2, 3, 4, 5]);
  assert.equal(rs.signatures.find((s) => s.id === 6)?.app, 'ftp', 'ftpbounce makes the tcp rule an ftp rule (Suricata sets its app protocol)');
  // the same session from the announced host itself: no bounce
  const own = feed(new FtpParser({ serverPort: 21, clientPort: 40000, clientAddr: '203.0.113.9' }), steps);
  const bounceSig = rs.signatures.findIndex((s) => s.id === 6);
  const portTx = own.find((t) => t.buffer('ftp.command', 'to_server') !== null && Buffer.from(t.buffer('ftp.command', 'to_server')!).toString() === 'PORT')!;
  assert.equal(verifyAppSignature(rs.signatures[bounceSig]!, portTx, 'to_server', { flowbits: new Set(), serverPort: 21, appProto: 'ftp', stream: b('PORT 203,0,113,9,0,80\r\n') }), false);
});

test('ftp-data rules: ftpdata_command and file_data by direction (passive download)', () => {
  const rs = compile([
    'alert ftp-data any any -> any any (msg:"retr"; flow:established,to_client; ftpdata_command:retr; sid:10;)',
    'alert ftp-data any any -> any any (msg:"fd tc"; flow:to_client; file_data; content:"root"; sid:20;)',
    'alert ftp-data any any -> any any (msg:"fd ts"; flow:to_server; file_data; content:"root"; sid:30;)',
    'alert ftp-data any any -> any any (msg:"name"; file.name; content:"passwd"; sid:50;)',
  ]);
  const ctl = new FtpParser();
  feed(ctl, [['to_server', 'PASV\r\n'], ['to_client', '227 Entering Passive Mode (198,51,100,1,10,0)\r\n'], ['to_server', 'RETR /etc/passwd\r\n']]);
  const [e] = ctl.takeExpectations();
  assert.ok(e);
  const d = createFtpDataParser(e);
  d.feed('to_client', b('root:x:0:0:root:/root:/bin/bash\n'), 0, 32);
  // sid 40 (no flow keyword) gets the loader's default direction (to_server) where Suricata
  // inspects both: a loader limitation for direction-less rules, not of the parser.
  assert.deepEqual(fired(rs, FTP_DATA_PROTOCOL, [...d.txs()], e.port), [10, 20, 50]);
});

test('legacy filename/fileext: a nocase content on file.name (fileext: ".ext" with endswith), then no sticky buffer', () => {
  const rs = compile([
    'alert ftp-data any any -> any any (flow:to_client; filename:"PASSWD"; sid:1;)',
    'alert ftp-data any any -> any any (flow:to_client; fileext:"txt"; sid:2;)',
    'alert ftp-data any any -> any any (flow:to_client; fileext:txt; sid:3;)',
    'alert ftp-data any any -> any any (flow:to_client; fileext:"TXT"; sid:4;)',
    'alert ftp-data any any -> any any (flow:to_client; fileext:"xt"; sid:5;)',
    'alert ftp-data any any -> any any (flow:to_client; filename:!"secret"; sid:6;)',
    'alert ftp-data any any -> any any (flow:to_client; filename:!"passwd"; sid:7;)',
  ]);
  const ctl = new FtpParser();
  feed(ctl, [['to_server', 'PASV\r\n'], ['to_client', '227 Entering Passive Mode (198,51,100,1,10,0)\r\n'], ['to_server', 'RETR /etc/passwd.txt\r\n']]);
  const [e] = ctl.takeExpectations();
  assert.ok(e);
  const d = createFtpDataParser(e);
  d.feed('to_client', b('root:x:0:0\n'), 0, 11);
  assert.deepEqual(fired(rs, FTP_DATA_PROTOCOL, [...d.txs()], e.port), [1, 2, 3, 4, 6]);
  // after filename the next content is a payload content again; without a value the rule is refused
  const after = parseRule('alert ftp-data any any -> any any (filename:"a"; content:"x"; sid:8;)', 't.rules', 1, { vars: {} });
  assert.ok('sig' in after);
  assert.equal(after.sig.conditions.length, 1, 'the content after filename is a payload content');
  const bare = parseRule('alert ftp-data any any -> any any (filename; sid:9;)', 't.rules', 1, { vars: {} });
  assert.ok('reason' in bare && bare.reason === 'invalid rule');
});

test('SMTP rules: smtp.helo/mail_from/rcpt_to, email.*, file_data of an attachment (to_server), misses', () => {
  const rs = compile([
    'alert smtp any any -> any any (msg:"helo"; smtp.helo; content:"GP"; sid:1;)',
    'alert smtp any any -> any any (msg:"from"; smtp.mail_from; content:"<gurpartap@patriots.in>"; sid:2;)',
    'alert smtp any any -> any any (msg:"rcpt"; smtp.rcpt_to; content:"<raj_deol2002in@yahoo.co.in>"; sid:3;)',
    'alert smtp any any -> any any (msg:"subj"; email.subject; content:"SECOND-MAIL-MARKER"; startswith; endswith; sid:4;)',
    'alert smtp any any -> any any (msg:"url"; email.url; content:"google.com"; startswith; endswith; bsize:10; sid:5;)',
    'alert smtp any any -> any any (msg:"fd"; flow:to_server; file_data; content:"EICAR-MIME-BYPASS-TEST-PAYLOAD"; nocase; sid:6;)',
    'alert smtp any any -> any any (msg:"fn"; file.name; content:"malware.exe"; nocase; sid:7;)',
    'alert smtp any any -> any any (msg:"received"; email.received; content:"relay1abc"; sid:8;)',
    'alert smtp any any -> any any (msg:"no"; smtp.helo; content:"not there"; sid:10;)',
    'alert smtp any any -> any any (msg:"no rcpt"; smtp.rcpt_to; content:"<gurpartap@patriots.in>"; sid:13;)',
  ]);
  const att = Buffer.from('EICAR-MIME-BYPASS-TEST-PAYLOAD').toString('base64');
  const txs = feed(SMTP_PROTOCOL.create({ serverPort: 25, clientPort: 40000 }), [
    ['to_client', '220 mx ESMTP\r\n'], ['to_server', 'EHLO GP\r\n'], ['to_client', '250 ok\r\n'],
    ['to_server', 'MAIL FROM: <gurpartap@patriots.in>\r\n'], ['to_client', '250 ok\r\n'],
    ['to_server', 'RCPT TO: <raj_deol2002in@yahoo.co.in>\r\n'], ['to_client', '250 ok\r\n'],
    ['to_server', 'DATA\r\n'], ['to_client', '354 go\r\n'],
    ['to_server', 'Received: from a by b id relay1abc; Thu, 10 Apr 2025\r\nSubject: SECOND-MAIL-MARKER\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n' +
      '--B\r\nContent-Type: text/plain\r\n\r\nsee http://google.com now\r\n' +
      `--B\r\nContent-Disposition: attachment; filename="malware.exe"\r\nContent-Transfer-Encoding: base64\r\n\r\n${att}\r\n--B--\r\n.\r\n`],
    ['to_client', '250 queued\r\n'],
  ]);
  assert.deepEqual(fired(rs, SMTP_PROTOCOL, txs, 25), [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('SMTP filemd5/filesha256: list read relative to the rules file, closed attachments only, negation, unreadable or invalid lists skip the rule', () => {
  const att = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
  const md5 = createHash('md5').update(att, 'latin1').digest('hex');
  const sha256 = createHash('sha256').update(att, 'latin1').digest('hex');
  const files: Record<string, string> = {
    '/r/bad.md5': `# list\n${md5}\n`, '/r/other.md5': `${'0'.repeat(32)}\n`, '/abs/s.sha256': `${sha256}\n`, '/r/crlf.md5': `${md5}\r\n`,
  };
  const read = (p: string): string | null => files[p] ?? null;
  const rs = compileRuleset([{ file: '/r/t.rules', text: [
    'alert smtp any any -> any any (msg:"md5"; filemd5:bad.md5; sid:1;)',
    'alert smtp any any -> any any (msg:"not in other"; filemd5:!other.md5; sid:2;)',
    'alert smtp any any -> any any (msg:"in other"; filemd5:other.md5; sid:3;)',
    'alert smtp any any -> any any (msg:"sha256"; filesha256:/abs/s.sha256; sid:4;)',
    'alert smtp any any -> any any (msg:"missing"; filemd5:nothere.md5; sid:5;)',
    'alert smtp any any -> any any (msg:"crlf"; filemd5:crlf.md5; sid:6;)',
  ].join('\n') }], { vars, datasets: { read } });
  assert.equal(rs.stats.loaded, 4);
  assert.deepEqual(Object.keys(rs.stats.skipped).sort(), ['file hash list invalid', 'file hash list unreadable']);
  assert.deepEqual(rs.app?.fileHashes, { smtp: ['md5', 'sha256'] });
  const mail = (end: string): [AppDirection, string][] => [
    ['to_client', '220 mx ESMTP\r\n'], ['to_server', 'EHLO x\r\n'], ['to_client', '250 ok\r\n'],
    ['to_server', 'MAIL FROM: <a@b>\r\n'], ['to_client', '250 ok\r\n'], ['to_server', 'DATA\r\n'], ['to_client', '354 go\r\n'],
    ['to_server', 'Content-Type: multipart/mixed; boundary=B\r\n\r\n' +
      `--B\r\nContent-Disposition: attachment; filename="e.com"\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(att, 'latin1').toString('base64')}\r\n${end}`],
  ];
  const ctx: AppParserContext = { serverPort: 25, clientPort: 40000, fileHashes: ['md5', 'sha256'] };
  // the part is still open: no digest yet, nothing matches (Suricata: file state CLOSED only)
  assert.deepEqual(fired(rs, SMTP_PROTOCOL, feed(SMTP_PROTOCOL.create(ctx), mail('')), 25), []);
  const done = feed(SMTP_PROTOCOL.create(ctx), mail('--B--\r\n.\r\n'));
  assert.deepEqual(fired(rs, SMTP_PROTOCOL, done, 25), [1, 2, 4]);
  assert.equal(smtpFiles(done[0]!)[0]?.md5, md5, 'EVE files[].md5 once computed');
  // without fileHashes in the context the parser computes no digest and the keywords cannot match
  const plain = feed(SMTP_PROTOCOL.create({ serverPort: 25, clientPort: 40000 }), mail('--B--\r\n.\r\n'));
  assert.deepEqual(fired(rs, SMTP_PROTOCOL, plain, 25), []);
  assert.equal(smtpFiles(plain[0]!)[0]?.md5, undefined);
});

test('file hash keywords in a rule not restricted to smtp (alert tcp) are skipped: Suricata would hash every protocol\'s files', () => {
  const rs = compileRuleset([{ file: '/r/t.rules', text: 'alert tcp any any -> any any (msg:"md5"; filemd5:a.md5; sid:1;)' }], { vars, datasets: { read: () => `${'0'.repeat(32)}\n` } });
  assert.equal(rs.stats.loaded, 0);
  assert.deepEqual(Object.keys(rs.stats.skipped), ['file hash keyword outside an smtp rule']);
});

test('file hash keywords without a reader (no list can be read) skip the rule', () => {
  const rs = compileRuleset([{ file: 't.rules', text: 'alert smtp any any -> any any (msg:"md5"; filemd5:x.md5; sid:1;)' }], { vars });
  assert.equal(rs.stats.loaded, 0);
  assert.deepEqual(Object.keys(rs.stats.skipped), ['file hash list unreadable']);
});
