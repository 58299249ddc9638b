/**
 * The `dataset` keyword: parsing (errors with file:line), file formats, declarations across rules
 * (shared by name, type conflicts, load files, memcap), set/isset/isnotset/unset semantics across
 * rules and transactions through the real HTTP parser, reload persistence and save snapshots.
 */
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../../../src/config/parse.js';
import { datasetCompileOptions } from '../../../../src/signatures/load.js';
import assert from 'node:assert/strict';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { parseRule } from '../../../../src/signatures/rules.js';
import { verifyAppSignature } from '../../../../src/signatures/verify-app.js';
import { httpProtocol } from '../../../../src/engine/app-layer/http/protocol.js';
import { defaultConfig } from '../../../../src/config/types.js';
import { datasetKey, formatDatasetItem, parseDataset, parseDatasetFile } from '../../../../src/signatures/keywords/dataset.js';
import { DatasetStore } from '../../../../src/signatures/keywords/dataset-store.js';
import type { AppTx } from '../../../../src/engine/app-layer/types.js';
import type { Ruleset } from '../../../../src/signatures/types.js';

const vars = defaultConfig().databases.vars;
const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');

function compile(rules: string[], files: Record<string, string> = {}, extra: { memcap?: number; dir?: string } = {}): Ruleset {
  return compileRuleset([{ file: '/rules/t.rules', text: rules.join('\n') }], {
    vars,
    datasets: { read: (p) => files[p] ?? null, dir: extra.dir ?? '/data', ...(extra.memcap !== undefined ? { memcap: extra.memcap } : {}) },
  });
}

function txWithUa(ua: string, uri = '/'): AppTx {
  const p = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
  const req = `GET ${uri} HTTP/1.1\r\nHost: h\r\nUser-Agent: ${ua}\r\n\r\n`;
  p.feed('to_server', b(req), 0, req.length, 0);
  const t = [...p.txs()][0];
  assert.ok(t);
  return t;
}

/** Runs every signature on the tx as the detect stage does: verify, then commit on a match. */
function run(rs: Ruleset, store: DatasetStore, tx: AppTx): number[] {
  const out: number[] = [];
  for (const s of rs.signatures) {
    if (verifyAppSignature(s, tx, 'to_server', { flowbits: new Set(), serverPort: 80, datasets: store })) {
      store.commit();
      out.push(s.id);
    }
  }
  return out;
}

test('parse: commands, options, paths and errors', () => {
  const paths = { rulesDir: '/etc/r', dataDir: '/var/lib/b/datasets' };
  assert.deepEqual(parseDataset('isset,UA-Seen,type string,load ua.lst,memcap 1mb,hashsize 64', paths), {
    cmd: 'isset', name: 'ua-seen', type: 'string', load: '/etc/r/ua.lst', memcap: 1024 * 1024, hashsize: 64,
  });
  assert.deepEqual(parseDataset('set,x,type md5,state x.lst', paths), { cmd: 'set', name: 'x', type: 'md5', load: '/var/lib/b/datasets/x.lst', save: '/var/lib/b/datasets/x.lst', state: true });
  assert.deepEqual(parseDataset('unset,x,type ip,save s.lst', paths), { cmd: 'unset', name: 'x', type: 'ip', save: '/var/lib/b/datasets/s.lst' });
  assert.throws(() => parseDataset('maybe,x', paths), /unknown command "maybe"/);
  assert.throws(() => parseDataset('isset', paths), /missing set name/);
  assert.throws(() => parseDataset('isset,x,type blob', paths), /unknown type "blob"/);
  assert.throws(() => parseDataset('isset,x,state a,load b', paths), /'state' can not be mixed/);
  assert.throws(() => parseDataset('isset,x,memcap lots', paths), /cannot parse size/);
  assert.throws(() => parseDataset(`isset,${'n'.repeat(64)},type string`, paths), /longer than 63/);
  assert.throws(() => parseDataset('set,x,type string,save /etc/passwd', paths), /absolute path/);
  assert.throws(() => parseDataset('set,x,type string,save ../x', paths), /outside the data directory/);
  assert.throws(() => parseDataset('set,x,type string,save x', { rulesDir: '/r', dataDir: undefined }), /without a data directory/);
});

test('rule errors carry file:line; dataset needs a sticky buffer', () => {
  const r = parseRule('alert http any any -> any any (dataset:isset,x,type string; sid:1;)', 'f.rules', 7, { vars });
  assert.ok('reason' in r);
  assert.equal(r.reason, 'invalid rule');
  assert.match(r.message, /^f\.rules:7: dataset without a sticky buffer/);
  const bad = parseRule('alert http any any -> any any (http.user_agent; dataset:isset,x,type nope; sid:1;)', 'f.rules', 9, { vars });
  assert.ok('reason' in bad);
  assert.match(bad.message, /^f\.rules:9: dataset: unknown type "nope"/);
  const json = parseRule('alert http any any -> any any (http.user_agent; dataset:isset,x,type string,format json; sid:1;)', 'f.rules', 9, { vars });
  assert.ok('reason' in json);
  // JSON sets (keywords/datajson.ts) need the key of the value in each object
  assert.equal(json.reason, 'invalid rule');
  assert.match(json.message, /format json needs value_key/);
});

test('file formats: base64 strings, hex hashes, addresses (ip stores IPv4 in its first 4 bytes)', () => {
  const s = parseDatasetFile('string', `${b64('curl/7.43.0')}\n\n${b64('a,b')},200\n`);
  assert.ok('keys' in s);
  assert.deepEqual(s.keys, ['curl/7.43.0', 'a,b']);
  const bad = parseDatasetFile('string', 'not base64!\n');
  assert.deepEqual(bad, { line: 1, message: 'bad base64 encoding' });
  const md5 = parseDatasetFile('md5', 'd41d8cd98f00b204e9800998ecf8427e\n');
  assert.ok('keys' in md5);
  assert.equal(formatDatasetItem('md5', md5.keys[0]!), 'd41d8cd98f00b204e9800998ecf8427e');
  assert.ok('line' in parseDatasetFile('sha256', 'abcd\n'));
  const ip = parseDatasetFile('ip', '::ffff:82.165.177.154\n198.51.100.7\n2001:db8::1\n');
  assert.ok('keys' in ip);
  // IPv4-mapped text and the 4 raw bytes of an IPv4 packet field give the same key
  assert.equal(ip.keys[0], datasetKey('ip', Uint8Array.from([82, 165, 177, 154])));
  assert.equal(formatDatasetItem('ip', ip.keys[1]!), '198.51.100.7');
  assert.equal(formatDatasetItem('ip', ip.keys[2]!), '2001:db8::1');
  assert.equal(datasetKey('ipv4', Uint8Array.from([1, 2, 3])), null);
  assert.equal(datasetKey('md5', new Uint8Array(15)), null);
});

test('isset / isnotset against a loaded file (file relative to the rules directory)', () => {
  const rs = compile(
    [
      'alert http any any -> any any (http.user_agent; dataset:isset,ua-seen,type string,load ua.csv; sid:1;)',
      'alert http any any -> any any (http.user_agent; dataset:isnotset,ua-seen,type string,load ua.csv; sid:2;)',
    ],
    { '/rules/ua.csv': `${b64('curl/7.43.0')}\n` },
  );
  assert.equal(rs.stats.loaded, 2, JSON.stringify(rs.stats.problems));
  const store = new DatasetStore();
  store.sync(rs.datasets ?? []);
  assert.deepEqual(run(rs, store, txWithUa('curl/7.43.0')), [1]);
  assert.deepEqual(run(rs, store, txWithUa('Wget/1.0')), [2]);
});

test('set matches only when new, unset only when present; sets are shared across rules by name', () => {
  const rs = compile([
    'alert http any any -> any any (http.uri; content:"/toto"; http.user_agent; dataset:set,UA-seen,type string,save after.csv; sid:1;)',
    'alert http any any -> any any (http.uri; content:"/tata"; http.user_agent; dataset:unset,ua-seen; sid:2;)',
    'alert http any any -> any any (http.user_agent; to_lowercase; dataset:isset,ua-seen; sid:3;)',
  ]);
  assert.equal(rs.stats.loaded, 3, JSON.stringify(rs.stats.problems));
  assert.equal(rs.datasets?.length, 1);
  const store = new DatasetStore();
  store.sync(rs.datasets ?? []);
  // rule 3 runs after rule 1 added this tx's user agent
  assert.deepEqual(run(rs, store, txWithUa('useragent1', '/toto')), [1, 3]);
  assert.deepEqual(run(rs, store, txWithUa('useragent2', '/toto')), [1, 3]);
  assert.deepEqual(run(rs, store, txWithUa('useragent1', '/toto')), [3]); // already in: set does not match
  assert.deepEqual(run(rs, store, txWithUa('useragent1', '/tata')), [2]); // removed (3 runs after 2)
  assert.deepEqual(run(rs, store, txWithUa('useragent1', '/tata')), []);
  const snaps = store.snapshots();
  assert.deepEqual(snaps.map((s) => [s.path, s.text]), [['/data/after.csv', `${b64('useragent2')}\n`]]);
});

test('a failed verification does not change the set', () => {
  const rs = compile(['alert http any any -> any any (http.user_agent; dataset:set,s,type string; http.uri; content:"/never"; sid:1;)']);
  const store = new DatasetStore();
  store.sync(rs.datasets ?? []);
  assert.deepEqual(run(rs, store, txWithUa('x', '/')), []);
  assert.equal(store.has('s', 'x'), false);
});

test('declarations: not defined, type conflict, load/save mismatch, missing file, bad line, memcap', () => {
  const rs = compile(
    [
      'alert http any any -> any any (http.user_agent; dataset:isset,nodef; sid:1;)',
      'alert http any any -> any any (http.user_agent; dataset:isset,a,type string; sid:2;)',
      'alert http any any -> any any (http.user_agent; dataset:isset,a,type md5; sid:3;)',
      'alert http any any -> any any (http.user_agent; dataset:isset,a,type string,load other.csv; sid:4;)',
      'alert http any any -> any any (http.user_agent; dataset:isset,m,type string,load missing.csv; sid:5;)',
      'alert http any any -> any any (http.user_agent; dataset:isset,bad,type md5,load bad.csv; sid:6;)',
      'alert http any any -> any any (http.user_agent; dataset:isset,big,type string,load big.csv,memcap 100; sid:7;)',
      'alert http any any -> any any (http.user_agent; dataset:set,st,type string,state st.csv; sid:8;)',
    ],
    { '/rules/other.csv': '', '/rules/bad.csv': 'zz\n', '/rules/big.csv': `${b64('a'.repeat(40))}\n${b64('b'.repeat(40))}\n` },
  );
  const reasons = Object.fromEntries((rs.stats.problems ?? []).map((p) => [p.line, p.reason]));
  assert.deepEqual(reasons, {
    1: 'dataset not defined',
    3: 'dataset type conflict',
    4: 'dataset load/save mismatch',
    5: 'dataset load error',
    6: 'dataset load error',
    7: 'dataset over memcap',
  });
  assert.match((rs.stats.problems ?? []).find((p) => p.line === 6)!.message, /\/rules\/bad\.csv:1: md5 must be 32 hex digits/);
  // a missing state file is an empty set
  assert.deepEqual(rs.signatures.map((s) => s.id), [2, 8]);
});

test('memcap: adds past it are refused and counted', () => {
  const rs = compile(['alert http any any -> any any (http.user_agent; dataset:set,s,type string,memcap 150; sid:1;)']);
  const store = new DatasetStore();
  store.sync(rs.datasets ?? []);
  assert.deepEqual(run(rs, store, txWithUa('aaaaaaaaaa')), [1]); // 64 + 10
  assert.deepEqual(run(rs, store, txWithUa('bbbbbbbbbb')), [1]); // 148
  assert.deepEqual(run(rs, store, txWithUa('cccccccccc')), []); // would be 222
  assert.equal(store.stats().memcapRefused, 1);
  assert.equal(store.stats().entries, 2);
});

test('reload: an unchanged set keeps what rules added; a changed load file is read again', () => {
  const rules = [
    'alert http any any -> any any (http.user_agent; dataset:set,dyn,type string,state dyn.csv; sid:1;)',
    'alert http any any -> any any (http.user_agent; dataset:isset,stat,type string,load s.csv; sid:2;)',
  ];
  const store = new DatasetStore();
  store.sync(compile(rules, { '/rules/s.csv': `${b64('old')}\n` }).datasets ?? []);
  store.add('dyn', 'added-at-runtime');
  assert.equal(store.has('stat', 'old'), true);
  store.sync(compile(rules, { '/rules/s.csv': `${b64('new')}\n`, '/data/dyn.csv': '' }).datasets ?? []);
  assert.equal(store.has('dyn', 'added-at-runtime'), true);
  assert.equal(store.has('stat', 'old'), false);
  assert.equal(store.has('stat', 'new'), true);
  // a type change makes a new set
  store.sync(compile(['alert http any any -> any any (http.user_agent; dataset:set,dyn,type md5,state dyn.csv; sid:1;)']).datasets ?? []);
  assert.equal(store.has('dyn', 'added-at-runtime'), false);
  assert.equal(store.stats().sets, 1);
});

test('wrong-size buffers: isset never, isnotset yes; empty buffers never match', () => {
  const store = new DatasetStore();
  store.sync(compile(['alert http any any -> any any (http.user_agent; dataset:isset,h,type md5; sid:1;)']).datasets ?? []);
  assert.equal(store.test({ cmd: 'isset', name: 'h', type: 'md5' }, null, false), false);
  assert.equal(store.test({ cmd: 'isnotset', name: 'h', type: 'md5' }, null, false), true);
  assert.equal(store.test({ cmd: 'isnotset', name: 'h', type: 'md5' }, '', true), false);
  // to_md5 gives the 16 raw bytes a md5 set holds
  const ua = 'bulwark-test-agent';
  const md5 = createHash('md5').update(ua).digest('hex');
  const rs = compile(['alert http any any -> any any (http.user_agent; to_md5; dataset:isset,h2,type md5,load h.csv; sid:1;)'], { '/rules/h.csv': `${md5}\n` });
  const st2 = new DatasetStore();
  st2.sync(rs.datasets ?? []);
  assert.deepEqual(run(rs, st2, txWithUa(ua)), [1]);
  assert.deepEqual(run(rs, st2, txWithUa('other')), []);
});

test('sets declared in the configuration: paths, rules naming them without a type, bad files refuse the ruleset', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bulwark-dscfg-'));
  try {
    mkdirSync(path.join(dir, 'lists'));
    writeFileSync(path.join(dir, 'lists', 'bad-ua.lst'), `${b64('evil-bot')}\n`);
    const cfg = parseConfig(
      `databases:\n  datasets:\n    dir: ${dir}/data\n    sets:\n      - name: Bad-UA\n        type: string\n        load: lists/bad-ua.lst\n      - name: seen\n        type: string\n        state: seen.lst\n        memcap: 1MiB\n`,
      path.join(dir, 'bulwark.yaml'),
    );
    const opts = datasetCompileOptions(cfg.databases);
    assert.deepEqual(opts.sets, [
      { name: 'Bad-UA', type: 'string', load: path.join(dir, 'lists', 'bad-ua.lst') },
      { name: 'seen', type: 'string', state: path.join(dir, 'data', 'seen.lst'), memcap: 1024 * 1024 },
    ]);
    const rs = compileRuleset(
      [{ file: '/rules/t.rules', text: 'alert http any any -> any any (http.user_agent; dataset:isset,bad-ua; sid:1;)\nalert http any any -> any any (http.user_agent; dataset:isset,seen,type md5; sid:2;)\n' }],
      { vars, datasets: opts },
    );
    assert.deepEqual(rs.signatures.map((s) => s.id), [1]);
    assert.equal(rs.stats.problems?.[0]?.reason, 'dataset type conflict');
    const store = new DatasetStore();
    store.sync(rs.datasets ?? []);
    assert.deepEqual(run(rs, store, txWithUa('evil-bot')), [1]);
    // a configured set whose file is missing refuses the whole ruleset
    const missing = datasetCompileOptions(parseConfig('databases:\n  datasets:\n    sets:\n      - { name: x, type: md5, load: nope.lst }\n', path.join(dir, 'b.yaml')).databases);
    assert.throws(() => compileRuleset([{ file: '/rules/t.rules', text: '' }], { vars, datasets: missing }), (e: Error & { code?: string }) => e.code === 'BULWARK_ERR_DATABASE' && /nope\.lst: no such file/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
