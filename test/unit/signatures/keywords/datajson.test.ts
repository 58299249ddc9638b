/**
 * JSON datasets (Suricata 8 `dataset … format json|ndjson, context_key, value_key, array_key,
 * remove_key`; the datajson suricata-verify tests) and the `ip.src` / `ip.dst` buffers: options,
 * file formats, lookups through the real HTTP parser, and the object an alert writes under
 * `alert.context`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { parseRule } from '../../../../src/signatures/rules.js';
import { verifyAppSignature } from '../../../../src/signatures/verify-app.js';
import { httpProtocol } from '../../../../src/engine/app-layer/http/protocol.js';
import { defaultConfig } from '../../../../src/config/types.js';
import { datasetKey, parseDataset } from '../../../../src/signatures/keywords/dataset.js';
import { parseDatajsonFile } from '../../../../src/signatures/keywords/datajson.js';
import { DatasetStore } from '../../../../src/signatures/keywords/dataset-store.js';
import { toAlertEvent } from '../../../../src/engine/events.js';
import type { AppTx } from '../../../../src/engine/app-layer/types.js';
import type { Ruleset } from '../../../../src/signatures/types.js';
import type { Detection } from '../../../../src/engine/types.js';

const vars = defaultConfig().databases.vars;
const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const paths = { rulesDir: '/rules', dataDir: '/data' };

function compile(rules: string[], files: Record<string, string>): Ruleset {
  return compileRuleset([{ file: '/rules/t.rules', text: rules.join('\n') }], { vars, datasets: { read: (p) => files[p] ?? null, dir: '/data' } });
}

function txWithHost(host: string): AppTx {
  const p = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
  const req = `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
  p.feed('to_server', b(req), 0, req.length, 0);
  const t = [...p.txs()][0];
  assert.ok(t);
  return t;
}

const CLIENT = Uint8Array.of(10, 16, 1, 11);
const SERVER = Uint8Array.of(192, 0, 2, 1);
const ip = (client: boolean): Uint8Array => (client ? CLIENT : SERVER);

/** Sids firing on the tx, with the context each alert would carry (begin/commit as the engine does). */
function run(rs: Ruleset, store: DatasetStore, tx: AppTx): [number, Record<string, unknown> | null][] {
  const out: [number, Record<string, unknown> | null][] = [];
  for (const s of rs.signatures) {
    if (!verifyAppSignature(s, tx, s.direction, { flowbits: new Set(), serverPort: 80, datasets: store, ip })) continue;
    store.commit();
    const c = store.takeContext();
    out.push([s.id, c === null ? null : Object.fromEntries(c.map(([k, v]) => [k, JSON.parse(v) as unknown]))]);
  }
  return out;
}

test('options: format, keys, remove_key without a value; what is refused', () => {
  const s = parseDataset('isset,src_ip,type ip,load src.lst,format json, context_key src_ip, value_key ip, remove_key', paths);
  assert.deepEqual(s.json, { format: 'json', contextKey: 'src_ip', valueKey: 'ip', removeKey: true });
  assert.equal(s.load, '/rules/src.lst');
  assert.equal(parseDataset('isset,h,type string,load h.lst,format jsonline,context_key c,value_key host', paths).json?.format, 'ndjson');
  assert.equal(parseDataset('isset,h,type string,load h.lst,format csv', paths).json, undefined);
  const rule = (opts: string): string => {
    const r = parseRule(`alert http any any -> any any (http.host; dataset:${opts}; sid:1;)`, '/rules/t.rules', 1, { vars });
    return 'reason' in r ? r.reason : 'loaded';
  };
  assert.equal(rule('set,h,type string,load h.lst,format json,context_key c,value_key host'), 'dataset set with format json');
  assert.equal(rule('isset,h,type string,load h.lst,format json,context_key c'), 'invalid rule');
  assert.equal(rule('isset,h,type string,load h.lst,format json,value_key host'), 'dataset format json without context_key');
  assert.equal(rule('isset,h,type string,load h.lst,format ndjson,context_key c,value_key host,array_key a'), 'dataset array_key with format ndjson');
  assert.equal(rule('isset,h,type string,load h.lst,context_key c'), 'invalid rule');
  assert.equal(rule('isset,h,type string,load h.lst,format xml'), 'invalid rule');
  assert.equal(rule('isset,h,type string,load h.lst,format json,enrichment_key c,value_key host'), 'dataset option enrichment_key');
});

test('json files: array_key paths, nested value keys, raw strings, first object wins, remove_key', () => {
  const spec = { format: 'json' as const, contextKey: 'c', valueKey: 'host.fqdn', arrayKey: 'info.threat', removeKey: false };
  const doc = JSON.stringify({
    info: { threat: [{ year: 2005, host: { fqdn: 'www.testmyids.com', domain: 'testmyids.com' } }, { year: 2023, host: { domain: 'x' } }, 7, { year: 1, host: { fqdn: 'www.testmyids.com' } }] },
  });
  const r = parseDatajsonFile('string', spec, doc);
  assert.ok(!('message' in r));
  // the string itself (no base64); objects without the key are skipped; a duplicate keeps the first
  assert.deepEqual(r.keys, ['www.testmyids.com']);
  assert.deepEqual(JSON.parse(r.values[0]!), { year: 2005, host: { fqdn: 'www.testmyids.com', domain: 'testmyids.com' } });
  const removed = parseDatajsonFile('string', { ...spec, removeKey: true }, doc);
  assert.ok(!('message' in removed));
  assert.deepEqual(JSON.parse(removed.values[0]!), { year: 2005, host: { domain: 'testmyids.com' } });
  // the document itself as the array
  const top = parseDatajsonFile('ip', { format: 'json', contextKey: 'c', valueKey: 'ip', removeKey: false }, '[{"ip":"10.16.1.11","test":"success"}]');
  assert.ok(!('message' in top));
  assert.equal(top.keys[0], datasetKey('ip', CLIENT));
  const errors: [string, string][] = [
    ['{"a":1}', 'not an array'],
    ['[{"ip":5}]', 'is not a string'],
    ['[{"x":"1.2.3.4"}]', 'no entry has the key'],
    ['[{"ip":"1.2.3"}]', 'bad IPv4'],
    ['[', 'invalid JSON'],
  ];
  for (const [text, msg] of errors) {
    const e = parseDatajsonFile('ipv4', { format: 'json', contextKey: 'c', valueKey: 'ip', removeKey: false }, text);
    assert.ok('message' in e && e.message.includes(msg), `${text}: ${JSON.stringify(e)}`);
  }
  assert.ok('message' in parseDatajsonFile('ipv4', { format: 'json', contextKey: 'c', valueKey: 'ip', arrayKey: 'list', removeKey: false }, '{"other":[]}'));
});

test('ndjson files: one object a line, empty lines skipped, bad lines named', () => {
  const spec = { format: 'ndjson' as const, contextKey: 'c', valueKey: 'ioc.host', removeKey: true };
  const r = parseDatajsonFile('string', spec, '{"ioc":{"host":"a.example"},"year":2005}\n\n{"ioc":{"host":"b.example"},"year":2006}\n');
  assert.ok(!('message' in r));
  assert.deepEqual(r.keys, ['a.example', 'b.example']);
  assert.deepEqual(JSON.parse(r.values[1]!), { ioc: {}, year: 2006 });
  const bad = parseDatajsonFile('string', spec, '{"ioc":{"host":"a"}}\n{oops\n');
  assert.deepEqual('message' in bad ? bad.line : 0, 2);
});

test('isset on JSON sets with http.host and ip.src: the found objects become the alert context', () => {
  const rs = compile(
    [
      'alert http any any -> any any (flow:established,to_server; http.host; dataset:isset,badhost,type string,load host.lst,format ndjson,context_key bad_host,remove_key, value_key host; ip.src; dataset:isset,src_ip,type ip,load src.json,format json, context_key src_ip,value_key ip, remove_key; sid:1;)',
      'alert http any any -> any any (flow:to_server; http.host; content:"testmyids"; ip.dst; dataset:isnotset,src_ip,format json,context_key dst,value_key ip; sid:2;)',
      'alert http any any -> any any (flow:to_server; http.host; content:"testmyids"; ip.dst; content:"|c0 00 02 01|"; sid:3;)',
    ],
    {
      '/rules/host.lst': '{"host": "testmyids.com", "year": 2005}\n{"host": "www.testmyids.com", "year": 2006}\n',
      '/rules/src.json': '[{"ip": "10.16.1.11", "test": "success"}, {"ip": "10.16.1.12", "test": "fail"}]',
    },
  );
  assert.equal(rs.stats.loaded, 3, JSON.stringify(rs.stats.problems));
  const store = new DatasetStore();
  store.sync(rs.datasets ?? []);
  assert.deepEqual(run(rs, store, txWithHost('www.testmyids.com')), [
    [1, { bad_host: { year: 2006 }, src_ip: { test: 'success' } }],
    [2, null],
    [3, null],
  ]);
  assert.deepEqual(run(rs, store, txWithHost('other.example')), []);
  // no addresses known: ip.src / ip.dst do not exist
  assert.equal(verifyAppSignature(rs.signatures[2]!, txWithHost('www.testmyids.com'), 'to_server', { flowbits: new Set(), serverPort: 80 }), false);
});

test('ip.src / ip.dst are skipped where their meaning would differ', () => {
  const reason = (r: string): string => {
    const p = parseRule(r, 't.rules', 1, { vars });
    return 'reason' in p ? p.reason : 'loaded';
  };
  assert.equal(reason('alert tcp any any -> any 80 (ip.src; content:"|0a|"; sid:1;)'), 'ip.src/ip.dst outside an app-layer rule');
  assert.equal(reason('alert http any any -> any any (flow:to_server; ip.dst; content:"|0a|"; sid:1;)'), 'ip.src/ip.dst without a transaction buffer');
  assert.equal(reason('alert http any any -> any any (flow:to_server; http.uri; content:"/"; ip.dst; content:"|0a|"; sid:1;)'), 'loaded');
});

test('EVE: alert.context', () => {
  const d: Detection = {
    timestampMs: 0, flowId: 1n, srcIp: '10.16.1.11', srcPort: 1, destIp: '192.0.2.1', destPort: 80, proto: 'TCP', signatureId: 1, rev: 1,
    signature: 's', category: 'c', severity: 'low', action: 'alert', handshakeCompleted: true, context: { src_ip: { test: 'success' } },
  };
  const ev = toAlertEvent(d, { action: 'allowed', count: 1, eventId: 'x' });
  assert.deepEqual(ev.alert.context, { src_ip: { test: 'success' } });
  delete d.context;
  assert.equal(toAlertEvent(d, { action: 'allowed', count: 1, eventId: 'x' }).alert.context, undefined);
});
