/**
 * SMB and DCERPC rules through the real rule loader (registry) and the detect stage's app-tx
 * path: `alert smb` with the SMB buffers and keywords, dcerpc keywords in smb/tcp/dcerpc rules,
 * Suricata's refusals, and which signatures fire on built SMB2 / DCERPC-over-TCP sessions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppTxDetector } from '../../../../../src/engine/detect/app-tx.js';
import type { AppFeedContext } from '../../../../../src/engine/detect/types.js';
import { compileRuleset } from '../../../../../src/signatures/compile.js';
import { defaultConfig } from '../../../../../src/config/types.js';
import type { AppDirection } from '../../../../../src/engine/app-layer/types.js';
import {
  ascii, dceBind, dceBindAck, dceRequest, dceResponse, nbss, ntlmAuth, smb2Create, smb2CreateResp, smb2Hdr, smb2Ioctl, smb2IoctlResp,
  smb2Negotiate, smb2NegotiateResp, smb2Read, smb2ReadResp, smb2SessionSetup, smb2TreeConnect, smb2TreeConnectResp, smb2Write,
} from './build.js';

const SRVSVC = '4b324fc8-1670-01d3-1278-5a47bf6ee188';
const FID = Uint8Array.from({ length: 16 }, (_, i) => i + 1);

const RULES = [
  `alert smb any any -> any any (msg:"pipe"; smb.named_pipe; content:"IPC$"; endswith; sid:1;)`,
  `alert smb any any -> any any (msg:"legacy pipe"; flow:established; smb_named_pipe; content:"IPC$"; sid:2;)`,
  `alert smb any any -> any any (msg:"share"; smb.share; content:"data"; sid:3;)`,
  `alert smb any any -> any any (msg:"user"; smb.ntlmssp_user; content:"Administrator"; sid:4;)`,
  `alert smb any any -> any any (msg:"domain"; smb.ntlmssp_domain; content:"CONTOSO"; sid:5;)`,
  `alert smb any any -> any any (msg:"v2"; smb.version:2; sid:6;)`,
  `alert smb any any -> any any (msg:"v1"; smb.version:1; sid:7;)`,
  `alert smb any any -> any any (msg:"smb iface"; dcerpc.iface:${SRVSVC}; sid:8;)`,
  `alert tcp any any -> any any (msg:"tcp iface opnum"; flow:to_server; dce_iface:${SRVSVC}; dce_opnum:15; sid:9;)`,
  `alert dcerpc any any -> any any (msg:"dcerpc stub"; flow:to_server; dcerpc.stub_data; content:"SERVER"; sid:10;)`,
  `alert smb any any -> any any (msg:"smb stub"; flow:to_server; dcerpc.iface:${SRVSVC}; dcerpc.stub_data; content:"SERVER"; sid:11;)`,
  `alert tcp any any -> any any (msg:"wrong opnum"; dce_iface:${SRVSVC}; dce_opnum:16; sid:12;)`,
  `alert smb any any -> any any (msg:"bad version"; smb.version:3; sid:13;)`,
  `alert smb any any -> any any (msg:"bad uuid"; dcerpc.iface:1234; sid:14;)`,
].join('\n');

const rs = compileRuleset([{ file: 'smb.rules', text: RULES }], { vars: defaultConfig().databases.vars });

function session(): [AppDirection, Uint8Array][] {
  return [
    ['to_server', nbss(smb2Negotiate(0, [0x0202, 0x0311]))],
    ['to_client', nbss(smb2NegotiateResp(0, 0x0311))],
    ['to_server', nbss(smb2SessionSetup(1, ntlmAuth('Administrator', 'CONTOSO', 'WS01')))],
    ['to_client', nbss(smb2Hdr({ cmd: 1, msgId: 1, response: true, sessionId: 5 }))],
    ['to_server', nbss(smb2TreeConnect(2, '\\\\10.0.0.1\\IPC$'))],
    ['to_client', nbss(smb2TreeConnectResp(2, 1, 2))],
    ['to_server', nbss(smb2TreeConnect(3, '\\\\10.0.0.1\\data'))],
    ['to_client', nbss(smb2TreeConnectResp(3, 2, 1))],
    ['to_server', nbss(smb2Create(4, 1, 'srvsvc'))],
    ['to_client', nbss(smb2CreateResp(4, 1, FID))],
    ['to_server', nbss(smb2Write(5, 1, FID, dceBind(2, [{ uuid: SRVSVC, ver: 3, ctxid: 0 }])))],
    ['to_client', nbss(smb2Hdr({ cmd: 9, msgId: 5, response: true, treeId: 1 }))],
    ['to_server', nbss(smb2Read(6, 1, FID, 1024))],
    ['to_client', nbss(smb2ReadResp(6, 1, dceBindAck(2, [0])))],
    ['to_server', nbss(smb2Ioctl(7, 1, FID, dceRequest(3, 0, 15, ascii('\\\\SERVER\x00'))))],
    ['to_client', nbss(smb2IoctlResp(7, 1, FID, dceResponse(3, ascii('shares'))))],
  ];
}

function runFlow(steps: [AppDirection, Uint8Array][], serverPort: number): Set<number> {
  const d = new AppTxDetector(rs);
  const f = d.newFlow(serverPort, 50000);
  const fired = new Set<number>();
  const ctx: AppFeedContext = { verify: { flowbits: new Set() }, fire: (si) => fired.add(rs.signatures[si]!.id) };
  const at = { to_server: 0, to_client: 0 };
  for (const [dir, m] of steps) {
    d.data(f, dir, m, 0, m.length, at[dir], 0, ctx);
    at[dir] += m.length;
  }
  d.end(f, 'to_server', 0, ctx);
  d.end(f, 'to_client', 0, ctx);
  return fired;
}

test('SMB and DCERPC rules load with Suricata semantics; invalid values are skipped with a reason', () => {
  const loaded = new Set(rs.signatures.map((s) => s.id));
  for (const sid of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) assert.ok(loaded.has(sid), `sid ${sid} loads`);
  assert.ok(!loaded.has(13) && !loaded.has(14));
  const app = (sid: number): string | undefined => rs.signatures.find((s) => s.id === sid)?.app;
  assert.equal(app(1), 'smb');
  assert.equal(app(8), 'smb', 'dcerpc keyword in an smb rule keeps the smb protocol');
  assert.equal(app(9), 'dcerpc', 'dcerpc keywords make a tcp rule a dcerpc rule');
  assert.equal(app(10), 'dcerpc');
});

test('SMB2 session on port 445: the expected SMB and DCERPC-over-SMB signatures fire, the others do not', () => {
  const fired = runFlow(session(), 445);
  for (const sid of [1, 2, 3, 4, 5, 6, 8, 9, 10, 11]) assert.ok(fired.has(sid), `sid ${sid} fired (${[...fired].join(',')})`);
  for (const sid of [7, 12]) assert.ok(!fired.has(sid), `sid ${sid} must not fire`);
});

test('SMB on a non-standard port is detected by content; DCERPC over TCP runs dcerpc rules but not smb ones', () => {
  assert.ok(runFlow(session(), 8445).has(1));
  const tcp: [AppDirection, Uint8Array][] = [
    ['to_server', dceBind(1, [{ uuid: SRVSVC, ver: 3, ctxid: 0 }])],
    ['to_client', dceBindAck(1, [0])],
    ['to_server', dceRequest(2, 0, 15, ascii('\\\\SERVER\x00'))],
    ['to_client', dceResponse(2, ascii('shares'))],
  ];
  const fired = runFlow(tcp, 135);
  for (const sid of [9, 10]) assert.ok(fired.has(sid), `sid ${sid} fired (${[...fired].join(',')})`);
  for (const sid of [1, 6, 8, 11, 12]) assert.ok(!fired.has(sid), `sid ${sid} must not fire on DCERPC over TCP`);
});
