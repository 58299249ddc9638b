/**
 * `rules update` end to end in one process: sources served by a real HTTP server on loopback,
 * the real compiler, a fake daemon reload. Every failure must leave the installed file as it was.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { defaultConfig, type Config } from '../../../src/config/types.js';
import { ManualClock } from '../../../src/clock.js';
import { isBulwarkError, BulwarkError } from '../../../src/errors.js';
import { runRulesUpdate } from '../../../src/rules/update.js';
import { enableSource, readSources, writeSources } from '../../../src/rules/sources.js';
import { installedRulesFile, readInstalled } from '../../../src/rules/installed.js';
import { fetchSource } from '../../../src/rules/fetch.js';
import { loadDatabases } from '../../../src/signatures/load.js';
import { installedExtraSources } from '../../../src/rules/installed.js';
import { tarEntry, tarEnd } from './tar.js';

const RULES_A = [
  'alert tcp $EXTERNAL_NET any -> $HOME_NET 6379 (msg:"T redis config set"; flow:established,to_server; content:"CONFIG SET"; nocase; classtype:attempted-admin; sid:2900001; rev:1;)',
  '# alert tcp $EXTERNAL_NET any -> $HOME_NET 6379 (msg:"T setter"; flow:established,to_server; content:"AUTH"; flowbits:set,t.auth; flowbits:noalert; sid:2900002; rev:1;)',
  'alert tcp $EXTERNAL_NET any -> $HOME_NET 6379 (msg:"T after auth"; flow:established,to_server; flowbits:isset,t.auth; content:"FLUSHALL"; sid:2900003; rev:1;)',
  'alert modbus $EXTERNAL_NET any -> $HOME_NET any (msg:"T modbus"; content:"/x"; sid:2900004; rev:1;)',
].join('\n');

function tgz(files: Record<string, string>): Buffer {
  return gzipSync(Buffer.concat([...Object.entries(files).map(([name, data]) => tarEntry({ name, data })), tarEnd()]));
}

interface Served {
  body: Buffer;
  status?: number;
  md5?: string;
  hang?: boolean;
}
const routes = new Map<string, Served>();
let server: Server;
let base = '';
const dir = mkdtempSync(join(tmpdir(), 'bulwark-update-'));
let cfg: Config;
let reloads = 0;

before(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '';
    const md5 = path.endsWith('.md5') ? routes.get(path.slice(0, -4)) : undefined;
    if (md5) {
      res.end(`${md5.md5 ?? createHash('md5').update(md5.body).digest('hex')}  emerging.rules.tar.gz\n`);
      return;
    }
    const r = routes.get(path);
    if (!r) {
      res.writeHead(404).end();
      return;
    }
    if (r.hang === true) return;
    res.writeHead(r.status ?? 200, { 'content-length': r.body.length, 'last-modified': 'Mon, 30 Nov 2026 10:00:00 GMT' }).end(r.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dbdir = join(dir, 'databases');
  mkdirSync(dbdir);
  const d = defaultConfig();
  cfg = { ...d, stateDir: join(dir, 'state'), databases: { ...d.databases, dir: dbdir, requireManifest: false }, rules: { ...d.rules, disableConf: join(dir, 'disable.conf'), enableConf: '', dropConf: join(dir, 'drop.conf'), modifyConf: '', timeoutMs: 2000, maxDownloadSize: 1024 * 1024 } };
});
after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const clock = new ManualClock(Date.parse('2026-12-02T00:00:00Z'));
const update = (over: Partial<Parameters<typeof runRulesUpdate>[0]> = {}) =>
  runRulesUpdate({
    config: cfg,
    clock,
    reload: () => {
      reloads++;
      return Promise.resolve(true);
    },
    ...over,
  });

function installedBytes(): string | undefined {
  const f = installedRulesFile(cfg);
  return existsSync(f) ? readFileSync(f, 'latin1') : undefined;
}

async function assertNothingChanged(p: Promise<unknown>, re: RegExp): Promise<void> {
  const before = installedBytes();
  const r0 = reloads;
  await assert.rejects(p, (e: unknown) => isBulwarkError(e) && re.test(e.message));
  assert.equal(installedBytes(), before, 'installed rules changed');
  assert.equal(reloads, r0, 'daemon asked to reload');
  assert.ok(!existsSync(join(cfg.stateDir, 'rules', 'update.lock')), 'lock left behind');
}

test('no source enabled: a clear error', async () => {
  await assert.rejects(update(), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CONFIG') && /no rule source is enabled/.test(e.message));
});

test('install: ET layout tarball over HTTP, md5 verified, policy applied, flowbits resolved, compiled, reloaded', async () => {
  routes.set('/et/emerging.rules.tar.gz', { body: tgz({ 'rules/emerging-test.rules': RULES_A, 'rules/classification.config': 'config classification: attempted-admin,Attempted Administrator Privilege Gain,1\n', 'rules/emerging-deleted.rules': RULES_A.replace(/29000/g, '29100') }) });
  const dirR = join(cfg.stateDir, 'rules');
  await writeSources(dirR, enableSource(await readSources(dirR), { name: 'et/open', url: `${base}/et/emerging.rules.tar.gz` }));
  writeFileSync(join(dir, 'drop.conf'), '2900001\n');
  const r = await update();
  assert.equal(r.changed, true);
  assert.equal(r.reloaded, true);
  assert.equal(reloads, 1);
  const s = r.sources[0]!;
  assert.equal(s.name, 'et/open');
  assert.deepEqual(s.checksum?.algorithm, 'md5');
  assert.equal(s.released, '2026-11-30');
  assert.equal(s.version, '2026.11.30');
  assert.equal(s.rules, 4);
  assert.deepEqual(r.stats.ignoredFiles, ['et/open:rules/emerging-deleted.rules']);
  assert.equal(r.stats.enabledForFlowbits, 1);
  assert.equal(r.stats.dropped, 1);
  // The importer's verdict: 3 TCP rules load, the modbus one (no parser) is skipped with its reason.
  assert.equal(r.compile.loaded, 3);
  assert.deepEqual(r.compile.skipped, { 'protocol modbus': 1 });
  const inst = await readInstalled(installedRulesFile(cfg));
  assert.ok(inst?.manifest);
  assert.equal(inst.problem, undefined);
  assert.match(inst.text, /^drop tcp .*sid:2900001;/m);
  assert.match(inst.text, /noalert; sid:2900002;/);
  // What the daemon loads: the file, named after its source.
  const loaded = await loadDatabases(cfg.databases, { extraSources: await installedExtraSources(cfg) });
  assert.equal(loaded.ruleset.version, 'et/open 2026.11.30');
  const sig = loaded.ruleset.signatures.find((x) => x.id === 2900001);
  assert.equal(sig?.action, 'block');
});

test('update again: the published md5 matches the cache, nothing is downloaded or reloaded', async () => {
  const body = routes.get('/et/emerging.rules.tar.gz')!;
  routes.set('/et/emerging.rules.tar.gz', { ...body, status: 500 }); // a download would fail
  const before = installedBytes();
  const r = await update();
  assert.equal(r.sources[0]!.cached, true);
  assert.equal(r.changed, false);
  assert.equal(reloads, 1);
  assert.equal(installedBytes(), before);
  routes.set('/et/emerging.rules.tar.gz', body);
});

test('failures change nothing: bad checksum, HTTP error, unreachable, timeout, oversized, corrupt, bad policy, compile error', async () => {
  const url = '/et/emerging.rules.tar.gz';
  const good = routes.get(url)!;
  const newer = tgz({ 'rules/emerging-test.rules': RULES_A.replace('rev:1;)', 'rev:2;)') });
  routes.set(url, { body: newer, md5: '0'.repeat(32) });
  await assertNothingChanged(update(), /md5 of .* is [0-9a-f]{32}, the source publishes 0{32}.*download refused/);
  routes.set(url, { body: newer, status: 503 });
  await assertNothingChanged(update({ force: true }), /download failed: HTTP 503/);
  routes.set(url, { body: Buffer.alloc(2 * 1024 * 1024, 1) });
  await assertNothingChanged(update({ force: true }), /larger than the download limit/);
  const corrupt = Buffer.from(newer);
  corrupt.fill(7, 40, 80);
  routes.set(url, { body: corrupt });
  await assertNothingChanged(update({ force: true }), /corrupt gzip data|corrupt tar|not a tar/);
  routes.set(url, { body: tgz({ 'rules/../../../etc/cron.d/x.rules': RULES_A }) });
  await assertNothingChanged(update({ force: true }), /unsafe archive entry/);
  routes.set(url, { body: tgz({ 'README.txt': 'no rules here' }) });
  await assertNothingChanged(update({ force: true }), /holds no \.rules file/);
  routes.set(url, { body: newer, hang: true });
  cfg.rules.timeoutMs = 300;
  await assertNothingChanged(update({ force: true }), /timed out after 300 ms/);
  cfg.rules.timeoutMs = 2000;
  routes.set(url, { body: newer });
  writeFileSync(join(dir, 'disable.conf'), '2900001\nre:(unclosed\n');
  await assertNothingChanged(update({ force: true }), /disable\.conf:2: bad regular expression/);
  rmSync(join(dir, 'disable.conf'));
  writeFileSync(join(cfg.databases.dir, 'broken.yaml'), 'database:\n  name: x\n  version: 1\n  released: 2026-01-01\nsignatures:\n  - id: nope\n');
  await assertNothingChanged(update({ force: true }), /broken\.yaml:\d+/);
  rmSync(join(cfg.databases.dir, 'broken.yaml'));
  // Unreachable: a port nothing listens on.
  const dirR = join(cfg.stateDir, 'rules');
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const dead = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/x.tar.gz`;
  await new Promise((resolve) => srv.close(resolve));
  await writeSources(dirR, enableSource(await readSources(dirR), { name: 'et/open', url: dead }));
  await assertNothingChanged(update({ force: true }), /download failed: ECONNREFUSED/);
  await writeSources(dirR, enableSource(await readSources(dirR), { name: 'et/open', url: `${base}${url}` }));
  routes.set(url, good);
});

test('the daemon refusing the new rules puts the previous file back', async () => {
  const before = installedBytes();
  routes.set('/et/emerging.rules.tar.gz', { body: tgz({ 'rules/emerging-test.rules': RULES_A.replace(/rev:1;/g, 'rev:3;') }) });
  await assert.rejects(
    update({ reload: () => Promise.reject(new BulwarkError('BULWARK_ERR_LIMIT', 'state limit')) }),
    (e: unknown) => isBulwarkError(e) && /the daemon refused the new rules \(state limit\); the previous rules file was put back/.test(e.message),
  );
  assert.equal(installedBytes(), before);
  // Accepted this time: the new rev is installed and the old one kept as .prev.
  const r = await update();
  assert.equal(r.changed, true);
  assert.match(installedBytes() ?? '', /rev:3;/);
  assert.equal(readFileSync(`${installedRulesFile(cfg)}.prev`, 'latin1'), before);
});

test('local files and file:// URLs as sources; sha256 checksum files; a running update holds the lock', async () => {
  const dirR = join(cfg.stateDir, 'rules');
  const local = join(dir, 'custom.rules');
  writeFileSync(local, 'alert tcp any any -> $HOME_NET 2222 (msg:"L custom"; content:"evil"; sid:9900001; rev:1;)\n');
  writeFileSync(`${local}.sha256`, `${createHash('sha256').update(readFileSync(local)).digest('hex')}  custom.rules\n`);
  await writeSources(dirR, enableSource(await readSources(dirR), { name: 'local/custom', url: `file://${local}`, checksum: 'sha256' }));
  const r = await update();
  assert.deepEqual(r.sources.map((s) => s.name), ['et/open', 'local/custom']);
  assert.equal(r.sources[1]!.kind, 'plain');
  assert.equal(r.sources[1]!.checksum?.algorithm, 'sha256');
  writeFileSync(local, 'alert tcp any any -> $HOME_NET 2222 (msg:"L custom"; content:"evil2"; sid:9900001; rev:2;)\n');
  await assertNothingChanged(update(), /sha256 of .* download refused/);
  writeFileSync(join(dirR, 'update.lock'), `${process.pid}\n`);
  await assert.rejects(update(), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_LOCKED'));
  // A lock left by a dead process is taken over.
  writeFileSync(join(dirR, 'update.lock'), '999999999\n');
  await assert.rejects(update(), (e: unknown) => isBulwarkError(e) && /sha256/.test(e.message));
});

test('fetch: Content-Length over the cap is refused before the body; redirects are bounded', async () => {
  routes.set('/big', { body: Buffer.alloc(5000) });
  await assert.rejects(fetchSource(`${base}/big`, { timeoutMs: 1000, maxBytes: 4000 }), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_LIMIT'));
  const seen: number[] = [];
  const f = await fetchSource(`${base}/big`, { timeoutMs: 1000, maxBytes: 6000, onProgress: (n) => seen.push(n) });
  assert.equal(f.data.length, 5000);
  assert.equal(seen.at(-1), 5000);
  const loop = createServer((req, res) => res.writeHead(302, { location: req.url === '/a' ? '/b' : '/a' }).end());
  await new Promise<void>((resolve) => loop.listen(0, '127.0.0.1', resolve));
  await assert.rejects(fetchSource(`http://127.0.0.1:${(loop.address() as AddressInfo).port}/a`, { timeoutMs: 1000, maxBytes: 10 }), (e: unknown) => isBulwarkError(e) && /more than 5 redirects/.test(e.message));
  loop.close();
  await assert.rejects(fetchSource('ftp://example.invalid/x', { timeoutMs: 1000, maxBytes: 10 }), (e: unknown) => isBulwarkError(e) && /unsupported scheme/.test(e.message));
});
