/**
 * `bulwark rules update` end to end: ET Open in its real tarball layout (rules/*.rules,
 * classification.config, …) is built at run time from ../shared/corpus/et-open (never committed)
 * and served over HTTP with its .md5 by a mirror host inside the test namespaces. The update
 * installs it, the running daemon reloads, `db info --active` names it and a loaded ET rule
 * (turned into a blocking one by drop.conf) blocks a live attacker. Corrupt, oversized,
 * unreachable and bad-checksum sources change nothing: same file, same active ruleset.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestNet, type Host, type TestNet } from './netns.js';
import { BIN, ROOT, startDaemon, type DaemonHandle } from './daemon.js';

const CORPUS = join(ROOT, '..', 'shared', 'corpus', 'et-open');
const CLIENT = join(ROOT, 'test', 'e2e', 'tools', 'tcp-client.mjs');
const SERVER = join(ROOT, 'test', 'e2e', 'tools', 'static-server.mjs');
/** ET SCAN Grim's Ping (emerging-scan.rules): "PASS " then "gpuser@home.com" to port 21. */
const ET_SID = 2007802;

let net: TestNet;
let mirror: Host;
let prot: Host;
let attacker: Host;
let daemon: DaemonHandle;
let www: string;
let work: string;

function md5(file: string): string {
  return createHash('md5').update(readFileSync(file)).digest('hex');
}

/** Publishes DIR/NAME.tar.gz of `src` (a directory holding rules/) and its .md5 (or the given one). */
function publish(sub: string, tarball: Buffer | string, sum?: string): string {
  mkdirSync(join(www, sub), { recursive: true });
  const out = join(www, sub, 'emerging.rules.tar.gz');
  if (typeof tarball === 'string') copyFileSync(tarball, out);
  else writeFileSync(out, tarball);
  writeFileSync(`${out}.md5`, `${sum ?? md5(out)}\n`);
  return `http://${mirror.ip4}:8000/${sub}/emerging.rules.tar.gz`;
}

async function cli(args: string[], config?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  if (config === undefined) return daemon.cli(args, { timeoutMs: 120_000 });
  return prot.exec(process.execPath, [BIN, '--config', config, ...args], { env: daemon.env, timeoutMs: 120_000 });
}

interface DbInfo {
  version: string;
  signatures: number;
  databases: { name: string; version: string }[];
}
async function activeInfo(): Promise<DbInfo> {
  const r = await cli(['db', 'info', '--active', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as DbInfo;
}

before(async () => {
  net = await createTestNet(['mirror', 'protected', 'attacker']);
  mirror = net.host('mirror');
  prot = net.host('protected');
  attacker = net.host('attacker');
  work = mkdtempSync(join(tmpdir(), 'bulwark-rules-e2e-'));
  www = join(work, 'www');
  // ET Open's real layout, built from the corpus at run time.
  const et = join(work, 'et');
  mkdirSync(join(et, 'rules'), { recursive: true });
  for (const f of readdirSync(CORPUS).filter((n) => n.endsWith('.rules'))) copyFileSync(join(CORPUS, f), join(et, 'rules', f));
  writeFileSync(join(et, 'rules', 'classification.config'), 'config classification: network-scan,Detection of a Network Scan,3\nconfig classification: attempted-admin,Attempted Administrator Privilege Gain,1\n');
  writeFileSync(join(et, 'rules', 'reference.config'), 'config reference: url http://\n');
  writeFileSync(join(et, 'rules', 'emerging-deleted.rules'), `alert tcp any any -> any 21 (msg:"deleted"; content:"x"; sid:${ET_SID}; rev:99;)\n`);
  const tgz = join(work, 'emerging.rules.tar.gz');
  execFileSync('tar', ['-czf', tgz, '-C', et, 'rules']);
  publish('good', tgz);
  const good = readFileSync(tgz);
  publish('badsum', tgz, '0123456789abcdef0123456789abcdef');
  publish('corrupt', Buffer.concat([good.subarray(0, 4096), Buffer.alloc(4096, 0x41), good.subarray(8192)]));
  publish('unsafe', (() => {
    const evil = join(work, 'evil');
    mkdirSync(join(evil, 'rules'), { recursive: true });
    writeFileSync(join(evil, 'rules', 'x.rules'), 'alert tcp any any -> any 1 (sid:1;)\n');
    execFileSync('tar', ['-czf', join(work, 'evil.tgz'), '-C', evil, 'rules', '--transform', 's,^rules/x.rules,../../x.rules,', '-P']);
    return readFileSync(join(work, 'evil.tgz'));
  })());
  mirror.spawn(process.execPath, [SERVER, www, '0.0.0.0', '8000']);
  const policy = join(work, 'drop.conf');
  writeFileSync(policy, `# make the ET scan rule block\n${ET_SID}\n`);
  daemon = await startDaemon(prot, {
    config: { protection: { enabled: true }, interfaces: ['eth0'], rules: { dropConf: policy, disableConf: '', enableConf: '', modifyConf: '' } },
    readyTimeoutMs: 30_000,
  });
  await daemon.waitForLog((e) => e.msg === 'protection enabled', 20_000);
  for (let i = 0; i < 50; i++) {
    if ((await prot.exec('curl', ['-s', '-o', '/dev/null', '--max-time', '2', `http://${mirror.ip4}:8000/good/emerging.rules.tar.gz.md5`])).code === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await daemon.destroy();
  await net.destroy();
  rmSync(work, { recursive: true, force: true });
});

test('rules update installs ET Open from the mirror, the daemon reloads, db info --active shows it, an ET rule blocks', async () => {
  const before = await activeInfo();
  assert.ok(!before.databases.some((d) => d.name === 'et/open'));
  const en = await cli(['rules', 'sources', 'enable', 'et/open', '--url', `http://${mirror.ip4}:8000/good/emerging.rules.tar.gz`]);
  assert.equal(en.code, 0, en.stderr);
  assert.match(en.stdout, /md5 from http:\/\/198\.51\.100\.10:8000\/good\/emerging\.rules\.tar\.gz\.md5/);
  const up = await cli(['rules', 'update']);
  assert.equal(up.code, 0, `${up.stdout}${up.stderr}`);
  assert.match(up.stdout, /et\/open: downloaded .*md5 verified/);
  assert.match(up.stdout, /ignored files: et\/open:rules\/emerging-deleted\.rules/);
  assert.match(up.stdout, /the daemon reloaded: bulwark-core [^,]+, et\/open \d{4}\.\d\d\.\d\d/);
  const after = await activeInfo();
  const et = after.databases.find((d) => d.name === 'et/open');
  assert.ok(et, JSON.stringify(after.databases));
  assert.match(after.version, /et\/open/);
  assert.ok(after.signatures >= before.signatures + 1000, `${before.signatures} → ${after.signatures} signatures`);
  const human = await cli(['db', 'info', '--active']);
  assert.match(human.stdout, /database:\s+.*et\/open \d{4}\.\d\d\.\d\d \(released \d{4}-\d\d-\d\d\)/);
  // Flowbit setters disabled in the tarball came back as noalert.
  const stats = JSON.parse((await cli(['rules', 'stats', '--json'])).stdout) as { manifest: { stats: { enabledForFlowbits: number; crossFileFlowbitChecks: number; dropped: number } } };
  assert.ok(stats.manifest.stats.enabledForFlowbits > 0);
  assert.ok(stats.manifest.stats.crossFileFlowbitChecks >= 80);
  assert.equal(stats.manifest.stats.dropped, 1);
  const listed = await cli(['rules', 'list', '--sid', String(ET_SID)]);
  assert.match(listed.stdout, new RegExp(`${ET_SID}\\s+4\\s+enabled \\(dropped\\)\\s+emerging-scan\\.rules\\s+loads`));
  // The ET rule works in the live daemon: drop.conf made it a blocking rule.
  await attacker.exec(process.execPath, [CLIENT, JSON.stringify({ host: prot.ip4, port: 21, payload: 'USER anonymous\r\nPASS gpuser@home.com\r\n' })], { timeoutMs: 20_000 });
  const ev = await (async () => {
    for (let i = 0; i < 100; i++) {
      const r = await cli(['events', '--sid', String(ET_SID), '--json']);
      const line = r.stdout.trim().split('\n').find((l) => l.includes('"event_type":"alert"'));
      if (line) return JSON.parse(line) as { src_ip: string; alert: { action: string; signature: string } };
      await new Promise((r2) => setTimeout(r2, 100));
    }
    throw new Error('no alert for the ET rule');
  })();
  assert.equal(ev.src_ip, attacker.ip4);
  assert.equal(ev.alert.action, 'blocked');
  assert.equal(ev.alert.signature, "ET SCAN Grim's Ping ftp scanning tool");
  await cli(['unblock', '--all']);
});

test('a corrupt, unsafe, oversized, unreachable or bad-checksum source changes nothing and the old set stays active', async () => {
  const file = join(daemon.stateDir, 'rules', 'bulwark.rules');
  const installed = readFileSync(file);
  const active = await activeInfo();
  const small = join(work, 'small.yaml');
  // The daemon's configuration with a 64 KiB download limit (the tarball is larger).
  writeFileSync(small, readFileSync(daemon.configFile!, 'utf8').replace(/^rules:\n/m, 'rules:\n  maxDownloadSize: 64KiB\n'));
  const cases: { name: string; url: string; config?: string; error: RegExp }[] = [
    { name: 'bad checksum', url: `http://${mirror.ip4}:8000/badsum/emerging.rules.tar.gz`, error: /md5 of .* the source publishes 0123456789abcdef0123456789abcdef .*download refused/ },
    { name: 'corrupt tarball', url: `http://${mirror.ip4}:8000/corrupt/emerging.rules.tar.gz`, error: /corrupt gzip data|corrupt tar archive|truncated tar/ },
    { name: 'unsafe tarball', url: `http://${mirror.ip4}:8000/unsafe/emerging.rules.tar.gz`, error: /unsafe archive entry: ".." in path/ },
    { name: 'oversized download', url: `http://${mirror.ip4}:8000/good/emerging.rules.tar.gz`, config: small, error: /larger than the download limit/ },
    { name: 'unreachable mirror', url: `http://${mirror.ip4}:8001/good/emerging.rules.tar.gz`, error: /download failed: ECONNREFUSED/ },
    { name: 'missing file (404)', url: `http://${mirror.ip4}:8000/nothing/emerging.rules.tar.gz`, error: /download failed: HTTP 404/ },
  ];
  for (const c of cases) {
    const en = await cli(['rules', 'sources', 'enable', 'et/open', '--url', c.url]);
    assert.equal(en.code, 0, en.stderr);
    const r = await cli(['rules', 'update', '--force'], c.config);
    assert.equal(r.code, 1, `${c.name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, c.error, c.name);
    assert.deepEqual(readFileSync(file), installed, `${c.name}: the installed rules changed`);
    const now = await activeInfo();
    assert.equal(now.version, active.version, c.name);
    assert.equal(now.signatures, active.signatures, c.name);
  }
  // Back to the good mirror: unchanged (published md5 = cached copy), nothing rewritten.
  await cli(['rules', 'sources', 'enable', 'et/open', '--url', `http://${mirror.ip4}:8000/good/emerging.rules.tar.gz`]);
  const again = await cli(['rules', 'update']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /unchanged \(published checksum matches the cache\)/);
  assert.match(again.stdout, /unchanged \(nothing to install/);
  assert.deepEqual(readFileSync(file), installed);
});
