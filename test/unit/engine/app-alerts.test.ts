/**
 * App-layer alerts through the whole engine (packets → flows → reassembly → app-layer → detect →
 * Detection → EVE alert): the protocol objects (tls, smtp + email, ftp, ftp_data, dns) and
 * app_proto_orig after STARTTLS, ftp-data flows from the control connection's announcement, and
 * ftpbounce with the flow's real addresses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Conv, feed, makeEngine, rules } from './helpers.js';
import { toAlertEvent } from '../../../src/engine/events.js';
import type { Detection } from '../../../src/engine/types.js';

const CLIENT_HELLO = new Uint8Array(readFileSync(new URL('../../fixtures/tls/client-hello.bin', import.meta.url)));
const ATTACKER = '198.51.100.7';
const HOST = '203.0.113.2';

const ev = (d: Detection): ReturnType<typeof toAlertEvent> => toAlertEvent(d, { action: 'allowed', count: 1, eventId: 'e' });

test('SMTP STARTTLS then TLS: alert tls fires with app_proto tls, app_proto_orig smtp and the tls object; smtp alerts carry smtp + email', () => {
  const rs = rules([
    'alert tls any any -> any any (msg:"sni"; flow:to_server; tls.sni; content:"mail.example.com"; sid:1;)',
    'alert smtp any any -> any any (msg:"helo"; flow:to_server; smtp.helo; content:"client.example"; sid:2;)',
  ].join('\n'));
  const { engine, detections } = makeEngine(rs);
  const c = new Conv(ATTACKER, HOST, 40001, 25).handshake()
    .s('220 mail.example.com ESMTP\r\n').c('EHLO client.example\r\n').s('250-mail\r\n250 STARTTLS\r\n')
    .c('STARTTLS\r\n').s('220 2.0.0 Ready to start TLS\r\n').c(CLIENT_HELLO);
  feed(engine, c.frames);
  const bySid = new Map(detections.map((d) => [d.signatureId, ev(d)]));
  const tls = bySid.get(1);
  assert.ok(tls, 'tls rule fired after STARTTLS');
  assert.equal(tls.app_proto, 'tls');
  assert.equal(tls.app_proto_orig, 'smtp');
  assert.equal(tls.tls?.sni, 'mail.example.com');
  assert.equal(tls.src_ip, ATTACKER);
  const smtp = bySid.get(2);
  assert.ok(smtp);
  assert.equal(smtp.app_proto, 'smtp');
  assert.equal(smtp.app_proto_orig, undefined);
  assert.equal(smtp.smtp?.helo, 'client.example');
  assert.equal(smtp.email, undefined, 'no mail on this tx: no email object');
  assert.equal(engine.stats().appLayer.protoChanges.tls, 1);
});

test('SMTP mail: the alert carries the smtp object and the email object next to it', () => {
  const rs = rules('alert smtp any any -> any any (msg:"subject"; flow:to_server; email.subject; content:"invoice"; sid:3;)');
  const { engine, detections } = makeEngine(rs);
  const c = new Conv(ATTACKER, HOST, 40006, 25).handshake()
    .s('220 mail ESMTP\r\n').c('HELO client.example\r\n').s('250 ok\r\n')
    .c('MAIL FROM:<a@example.org>\r\n').s('250 ok\r\n').c('RCPT TO:<b@example.net>\r\n').s('250 ok\r\n')
    .c('DATA\r\n').s('354 go\r\n')
    .c('From: a@example.org\r\nTo: b@example.net\r\nSubject: your invoice\r\n\r\nhello\r\n.\r\n').s('250 queued\r\n');
  feed(engine, c.frames);
  assert.equal(detections.length, 1);
  const e = ev(detections[0]!);
  assert.deepEqual(e.smtp, { helo: 'client.example', mail_from: '<a@example.org>', rcpt_to: ['<b@example.net>'] });
  assert.deepEqual(e.email, { from: 'a@example.org', to: ['b@example.net'], status: 'PARSE_DONE' });
});

test('FTP passive: the data connection is ftp-data (file.data alert with the ftp_data object); ftpbounce uses the flow client address', () => {
  const rs = rules([
    'alert ftp-data any any -> any any (msg:"evil file"; flow:to_client; file.data; content:"EVIL-PAYLOAD"; sid:10;)',
    'alert ftp any any -> any any (msg:"bounce"; flow:to_server; ftpbounce; sid:11;)',
    'alert ftp any any -> any any (msg:"retr"; flow:to_server; ftp.command; content:"RETR"; sid:12;)',
  ].join('\n'));
  const { engine, detections } = makeEngine(rs);
  const ctl = new Conv(ATTACKER, HOST, 40002, 21).handshake()
    .s('220 FTP ready\r\n').c('USER anonymous\r\n').s('230 ok\r\n')
    .c('PORT 198,51,100,7,200,10\r\n').s('200 ok\r\n')
    .c('PASV\r\n').s('227 Entering Passive Mode (203,0,113,2,195,80).\r\n')
    .c('RETR evil.bin\r\n').s('150 opening\r\n');
  feed(engine, ctl.frames);
  const data = new Conv(ATTACKER, HOST, 40003, 50000, { tsUs: ctl.tsUs + 1000 }).handshake().s('....EVIL-PAYLOAD....');
  feed(engine, data.frames);
  const sids = detections.map((d) => d.signatureId).sort((a, b) => a - b);
  assert.deepEqual(sids, [10, 12], 'PORT to the client itself is no bounce');
  const file = ev(detections.find((d) => d.signatureId === 10)!);
  assert.equal(file.app_proto, 'ftp-data');
  assert.deepEqual(file.ftp_data, { filename: 'evil.bin', command: 'RETR' });
  assert.equal(ev(detections.find((d) => d.signatureId === 12)!).ftp?.command, 'RETR');
  const st = engine.stats().appLayer;
  assert.equal(st.expectations.used, 1);
  assert.equal(st.expectations.active, 0);
  // a PORT naming another host than the connection's client is a bounce
  const bounce = new Conv(ATTACKER, HOST, 40004, 21, { tsUs: data.tsUs + 1000 }).handshake()
    .s('220 FTP ready\r\n').c('USER anonymous\r\n').s('230 ok\r\n').c('PORT 192,0,2,9,200,11\r\n');
  feed(engine, bounce.frames);
  assert.ok(detections.some((d) => d.signatureId === 11 && d.srcIp === ATTACKER));
});

test('DNS over TCP on port 53: alert dns fires with the dns object', () => {
  const rs = rules('alert dns any any -> any any (msg:"q"; dns.query; content:"evil.example"; sid:20;)');
  const { engine, detections } = makeEngine(rs);
  const name = [4, ...Buffer.from('evil'), 7, ...Buffer.from('example'), 0];
  const m = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...name, 0, 1, 0, 1];
  const q = Uint8Array.from([0, m.length, ...m]);
  feed(engine, new Conv(ATTACKER, HOST, 40005, 53).handshake().c(q).frames);
  assert.equal(detections.length, 1);
  const e = ev(detections[0]!);
  assert.equal(e.app_proto, 'dns');
  assert.deepEqual(e.dns, { version: 3, type: 'request', tx_id: 0, id: 0x1234, opcode: 0, queries: [{ rrname: 'evil.example', rrtype: 'A' }] });
});
