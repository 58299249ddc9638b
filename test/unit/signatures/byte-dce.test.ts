/**
 * byte_test / byte_jump `dce` (Suricata): on dce_stub_data the number is read in the DCERPC PDU's
 * byte order (drep), on the payload big endian; the option makes the rule a dcerpc rule and
 * refuses an explicit endianness or string.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppTxDetector } from '../../../src/engine/detect/app-tx.js';
import type { AppFeedContext } from '../../../src/engine/detect/types.js';
import { compileRuleset } from '../../../src/signatures/compile.js';
import { parseRule } from '../../../src/signatures/rules.js';
import type { Draft, Skip } from '../../../src/signatures/parsed.js';
import { defaultConfig } from '../../../src/config/types.js';
import { ascii, cat, dceBind, dceBindAck, dceRequest, le16 } from '../engine/app-layer/smb/build.js';

const vars = defaultConfig().databases.vars;
const SVCCTL = '367abb81-9844-35f1-ad32-98f038001003';

function parse(opts: string, proto = 'tcp'): Draft | Skip {
  return parseRule(`alert ${proto} $EXTERNAL_NET any -> $HOME_NET any (${opts} sid:1;)`, 't.rules', 1, { vars });
}

/** A big-endian (drep[0] = 0) DCERPC request PDU. */
function beRequest(callId: number, opnum: number, stub: Uint8Array): Uint8Array {
  const be16 = (n: number): Uint8Array => Uint8Array.of(n >> 8, n & 0xff);
  const be32 = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  const body = cat(be32(stub.length), be16(0), be16(opnum), stub);
  return cat(Uint8Array.of(5, 0, 0, 3, 0x00, 0, 0, 0), be16(16 + body.length), be16(0), be32(callId), body);
}

function fired(rules: string[], request: Uint8Array): number[] {
  const rs = compileRuleset([{ file: 't.rules', text: rules.join('\n') }], { vars });
  assert.equal(rs.signatures.length, rules.length, 'every rule loads');
  const d = new AppTxDetector(rs);
  const f = d.newFlow(135, 50000);
  const out: number[] = [];
  const ts = cat(dceBind(1, [{ uuid: SVCCTL, ver: 2, ctxid: 0 }]), request);
  const tc = dceBindAck(1, [0]);
  // the payload list of an app rule is matched on the direction's stream, as the engine hands it
  const ctx = (stream: Uint8Array): AppFeedContext => ({
    verify: { flowbits: new Set(), stream, streamLength: stream.length }, fire: (si) => out.push(rs.signatures[si]!.id),
  });
  d.data(f, 'to_server', ts, 0, ts.length, 0, 0, ctx(ts));
  d.data(f, 'to_client', tc, 0, tc.length, 0, 0, ctx(tc));
  return out.sort((a, b) => a - b);
}

const RULES = [
  'alert dcerpc any any -> any any (msg:"bt dce"; flow:to_server; dce_stub_data; content:"ABCD"; byte_test:2,=,0x0102,0,relative,dce; sid:1;)',
  'alert dcerpc any any -> any any (msg:"bj dce"; flow:to_server; dce_stub_data; content:"ABCD"; byte_jump:2,0,relative,dce; content:"Z"; within:1; sid:2;)',
  'alert dcerpc any any -> any any (msg:"bt little"; flow:to_server; dce_stub_data; content:"ABCD"; byte_test:2,=,0x0102,0,relative,little; sid:3;)',
];

test('dce on stub data reads little endian from a little-endian PDU', () => {
  // 02 01 → 0x0102 little endian; the jump of 0x0002 lands on "Z"
  const stub = cat(ascii('ABCD'), Uint8Array.of(0x02, 0x01), ascii('xx'));
  assert.deepEqual(fired(RULES, dceRequest(2, 0, 5, stub)), [1, 3]);
  const jump = cat(ascii('ABCD'), le16(2), ascii('..Z'));
  assert.deepEqual(fired(RULES, dceRequest(2, 0, 5, jump)), [2]);
});

test('dce on stub data reads big endian from a big-endian PDU', () => {
  const stub = cat(ascii('ABCD'), Uint8Array.of(0x01, 0x02), ascii('xx'));
  assert.deepEqual(fired(RULES, beRequest(2, 5, stub)), [1], 'dce follows drep; little stays little');
  const jump = cat(ascii('ABCD'), Uint8Array.of(0, 2), ascii('..Z'));
  assert.deepEqual(fired(RULES, beRequest(2, 5, jump)), [2]);
});

test('dce makes the rule a dcerpc rule; on the payload it reads big endian', () => {
  const d = parse('flow:to_server; content:"ABCD"; byte_test:2,=,0x0102,0,relative,dce;');
  assert.ok('sig' in d, 'loads');
  assert.equal(d.sig.app, 'dcerpc');
  const c = d.sig.conditions[1];
  assert.ok(c?.kind === 'byte_test' && c.dce === true);
  // the payload list has no DCE byte order: big endian whatever the PDU says
  const payloadRule = 'alert tcp any any -> any any (msg:"payload dce"; flow:to_server; content:"ABCD"; byte_test:2,=,0x0102,0,relative,dce; sid:4;)';
  // (a payload-only app rule is checked per tx: the bind and the request tx see the same stream)
  assert.deepEqual([...new Set(fired([payloadRule], dceRequest(2, 0, 5, cat(ascii('ABCD'), Uint8Array.of(0x01, 0x02)))))], [4]);
  assert.deepEqual(fired([payloadRule], dceRequest(2, 0, 5, cat(ascii('ABCD'), Uint8Array.of(0x02, 0x01)))), []);
});

test('dce with an endianness, string or from_beginning is refused with a reason; dce in an http rule is a protocol clash', () => {
  for (const o of ['byte_test:2,=,1,0,dce,little;', 'byte_test:2,=,1,0,dce,string,dec;', 'byte_jump:2,0,dce,big;', 'byte_jump:2,0,dce,from_beginning;']) {
    const r = parse(`content:"a"; ${o}`);
    assert.ok('reason' in r, o);
    assert.equal(r.reason, 'invalid rule', o);
    assert.match(r.message, /dce with/, o);
  }
  const h = parse('http.uri; content:"a"; byte_test:2,=,1,0,relative,dce;', 'http');
  assert.ok('reason' in h);
  assert.match(h.message, /dcerpc keyword in a http rule/);
});
