/**
 * The probing tables of app-held.ts (probeOrder, ProbeEntry) and the held-bytes helpers: the
 * order and the protocols asked are the registry's, as AppTxDetector.probe asked them before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { APP_PROTOCOLS } from '../../../../src/engine/app-layer/registry.js';
import { PROTO_BIT, dropKeysUpTo, hasPort, heldBytes, probeOrder, protoName } from '../../../../src/engine/detect/app-held.js';
import { AppTxDetector } from '../../../../src/engine/detect/app-tx.js';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { defaultConfig } from '../../../../src/config/types.js';

test('a fresh flow probes the registry in order, without the upgrade-only protocols', () => {
  const o = probeOrder(null);
  assert.equal(o.expected, null);
  assert.deepEqual(o.entries.map((e) => e.proto.name), APP_PROTOCOLS.filter((p) => p.upgradeOnly !== true).map((p) => p.name));
  for (const e of o.entries) {
    assert.equal(e.bit, PROTO_BIT.get(e.proto));
    assert.equal(e.portsOnly, e.proto.probePortsOnly === true);
    assert.equal(e.mayRevise, e.proto.probeMayRevise === true);
    assert.deepEqual(e.dirs, e.proto.probeDirections.map((d) => (d === 'to_server' ? 0 : 1)));
  }
  // an unknown announced protocol probes as a fresh flow
  assert.equal(probeOrder('no-such-proto'), o);
});

test('an announced protocol is probed first, upgrade-only ones only when announced', () => {
  const ws = APP_PROTOCOLS.find((p) => p.upgradeOnly === true)!;
  const o = probeOrder(ws.name);
  assert.equal(o.expected, ws);
  assert.deepEqual(o.entries.map((e) => e.proto.name), [ws.name, ...APP_PROTOCOLS.filter((p) => p.upgradeOnly !== true).map((p) => p.name)]);
  const tls = probeOrder('tls');
  assert.equal(tls.entries[0]!.proto.name, 'tls');
  assert.equal(tls.entries.length, o.entries.length - 1);
  assert.equal(probeOrder('tls'), tls);
});

test('heldBytes joins several chunks once and keeps them joined; hasPort is includes', () => {
  const d = new AppTxDetector(compileRuleset([], { vars: defaultConfig().databases.vars }));
  const f = d.newFlow(80, 40000);
  f.held[1] = [Uint8Array.of(1, 2), Uint8Array.of(3)];
  f.heldLen[1] = 3;
  const b = heldBytes(f, 1);
  assert.deepEqual([...b], [1, 2, 3]);
  assert.equal(f.held[1].length, 1);
  assert.equal(heldBytes(f, 1), b);
  assert.equal(hasPort([53, 5353], 5353), true);
  assert.equal(hasPort([53], 80), false);
});

test('flows per protocol read as a record in detection order; counters start at zero', () => {
  const rs = compileRuleset(
    [{ file: 't.rules', text: 'alert http any any -> any any (msg:"uri"; flow:to_server; http.uri; content:"/admin"; sid:1;)' }],
    { vars: defaultConfig().databases.vars },
  );
  const d = new AppTxDetector(rs);
  const c = { verify: { flowbits: new Set<string>() }, fire: (): void => undefined };
  assert.deepEqual(d.counters.flowsByProto, {});
  assert.equal(d.counters.alerts, 0);
  assert.equal(d.counters.txInspected, 0);
  assert.deepEqual(d.counters.limits, { flow: 0, global: 0 });
  assert.deepEqual(d.counters.frames, { inspected: 0, dropped: 0, unavailable: 0 });
  const ssh = Buffer.from('SSH-2.0-OpenSSH_9.0\r\n', 'latin1');
  const http = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1');
  d.data(d.newFlow(22, 40000), 'to_client', ssh, 0, ssh.length, 0, 0, c);
  d.data(d.newFlow(80, 40001), 'to_server', http, 0, http.length, 0, 0, c);
  d.data(d.newFlow(80, 40002), 'to_server', http, 0, http.length, 0, 0, c);
  assert.deepEqual(Object.entries(d.counters.flowsByProto), [['ssh', 1], ['http', 2]]);
});

test('protoName is the registered protocol name; dropKeysUpTo removes the keys up to max only', () => {
  for (const p of APP_PROTOCOLS) assert.equal(protoName(p), p.name);
  const m = new Map<number, string>([[0, 'a'], [3, 'b'], [4, 'c'], [9, 'd']]);
  dropKeysUpTo(m, 3);
  assert.deepEqual([...m.keys()], [4, 9]);
  const s = new Set([7, 1, 2, 6]);
  dropKeysUpTo(s, 2 * 3 + 1);
  assert.deepEqual([...s], []);
  const t = new Set([8, 9, 10]);
  dropKeysUpTo(t, 2 * 3 + 1);
  assert.deepEqual([...t], [8, 9, 10]);
});
