/**
 * The shipped database (databases/): every signature fires on its positive fixture and stays
 * silent on its negative lookalike, through the real compiler, the DFA + verifier path and the
 * naive reference matcher; benign traffic fires nothing; the manifest matches the files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadDatabases } from '../../../src/signatures/load.js';
import { checkManifest } from '../../../src/signatures/manifest.js';
import { decodeContent, latin1 } from '../../../src/signatures/content.js';
import { referenceMatches, rulesetMatches } from '../../../src/signatures/reference.js';
import { defaultConfig } from '../../../src/config/types.js';
import type { Direction, Ruleset } from '../../../src/signatures/types.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const dbDir = join(root, 'databases');
const fixDir = join(root, 'test/fixtures/signatures/shipped');

interface Fixture { id: number; positive: string; negative: string; port?: number; file: string }

const fixtures: Fixture[] = readdirSync(fixDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((f) => (parse(readFileSync(join(fixDir, f), 'utf8')) as Omit<Fixture, 'file'>[]).map((x) => ({ ...x, file: f })));

const cfg = { ...defaultConfig().databases, dir: dbDir };
const loaded = await loadDatabases(cfg);
const rs: Ruleset = loaded.ruleset;

function both(dir: Direction, port: number, data: Uint8Array): number[] {
  const fast = rulesetMatches(rs, dir, port, data);
  const ref = referenceMatches(rs, dir, port, data);
  assert.deepEqual(fast, ref, `DFA+verify and reference disagree on port ${port} ${dir}`);
  return fast;
}

test('shipped database: size, ports, detectors, clean compile', () => {
  assert.ok(rs.signatures.length >= 60, `${rs.signatures.length} signatures`);
  const sigPorts = new Set(rs.signatures.flatMap((s) => s.ports.flatMap((r) => Array.from({ length: r.to - r.from + 1 }, (_, i) => r.from + i))));
  assert.ok(sigPorts.size >= 20, `${sigPorts.size} ports`);
  assert.deepEqual(rs.stats.skipped, {});
  for (const s of rs.signatures) assert.ok(s.id >= 9000001 && s.id < 9100000, `signature id ${s.id}`);
  for (const d of rs.detectors) assert.ok(d.id >= 9100001 && d.id < 9200000, `detector id ${d.id}`);
  assert.deepEqual(rs.detectors.map((d) => d.kind).sort(), ['bruteforce', 'bruteforce', 'bruteforce', 'portscan', 'synflood', 'synflood']);
  const bf = new Set(rs.detectors.flatMap((d) => (d.kind === 'bruteforce' ? d.ports.map((r) => r.from) : [])));
  for (const p of [21, 22, 23, 25, 110, 143, 1433, 3306, 3389, 5432, 5900]) assert.ok(bf.has(p), `brute force covers ${p}`);
  for (const p of [22, 445, 3389, 6379, 80]) assert.ok(rs.ports.includes(p), `ports include ${p}`);
  assert.equal(rs.version, 'bulwark-core 2026.11.21', 'one database in four files is named once');
});

test('every shipped signature has exactly one positive and one negative fixture', () => {
  const ids = rs.signatures.map((s) => s.id).sort((a, b) => a - b);
  const fx = fixtures.map((f) => f.id).sort((a, b) => a - b);
  assert.deepEqual(fx, ids);
  for (const f of fixtures) {
    assert.equal(typeof f.positive, 'string', `${f.id} positive`);
    assert.equal(typeof f.negative, 'string', `${f.id} negative`);
  }
});

for (const f of fixtures) {
  test(`fixture ${f.id} (${f.file})`, () => {
    const sig = rs.signatures.find((s) => s.id === f.id);
    assert.ok(sig, `no signature ${f.id}`);
    const port = f.port ?? sig.ports[0]!.from;
    assert.ok(sig.ports.some((r) => port >= r.from && port <= r.to), `port ${port} not a port of ${f.id}`);
    const pos = decodeContent(f.positive, false);
    const neg = decodeContent(f.negative, false);
    assert.ok(both(sig.direction, port, pos).includes(f.id), `${sig.name} did not fire on its positive fixture`);
    assert.deepEqual(both(sig.direction, port, neg), [], `benign lookalike for ${sig.name} fired`);
  });
}

const BENIGN: { port: number; dir?: Direction; text: string; what: string }[] = [
  { port: 80, text: 'GET / HTTP/1.1\r\n\r\n', what: 'bare GET /' },
  { port: 80, text: 'GET / HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\nCookie: session=4f1a9c; theme=dark\r\n\r\n', what: 'browser GET' },
  { port: 8080, text: 'POST /api/v1/orders HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 61\r\n\r\n{"items":[{"sku":"A-1","qty":2}],"note":"union station; bin 4"}', what: 'JSON POST' },
  { port: 80, text: 'POST /login HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 33\r\n\r\nuser=alice&password=s3cr3t%21&x=1', what: 'form POST' },
  { port: 80, dir: 'to_client', text: 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<html></html>', what: 'HTTP response' },
  { port: 22, text: 'SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n', what: 'SSH banner' },
  { port: 445, text: '|00 00 00 2F FF 53 4D 42 72 00 00 00 00 18 53 C8 00 00 00 00 00 00 00 00 00 00 00 00 00 08 FF FE 00 08 01 00 00 0C 00 02 4E 54 20 4C 4D 20 30 2E 31 32 00|', what: 'SMB1 negotiate' },
  { port: 6379, text: '*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$7\r\nuser:42\r\n*3\r\n$3\r\nSET\r\n$7\r\nuser:42\r\n$5\r\nalice\r\n', what: 'redis PING/GET/SET' },
  { port: 21, text: 'USER alice\r\nPASS secret\r\nPWD\r\nTYPE I\r\nPASV\r\nRETR report.pdf\r\nQUIT\r\n', what: 'FTP session' },
  { port: 25, text: 'EHLO mx.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: hi\r\n\r\nsee you at 5\r\n.\r\nQUIT\r\n', what: 'SMTP session' },
  { port: 23, text: 'alice\r\nhunter2\r\nuptime\r\nexit\r\n', what: 'telnet login' },
  { port: 3389, text: '|03 00 00 2B 26 E0 00 00 00 00 00|Cookie: mstshash=alice|0D 0A 01 00 08 00 03 00 00 00|', what: 'RDP connection request' },
  { port: 5432, text: '|00 00 00 25 00 03 00 00|user|00|app|00|database|00|shop|00 00|Q|00 00 00 1E|SELECT * FROM orders LIMIT 10;|00|', what: 'PostgreSQL query' },
  { port: 2375, text: 'GET /v1.41/info HTTP/1.1\r\nHost: d\r\n\r\n', what: 'docker info' },
  { port: 9200, text: 'GET /_cluster/health HTTP/1.1\r\nHost: es\r\n\r\n', what: 'ES health' },
];

test('benign traffic fires nothing (HTTP, SSH, SMB, Redis, FTP, SMTP, Telnet, RDP, PostgreSQL, Docker, ES)', () => {
  for (const b of BENIGN) assert.deepEqual(both(b.dir ?? 'to_server', b.port, decodeContent(b.text, false)), [], b.what);
});

test('10,000 generated benign HTTP requests fire nothing on any web port', () => {
  let seed = 20261121;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const words = ['index', 'products', 'api', 'v2', 'users', 'search', 'static', 'img', 'css', 'blog', 'union', 'select', 'sleep', 'bin', 'etc', 'script', 'config', 'run', 'id', 'shell'];
  const exts = ['', '.html', '.php', '.js', '.css', '.png', '.json'];
  const uas = ['Mozilla/5.0 (Windows NT 10.0; Win64; x64)', 'curl/8.5.0', 'python-requests/2.31', 'Go-http-client/1.1'];
  const ports = [80, 8080, 8000, 9000];
  for (let i = 0; i < 10_000; i++) {
    const path = Array.from({ length: 1 + rnd(4) }, () => words[rnd(words.length)]).join('/') + exts[rnd(exts.length)]!;
    const q = rnd(2) ? `?q=${words[rnd(words.length)]}+${words[rnd(words.length)]}&page=${rnd(100)}` : '';
    const method = rnd(4) === 0 ? 'POST' : 'GET';
    const body = method === 'POST' ? `name=${words[rnd(words.length)]}&qty=${rnd(9)}` : '';
    const req = `${method} /${path}${q} HTTP/1.1\r\nHost: site${rnd(50)}.example\r\nUser-Agent: ${uas[rnd(uas.length)]!}\r\nAccept: */*\r\n${body ? `Content-Length: ${body.length}\r\n` : ''}\r\n${body}`;
    const port = ports[rnd(ports.length)]!;
    const hits = rulesetMatches(rs, 'to_server', port, latin1(req));
    assert.deepEqual(hits, [], req);
  }
});

test('shipped manifest matches the shipped files', async () => {
  const r = await checkManifest(dbDir);
  assert.deepEqual(r.problems, [], 'run npm run db:manifest after editing databases/');
  assert.equal(r.ok, true);
});

test('fixtures hold when the compiler merges every port group (memory budget exceeded)', async () => {
  const { compileRuleset } = await import('../../../src/signatures/compile.js');
  const { readFileSync: rf } = await import('node:fs');
  const merged = compileRuleset(
    loaded.files.map((file) => ({ file, text: rf(file, 'utf8') })),
    { vars: cfg.vars, groupStateBudget: 1 },
  );
  assert.equal(merged.stats.mergedGroups, true);
  assert.equal(merged.groups.length, 2);
  for (const f of fixtures) {
    const sig = merged.signatures.find((s) => s.id === f.id)!;
    const port = f.port ?? sig.ports[0]!.from;
    assert.ok(rulesetMatches(merged, sig.direction, port, decodeContent(f.positive, false)).includes(f.id), `${f.id} positive`);
    assert.deepEqual(rulesetMatches(merged, sig.direction, port, decodeContent(f.negative, false)), [], `${f.id} negative`);
  }
});
