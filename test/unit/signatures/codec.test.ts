/**
 * The ruleset codec (src/signatures/codec.ts) and the off-thread loader (offthread.ts): a compiled
 * ruleset sent in pieces through a real MessageChannel (typed arrays transferred, Regex rebuilt on
 * this thread) detects exactly what the original detects; anything the codec cannot carry is
 * refused with its path; the worker's errors keep code and file:line; the worker's heap cap holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { defaultConfig, type Config } from '../../../src/config/types.js';
import { isBulwarkError } from '../../../src/errors.js';
import { Regex } from '../../../src/regex/regex.js';
import { compactScanTable } from '../../../src/signatures/scan-table.js';
import { encodeGraph, GraphDecoder, TAG } from '../../../src/signatures/codec.js';
import { compileRuleset } from '../../../src/signatures/compile.js';
import { loadDatabases } from '../../../src/signatures/load.js';
import { loadDatabasesOffThread, reviveGraph, RULESET_CLASSES } from '../../../src/signatures/offthread.js';
import { rulesetMatches } from '../../../src/signatures/reference.js';
import type { Ruleset } from '../../../src/signatures/types.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const etDir = resolve(repoRoot, '../shared/corpus/et-open');

const RULES = [
  'alert tcp any any -> any 80 (msg:"content only"; flow:to_server,established; content:"GET /admin"; sid:100001; rev:1;)',
  'alert tcp any any -> any 80 (msg:"pcre caseless"; flow:to_server,established; content:"cmd="; pcre:"/cmd=(?:wget|curl)\\s+http/i"; sid:100002; rev:1;)',
  'alert tcp any any -> any 80 (msg:"pcre relative"; flow:to_server,established; content:"user="; pcre:"/^[a-z]{3,}\\x3b/R"; sid:100003; rev:1;)',
  // A backreference: compiled with capturing groups (the NO_AUTO_CAPTURE retry) and must stay so.
  'alert tcp any any -> any 8080 (msg:"pcre backref"; flow:to_server,established; content:"tag"; pcre:"/<(b|i)>.*?<\\/\\1>/s"; sid:100004; rev:1;)',
  'alert tcp any any -> any 8080 (msg:"negated pcre"; flow:to_server,established; content:"login"; pcre:!"/password=\\d+/"; sid:100005; rev:1;)',
  'alert tcp any 80 -> any any (msg:"to client"; flow:to_client,established; content:"HTTP/1.1 500"; depth:12; pcre:"/Server:\\s+Apache\\/2\\.[0-2]/m"; sid:100006; rev:1;)',
  'alert tcp any any -> any [80,8080] (msg:"hex and nocase"; flow:to_server,established; content:"|de ad be ef|"; content:"x-evil"; nocase; distance:0; sid:100007; rev:1;)',
].join('\n');

const PAYLOADS: { dir: 'to_server' | 'to_client'; port: number; text: string }[] = [
  { dir: 'to_server', port: 80, text: 'GET /admin HTTP/1.1\r\n\r\n' },
  { dir: 'to_server', port: 80, text: 'POST /x HTTP/1.1\r\n\r\ncmd=WGET  http://203.0.113.9/a' },
  { dir: 'to_server', port: 80, text: 'POST /x HTTP/1.1\r\n\r\ncmd=ls' },
  { dir: 'to_server', port: 80, text: 'user=abcd;' },
  { dir: 'to_server', port: 80, text: 'user=ab;' },
  { dir: 'to_server', port: 8080, text: 'tag <b>bold\n</b>' },
  { dir: 'to_server', port: 8080, text: 'tag <b>bold</i>' },
  { dir: 'to_server', port: 8080, text: 'login user=a' },
  { dir: 'to_server', port: 8080, text: 'login password=1234' },
  { dir: 'to_client', port: 80, text: 'HTTP/1.1 500 Oops\r\nServer: Apache/2.1\r\n' },
  { dir: 'to_client', port: 80, text: 'HTTP/1.1 500 Oops\r\nServer: Apache/2.4\r\n' },
  { dir: 'to_server', port: 8080, text: '\xde\xad\xbe\xef X-EVIL' },
];

function compile(text: string): Ruleset {
  return compileRuleset([{ file: 'codec.rules', text }], { vars: defaultConfig().databases.vars });
}

/** Sends `root` through a real MessageChannel piece by piece and rebuilds it as the daemon does. */
async function roundTrip(root: unknown, pieceNodes?: number): Promise<unknown> {
  const { port1, port2 } = new MessageChannel();
  try {
    let pieces = 0;
    for (const p of encodeGraph(root, pieceNodes === undefined ? { classes: RULESET_CLASSES } : { classes: RULESET_CLASSES, pieceNodes })) {
      port2.postMessage(p.array === undefined ? { value: p.value } : { array: p.array, start: p.start, value: p.value }, p.transfer);
      pieces++;
    }
    return await reviveGraph(port1, pieces, 4);
  } finally {
    port1.close();
    port2.close();
  }
}

/** The ruleset with every Regex replaced by what it was compiled from: comparable with deepStrictEqual. */
function comparable(v: unknown): unknown {
  if (v instanceof Regex) return { regex: v.spec, limits: v.limits, source: v.source, captureCount: v.captureCount, names: [...v.names] };
  if (Array.isArray(v)) return v.map(comparable);
  // A copy: the original's buffers are detached once transferred.
  if (ArrayBuffer.isView(v)) return { view: v.constructor.name, bytes: [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)] };
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, comparable(x)]));
  return v;
}

function detections(r: Ruleset): number[][] {
  return PAYLOADS.map((p) => rulesetMatches(r, p.dir, p.port, Buffer.from(p.text, 'latin1')));
}

test('codec: a compiled ruleset with pcre signatures survives the trip and detects the same', async () => {
  const original = compile(RULES);
  assert.equal(original.signatures.length, 7);
  const before = detections(original);
  // The payloads exercise both outcomes of every signature, so "the same" is not "nothing".
  assert.deepEqual(before.map((ids) => ids.length > 0), [true, true, false, true, false, true, false, true, false, true, false, true]);
  const expected = comparable(original);
  // Small pieces: the signatures and patterns arrays are cut into several messages.
  const revived = (await roundTrip(original, 50)) as Ruleset;
  assert.deepEqual(detections(revived), before);
  assert.deepStrictEqual(comparable(revived), expected);
  let regexes = 0;
  for (const s of revived.signatures) {
    for (const c of s.conditions) {
      if (c.kind !== 'pcre') continue;
      assert.ok(c.regex instanceof Regex, `sid ${s.id}: a live Regex`);
      regexes++;
    }
  }
  assert.equal(regexes, 5);
  const backref = revived.signatures.find((s) => s.id === 100004)!.conditions.find((c) => c.kind === 'pcre');
  assert.ok(backref?.kind === 'pcre' && backref.regex.captureCount === 1, 'the backreference group still captures');
});

test('codec: large typed arrays are transferred, not copied; shared ones are shared; small views travel as copies of their bytes', async () => {
  const original = compile(RULES);
  const next = original.groups[0]!.dfa.next;
  const table = original.groupByPort.toServer;
  assert.ok(next.byteLength >= 4096 && table.byteLength === 65536 * 4);
  const revived = (await roundTrip(original)) as Ruleset;
  // A transferred buffer is detached on the sending side.
  assert.equal(table.byteLength, 0, 'port table moved');
  // The automaton's table lives in shared memory: both sides see the same bytes, nothing copied.
  assert.ok(next.buffer instanceof SharedArrayBuffer && next.byteLength >= 4096, 'DFA table still readable here');
  const got = revived.groups[0]!.dfa.next;
  assert.ok(got.buffer instanceof SharedArrayBuffer);
  const before = got[0]!;
  next[0] = before ^ 0x100;
  assert.equal(got[0], before ^ 0x100, 'one memory, seen from both sides');
  next[0] = before;
  assert.equal(revived.groupByPort.toServer.length, 65536);
  // A fast pattern is a view of its content's bytes: only its own bytes travel, and the receiver
  // packs small byte arrays into shared slabs (GraphDecoder.pack) instead of one store each.
  const slabs = new Set<ArrayBufferLike>();
  for (const [i, g] of revived.groups.entries()) {
    for (const [j, p] of g.patterns.entries()) {
      assert.deepEqual([...p.bytes], [...original.groups[i]!.patterns[j]!.bytes]);
      assert.ok(p.bytes.buffer instanceof ArrayBuffer && p.bytes.buffer.byteLength === 64 * 1024, 'a small view lives in a decoder slab');
      slabs.add(p.bytes.buffer);
    }
  }
  assert.equal(slabs.size, 1, 'the small views share one slab');
});

test('codec: the decoder hands out one copy of each string and packs small byte arrays; large and shared ones stay as they are', () => {
  const big = new Uint8Array(1000).fill(7);
  const shared = new Uint8Array(new SharedArrayBuffer(8));
  const root = { a: Array.from({ length: 100 }, (_, i) => ({ k: 'http.uri', v: `v${i % 3}`, b: Uint8Array.of(i, i + 1), buf: Buffer.from([i]) })), big, shared };
  const d = new GraphDecoder([]);
  for (const p of encodeGraph(root, { classes: [] })) d.add(structuredClone(p.array === undefined ? { value: p.value } : { array: p.array, start: p.start ?? 0, value: p.value }, { transfer: p.transfer }));
  assert.ok(d.step(Infinity));
  const got = d.result() as typeof root;
  assert.equal(d.interned, 4, "'http.uri', 'v0', 'v1', 'v2': one copy each");
  assert.deepEqual(got.a.map((x) => [x.k, x.v, [...x.b], [...x.buf]]), root.a.map((x) => [x.k, x.v, [...x.b], [...x.buf]]));
  assert.ok(got.a.every((x) => x.b.buffer === got.a[0]!.b.buffer && x.buf.buffer === got.a[0]!.b.buffer), 'one slab for all the small arrays');
  assert.ok(Buffer.isBuffer(got.a[0]!.buf));
  assert.equal(got.big.buffer.byteLength, 1000, 'a large array keeps its own store');
  assert.ok(got.shared.buffer instanceof SharedArrayBuffer, 'shared memory stays shared');
});

test('codec: generic values — shared objects, Map, Set, Buffer, Date, bigint, undefined and big arrays', async () => {
  const shared = { name: 'shared', list: [1, 2, 3] };
  const big = Array.from({ length: 1000 }, (_, i) => ({ i, tag: `x${i}`, shared }));
  const regex = compile(RULES).signatures.find((s) => s.id === 100002)!.conditions[1]!;
  const root = {
    big,
    shared,
    map: new Map<string, unknown>([['a', shared], ['b', new Uint16Array([1, 2, 3])], ['r', regex]]),
    set: new Set([1, 'two', shared]),
    buf: Buffer.from('hello'),
    when: new Date(1_700_000_000_000),
    n: 2n ** 70n,
    absent: undefined,
    nested: [[[[big]]]],
    regexTwice: [regex, regex],
  };
  const out = (await roundTrip(root, 100)) as typeof root;
  assert.equal(out.big.length, 1000);
  assert.deepEqual(out.big[999], { i: 999, tag: 'x999', shared: out.shared });
  assert.equal(out.big[0]!.shared, out.shared, 'an object reachable twice arrives once');
  assert.equal(out.nested[0]![0]![0]![0], out.big, 'a shared big array too');
  assert.equal(out.map.get('a'), out.shared);
  assert.deepEqual(out.map.get('b'), new Uint16Array([1, 2, 3]));
  assert.ok(out.set.has(out.shared) && out.set.has('two') && out.set.size === 3);
  assert.ok(Buffer.isBuffer(out.buf) && out.buf.toString() === 'hello');
  assert.equal(out.when.getTime(), 1_700_000_000_000);
  assert.equal(out.n, 2n ** 70n);
  assert.ok(Object.hasOwn(out, 'absent'), 'an explicit undefined property stays present');
  assert.equal(out.regexTwice[0], out.regexTwice[1], 'the same Regex shared twice is one Regex');
  const r = out.map.get('r') as { regex: Regex };
  assert.equal(r, out.regexTwice[0]);
  assert.ok(r.regex instanceof Regex && r.regex.test(Buffer.from('cmd=curl http://x')));
});

test('codec: refuses what it cannot carry, naming where', () => {
  class Foreign {
    x = 1;
  }
  const encode = (v: unknown): void => {
    // Drain the generator: refusals come while encoding.
    assert.ok([...encodeGraph(v, { classes: RULESET_CLASSES })].length > 0);
  };
  const refused = (path: string, what: RegExp) => (e: unknown): boolean => isBulwarkError(e, 'BULWARK_ERR_INTERNAL') && e.message.includes(path) && what.test(e.message);
  const sigs = compile(RULES).signatures.map((s) => ({ ...s }));
  (sigs[3] as unknown as Record<string, unknown>).helper = new Foreign();
  assert.throws(() => { encode({ signatures: sigs }); }, refused('ruleset.signatures[3].helper', /an instance of Foreign/));
  assert.throws(() => { encode({ a: { f: () => 1 } }); }, refused('ruleset.a.f', /a function/));
  assert.throws(() => { encode({ s: Symbol('x') }); }, refused('ruleset.s', /a symbol/));
  assert.throws(() => { encode({ e: new Error('x') }); }, refused('ruleset.e', /an instance of Error/));
  const cyc: Record<string, unknown> = { a: [] };
  (cyc.a as unknown[]).push(cyc);
  assert.throws(() => { encode(cyc); }, refused('ruleset.a[0]', /a cycle/));
  assert.throws(() => { encode({ x: { [TAG]: 'ref', id: 0 } }); }, refused('ruleset.x', /reserved key/));
});

test('codec: the decoder refuses pieces out of order or for arrays it never saw', () => {
  const d = new GraphDecoder(RULESET_CLASSES);
  assert.throws(() => { d.add({ array: 7, start: 0, value: [1] }); }, /unknown array 7/);
  d.add({ value: { a: { [TAG]: 'array', id: 0, n: 3 } } });
  assert.throws(() => { d.add({ array: 0, start: 1, value: [1] }); }, /out of order/);
  assert.throws(() => d.result(), /incomplete/);
});

test('codec: every value of a compiled ET Open ruleset is carried (no foreign class), and it detects the same', { skip: existsSync(etDir) ? false : '../shared/corpus/et-open not present' }, async () => {
  const files = readdirSync(etDir).filter((f) => f.endsWith('.rules')).sort();
  const cfg: Config['databases'] = { ...defaultConfig().databases, dir: mkdtempSync(join(tmpdir(), 'bulwark-codec-et-')), rules: files.map((f) => join(etDir, f)), requireManifest: false };
  try {
    const original = (await loadDatabases(cfg, { skipManifest: true })).ruleset;
    const expected = comparable(original);
    const pcre = original.signatures.filter((s) => s.conditions.some((c) => c.kind === 'pcre'));
    assert.ok(pcre.length > 100, `ET Open has pcre signatures (${pcre.length})`);
    // Payloads built from each pcre signature's own contents: the fast path must agree before and after.
    const samples = pcre.slice(0, 300).map((s) => {
      const parts = s.conditions.flatMap((c) => (c.kind === 'content' && !c.negated ? [Buffer.from(c.bytes).toString('latin1')] : []));
      return { dir: s.direction, port: s.ports[0]!.from, data: Buffer.from(parts.join(' '), 'latin1') };
    });
    const run = (r: Ruleset): number[][] => samples.map((x) => rulesetMatches(r, x.dir, x.port, x.data));
    const before = run(original);
    const revived = (await roundTrip(original)) as Ruleset;
    assert.deepStrictEqual(comparable(revived), expected);
    assert.deepEqual(run(revived), before);
  } finally {
    rmSync(cfg.dir, { recursive: true, force: true });
  }
});

function rulesDir(text: string, limits: Partial<Config['databases']['limits']> = {}): { cfg: Config['databases']; file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-offthread-'));
  const file = join(dir, 'x.rules');
  writeFileSync(file, text);
  const d = defaultConfig().databases;
  return { cfg: { ...d, dir: mkdtempSync(join(dir, 'db-')), rules: [file], requireManifest: false, limits: { ...d.limits, ...limits } }, file, cleanup: () => { rmSync(dir, { recursive: true, force: true }); } };
}

test('off-thread load: the same ruleset as loadDatabases, compiled in a worker', async () => {
  const d = rulesDir(RULES);
  try {
    const inThread = await loadDatabases(d.cfg, { skipManifest: true });
    const off = await loadDatabasesOffThread(d.cfg, { skipManifest: true });
    // The worker adds the compact scan tables (PortGroup.scan16), built off the event loop, where
    // the automaton fits.
    for (const g of off.ruleset.groups) {
      const t16 = compactScanTable(g.dfa);
      if (t16 !== null) {
        assert.deepEqual(g.scan16, t16);
        delete g.scan16;
      } else assert.equal(g.scan16, undefined);
    }
    const strip = (r: Ruleset): unknown => comparable({ ...r, stats: { ...r.stats, compileMs: 0 } });
    assert.deepStrictEqual(strip(off.ruleset), strip(inThread.ruleset));
    assert.deepEqual(off.files, inThread.files);
    assert.deepEqual(detections(off.ruleset), detections(inThread.ruleset));
  } finally {
    d.cleanup();
  }
});

test('off-thread load: errors keep their code and file:line', async () => {
  const d = rulesDir(`${RULES}\nalert tcp any any -> any 80 (msg:"big"; content:"${'A'.repeat(300)}"; sid:100099; rev:1;)\n`, { contentLengthBytes: 256 });
  try {
    await assert.rejects(loadDatabasesOffThread(d.cfg, { skipManifest: true }), (e: unknown) => {
      assert.ok(isBulwarkError(e, 'BULWARK_ERR_LIMIT'), String(e));
      assert.match(e.message, new RegExp(`^${d.file.replace(/[.]/g, '\\.')}:8: content of 300 bytes`));
      assert.deepEqual(e.details, { file: d.file, line: 8 });
      return true;
    });
  } finally {
    d.cleanup();
  }
  await assert.rejects(loadDatabasesOffThread({ ...defaultConfig().databases, dir: '/nonexistent/bulwark-db', requireManifest: false }), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_DATABASE') && /cannot list database directory/.test(e.message));
});

test('off-thread load: a compile over the worker heap cap is refused as a limit, and the next one works', async () => {
  // 150k generated rules need far more than 64 MiB of heap to parse.
  const lines: string[] = [];
  for (let i = 0; i < 150_000; i++) lines.push(`alert tcp any any -> any 80 (msg:"gen ${i}"; flow:to_server,established; content:"pattern-${i.toString(36)}-x"; sid:${5_000_000 + i}; rev:1;)`);
  const d = rulesDir(lines.join('\n'), { compileMemoryBytes: 64 * 2 ** 20 });
  try {
    await assert.rejects(loadDatabasesOffThread(d.cfg, { skipManifest: true }), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_LIMIT') && /ran out of memory.*compileMemory \(64 MiB\)/.test(e.message));
  } finally {
    d.cleanup();
  }
  const ok = rulesDir(RULES);
  try {
    assert.equal((await loadDatabasesOffThread(ok.cfg, { skipManifest: true })).ruleset.signatures.length, 7);
  } finally {
    ok.cleanup();
  }
});
