/** `frame:` keyword: short and long names, protocol checks, what Suricata refuses, skip reasons. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRule } from '../../../../src/signatures/rules.js';
import { resolveFrame, FrameError } from '../../../../src/signatures/keywords/frame.js';
import { Unsupported } from '../../../../src/signatures/options.js';
import { defaultConfig } from '../../../../src/config/types.js';

const vars = defaultConfig().databases.vars;
const rule = (text: string) => parseRule(text, 't.rules', 1, { vars });

test('resolveFrame: long names name the protocol, short ones take the rule protocol', () => {
  assert.deepEqual(resolveFrame('smb2.pdu', 'smb'), { protocol: 'smb', type: 'smb2.pdu' });
  assert.deepEqual(resolveFrame('smb.smb2.hdr', undefined), { protocol: 'smb', type: 'smb2.hdr' });
  assert.deepEqual(resolveFrame('tls.pdu', 'tls'), { protocol: 'tls', type: 'pdu' });
  assert.deepEqual(resolveFrame('ssh.record.data', 'ssh'), { protocol: 'ssh', type: 'record.data' });
  assert.deepEqual(resolveFrame('pdu', 'dcerpc'), { protocol: 'dcerpc', type: 'pdu' });
  assert.throws(() => resolveFrame('smb2.pdu', undefined), FrameError, 'shorthand without a rule protocol');
  assert.throws(() => resolveFrame('tls.pdu', 'smb'), FrameError, 'protocol mismatch');
  assert.throws(() => resolveFrame('smb1.pdu', 'tls'), Unsupported, 'no such tls frame');
  assert.throws(() => resolveFrame('krb5.pdu', undefined), Unsupported, 'a protocol bulwark does not parse');
});

test('frame rules load as frame signatures of the protocol, both directions without flow', () => {
  const r = rule('alert smb any any -> any any (frame:smb2.pdu; content:"|FE|SMB"; startswith; sid:3;)');
  assert.ok(!('reason' in r));
  assert.equal(r.sig.frame, 'smb2.pdu');
  assert.equal(r.sig.app, 'smb');
  assert.equal(r.sig.buffers?.[0]?.buffer, 'frame:smb2.pdu');
  assert.equal(r.bothDirections, true);
  const t = rule('alert tcp any any -> any 445 (flow:to_server; frame:smb.nbss.hdr; content:"|00|"; depth:1; sid:4;)');
  assert.ok(!('reason' in t));
  assert.equal(t.sig.app, 'smb');
  assert.equal(t.sig.frame, 'nbss.hdr');
});

test('what Suricata refuses is skipped as invalid; what bulwark lacks is skipped with its reason', () => {
  const cases: [string, string][] = [
    ['alert tls any any -> any any (content:"abc"; frame:tls.pdu; content:"a"; sid:5;)', 'invalid rule'],
    ['alert tls any any -> any any (tls.version:1.0; frame:tls.pdu; content:"a"; sid:6;)', 'invalid rule'],
    ['alert tls any any -> any any (frame:smb1.pdu; content:"a"; sid:7;)', 'frame tls.smb1.pdu'],
    ['alert smb any any -> any any (frame:tls.pdu; content:"a"; sid:8;)', 'invalid rule'],
    ['alert tcp any any -> any any (frame:pdu; content:"a"; sid:9;)', 'invalid rule'],
    ['alert tcp-pkt any any -> any any (frame:tls.pdu; content:"a"; sid:10;)', 'invalid rule'],
    ['alert http any any -> any any (frame:http1.stream; content:"a"; sid:11;)', 'frame stream'],
  ];
  for (const [text, reason] of cases) {
    const r = rule(text);
    assert.ok('reason' in r, text);
    assert.equal(r.reason, reason, text);
  }
});
