/**
 * Operator commands without a daemon: `bulwark events` over rotated files (filters, follow
 * across rotation, escaping), `blocked` sorting, `rules …` on local sources, progress bars,
 * and the generated man page / completions staying current.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runCli } from '../../../src/cli/main.js';
import { eventFiles, followEvents, readEvents } from '../../../src/cli/eventlog.js';
import { buildFilter } from '../../../src/cli/commands/events.js';
import { sortEntries } from '../../../src/cli/commands/blocked.js';
import { escapeText } from '../../../src/cli/output.js';
import { Progress, render } from '../../../src/cli/progress.js';
import { generatedCliFiles } from '../../../src/cli/generated.js';
import type { EntryLike } from '../../../src/blocklist/cli.js';
import { sink } from './sink.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-ops-'));
test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A Writable that says it is a terminal. */
function tty(): Writable & { text(): string; isTTY: boolean; columns: number } {
  const s = sink() as Writable & { text(): string; isTTY: boolean; columns: number };
  s.isTTY = true;
  s.columns = 100;
  return s;
}

async function cli(argv: string[], o: { stdout?: Writable & { text(): string }; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; out: string; err: string }> {
  const stdout = o.stdout ?? sink();
  const stderr = sink();
  const code = await runCli(argv, { stdout, stderr, env: { BULWARK_SOCKET: join(dir, 'none.sock'), ...o.env } });
  return { code, out: stdout.text(), err: stderr.text() };
}

// Near now: --since skips rotated files last written before the cut-off (by mtime).
const T0 = Math.floor(Date.now() / 1000) * 1000;
const eve = (ms: number): string => new Date(ms).toISOString().replace('Z', '000+0000');
const alertLine = (ms: number, src: string, sid: number, severity: string, sig = `Sig.${sid}`): string =>
  JSON.stringify({ timestamp: eve(ms), event_type: 'alert', src_ip: src, src_port: 4000, dest_ip: '198.51.100.11', dest_port: 80, proto: 'TCP', alert: { action: 'blocked', signature_id: sid, rev: 1, signature: sig, category: 'x', severity: 1 }, bulwark: { event: 'Network attack detected', event_id: 'e', attack: sig, severity, count: 1 } });
const blockLine = (ms: number, src: string, sid: number): string =>
  JSON.stringify({ timestamp: new Date(ms).toISOString(), event_type: 'blocklist', src_ip: src, bulwark: { event: 'host blocked', address: src, reason: `Sig.${sid}`, signature_id: sid, expires_at: new Date(ms + 3600_000).toISOString() } });
const isoLine = (ms: number): string => JSON.stringify({ timestamp: new Date(ms).toISOString(), event_type: 'isolation', isolation: { action: 'on', mode: 'manual', reason: 'drill' }, bulwark: { event: 'Host isolated from network' } });

const events = join(dir, 'log', 'events.json');
mkdirSync(join(dir, 'log'));
writeFileSync(`${events}.2`, [alertLine(T0 - 7200_000, '203.0.113.5', 9000200, 'critical'), 'not json'].join('\n') + '\n');
writeFileSync(`${events}.1`, [blockLine(T0 - 3000_000, '203.0.113.5', 9000200), alertLine(T0 - 1800_000, '198.51.100.77', 2001219, 'medium')].join('\n') + '\n');
writeFileSync(events, [isoLine(T0 - 600_000), alertLine(T0 - 60_000, '2001:db8::66', 9000300, 'high', 'Evil\u001b]0;pwned\u0007\u001b[2J\u202eName')].join('\n') + '\n');
writeFileSync(join(dir, 'log', 'events.json.bak'), 'ignored\n');

test('events: rotated files are read oldest first; filters by type, time, source network, sid and severity', async () => {
  assert.deepEqual(await eventFiles(events), [`${events}.2`, `${events}.1`, events]);
  const all: string[] = [];
  const st = await readEvents(await eventFiles(events), {}, (e) => all.push(String(e.event_type)));
  assert.deepEqual(all, ['alert', 'blocklist', 'alert', 'isolation', 'alert']);
  assert.equal(st.unparsable, 1);
  const pick = async (flags: Partial<Parameters<typeof buildFilter>[0]>): Promise<number[]> => {
    const f = buildFilter({ since: undefined, type: [], src: undefined, sid: [], severity: undefined, ...flags }, T0);
    const out: number[] = [];
    await readEvents(await eventFiles(events), f, (e) => out.push(Date.parse(String(e.timestamp))));
    return out.map((t) => (T0 - t) / 60_000);
  };
  assert.deepEqual(await pick({ type: ['alert'] }), [120, 30, 1]);
  assert.deepEqual(await pick({ since: '1h' }), [50, 30, 10, 1]);
  assert.deepEqual(await pick({ src: '203.0.113.0/24' }), [120, 50]);
  assert.deepEqual(await pick({ src: '2001:db8::/32' }), [1]);
  assert.deepEqual(await pick({ sid: ['9000200'] }), [120, 50]);
  assert.deepEqual(await pick({ severity: 'high' }), [120, 1]);
  assert.throws(() => buildFilter({ since: undefined, type: ['stats'], src: undefined, sid: [], severity: undefined }, T0), /--type stats: expected one of alert, blocklist, isolation, bulwark/);
  assert.throws(() => buildFilter({ since: 'yesterday', type: [], src: undefined, sid: [], severity: undefined }, T0), /--since yesterday/);
});

test('events command: JSON lines as written when not a terminal; an escaped table on a terminal', async () => {
  const cfg = join(dir, 'ev.yaml');
  writeFileSync(cfg, `events:\n  file: ${events}\nstateDir: ${dir}/state\n`);
  const j = await cli(['--config', cfg, 'events', '--type', 'alert', '-n', '2']);
  assert.equal(j.code, 0, j.err);
  const lines = j.out.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.equal(lines[1], readFileSync(events, 'utf8').trimEnd().split('\n')[1]);
  const t = await cli(['--config', cfg, 'events', '--sid', '9000300'], { stdout: tty() });
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /^TIME \(UTC\)\s+TYPE\s+SEVERITY\s+SOURCE\s+SID\s+EVENT/);
  const raw = Array.from(t.out).filter((c) => c !== '\n' && (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f || c === '\u202e'));
  assert.deepEqual(raw, [], 'raw control characters on the terminal');
  assert.match(t.out, /Evil\\x1b\]0;pwned\\x07\\x1b\[2J\\u202eName/);
  assert.equal((await cli(['--config', cfg, 'events', '--severity', 'urgent'])).code, 2);
  assert.equal((await cli(['--config', cfg, 'events', '--file', join(dir, 'nope.json')])).code, 1);
});

test('events --follow: appended lines, then the rest of a rotated file, then the new file', async () => {
  const f = join(dir, 'follow.json');
  writeFileSync(f, `${alertLine(T0, '203.0.113.1', 1, 'low')}\n`);
  const got: number[] = [];
  const ac = new AbortController();
  const done = followEvents(f, true, (l) => got.push((JSON.parse(l) as { alert: { signature_id: number } }).alert.signature_id), ac.signal, 20);
  const wait = async (n: number): Promise<void> => {
    for (let i = 0; i < 200 && got.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  };
  await new Promise((r) => setTimeout(r, 50));
  appendFileSync(f, `${alertLine(T0, '203.0.113.1', 2, 'low')}\n${alertLine(T0, '203.0.113.1', 3, 'low').slice(0, 20)}`);
  await wait(1);
  appendFileSync(f, `${alertLine(T0, '203.0.113.1', 3, 'low').slice(20)}\n`);
  await wait(2);
  // Rotation: a last line lands in the old file after the rename, then the new file starts.
  renameSync(f, `${f}.1`);
  appendFileSync(`${f}.1`, `${alertLine(T0, '203.0.113.1', 4, 'low')}\n`);
  writeFileSync(f, `${alertLine(T0, '203.0.113.1', 5, 'low')}\n`);
  await wait(4);
  ac.abort();
  await done;
  assert.deepEqual(got, [2, 3, 4, 5]);
});

test('blocked: sort by when blocked, expiry, address (numeric, v4 first) or reason', () => {
  const e = (address: string, blockedAtMs: number, expiresAtMs: number, reason: string): EntryLike => ({ address, family: address.includes(':') ? 6 : 4, reason, source: 'cli', blockedAtMs, expiresAtMs });
  const list = [e('198.51.100.20', 3, 10, 'b'), e('2001:db8::1', 1, 30, 'a'), e('198.51.100.3', 2, 20, 'c')];
  assert.deepEqual(sortEntries(list, 'blocked', false).map((x) => x.address), ['2001:db8::1', '198.51.100.3', '198.51.100.20']);
  assert.deepEqual(sortEntries(list, 'address', false).map((x) => x.address), ['198.51.100.3', '198.51.100.20', '2001:db8::1']);
  assert.deepEqual(sortEntries(list, 'expires', true).map((x) => x.address), ['2001:db8::1', '198.51.100.3', '198.51.100.20']);
  assert.deepEqual(sortEntries(list, 'reason', false).map((x) => x.reason), ['a', 'b', 'c']);
});

test('terminal escaping and progress bars: only on a terminal, only after the delay, never with --json', () => {
  assert.equal(escapeText('a\u001b[31mb\u0000\u009b\u200fc\td'), 'a\\x1b[31mb\\x00\\x9b\\u200fc\td', 'tab stays (one escaping for all human output)');
  assert.equal(escapeText('plain ünïcode ✓'), 'plain ünïcode ✓');
  assert.equal(render('et/open', 512 * 1024, 1024 * 1024, true, 80), `et/open [${'#'.repeat(20)}${'.'.repeat(20)}]  50%  512KiB/1MiB`);
  let now = 0;
  const out = tty();
  const p = new Progress(out, { label: 'x', delayMs: 1000, now: () => now });
  p.update(1, 10);
  assert.equal(out.text(), '', 'nothing before the delay');
  now = 1500;
  p.update(5, 10);
  assert.ok(/^\rx \[#+\.+\] {2}50%/.test(out.text()) && out.text().endsWith('\u001b[K'), JSON.stringify(out.text()));
  p.end();
  assert.ok(out.text().endsWith('\r\x1b[K'));
  const quiet = new Progress(undefined, { label: 'x', delayMs: 0 });
  quiet.update(1, 2);
  quiet.end();
});

test('rules CLI on a local source: enable, update (no daemon running), list --sid, stats, errors', async () => {
  const cfg = join(dir, 'rules.yaml');
  const local = join(dir, 'local.rules');
  writeFileSync(local, [
    'alert tcp $EXTERNAL_NET any -> $HOME_NET 6379 (msg:"L one"; flow:established,to_server; content:"SLAVEOF"; sid:9800001; rev:2;)',
    '# alert tcp $EXTERNAL_NET any -> $HOME_NET 6379 (msg:"L setter"; flow:established,to_server; content:"AUTH"; flowbits:set,l.a; sid:9800002; rev:1;)',
    'alert tcp $EXTERNAL_NET any -> $HOME_NET 6379 (msg:"L checker"; flow:established,to_server; flowbits:isset,l.a; content:"EVAL"; sid:9800003; rev:1;)',
    'alert modbus $EXTERNAL_NET any -> $HOME_NET any (msg:"L modbus"; content:"x"; sid:9800004; rev:1;)',
  ].join('\n') + '\n');
  mkdirSync(join(dir, 'db'));
  writeFileSync(cfg, `stateDir: ${dir}/rstate\ndatabases:\n  dir: ${dir}/db\n  requireManifest: false\nrules:\n  disableConf: ""\n  enableConf: ""\n  dropConf: ""\n  modifyConf: ""\n`);
  assert.equal((await cli(['--config', cfg, 'rules', 'update'])).code, 78, 'no source enabled');
  const en = await cli(['--config', cfg, 'rules', 'sources', 'enable', 'local/mine', '--url', local]);
  assert.equal(en.code, 0, en.err);
  const ls = await cli(['--config', cfg, '--json', 'rules', 'sources', 'list']);
  const names = (JSON.parse(ls.out) as { sources: { name: string; state: string }[] }).sources.map((s) => `${s.name}:${s.state}`);
  assert.deepEqual(names, ['local/mine:enabled', 'et/open:available']);
  const up = await cli(['--config', cfg, 'rules', 'update']);
  assert.equal(up.code, 0, up.err);
  assert.match(up.out, /local\/mine: downloaded .* 4 rules in 1 files, 4 enabled/);
  assert.match(up.out, /1 rules enabled as noalert/);
  assert.match(up.out, /bulwark loads 3 of the enabled rules; 1 skipped \(1 protocol modbus\)/);
  assert.match(up.out, /the daemon is not running/);
  const one = await cli(['--config', cfg, 'rules', 'list', '--sid', '9800002']);
  assert.equal(one.code, 0, one.err);
  assert.match(one.out, /9800002\s+1\s+noalert \(for flowbits\)\s+local\.rules\s+loads\s+L setter/);
  assert.match(one.out, /noalert; sid:9800002;/);
  const tls = JSON.parse((await cli(['--config', cfg, 'rules', 'list', '--sid', '9800004', '--json'])).out) as { rules: { bulwark: string }[] };
  assert.equal(tls.rules[0]!.bulwark, 'skipped: protocol modbus');
  assert.equal((await cli(['--config', cfg, 'rules', 'list', '--sid', '1'])).code, 1);
  const st = await cli(['--config', cfg, 'rules', 'stats']);
  assert.equal(st.code, 0, st.err);
  assert.match(st.out, /bulwark loads:\s+3 rules/);
  assert.match(st.out, /protocol modbus/);
  // The offline db info includes the installed rules too.
  const info = JSON.parse((await cli(['--config', cfg, '--json', 'db', 'info'])).out) as { version: string };
  assert.match(info.version, /^local\/mine \d{4}\.\d\d\.\d\d$/);
  assert.equal((await cli(['--config', cfg, 'rules', 'sources', 'disable', 'nope/x'])).code, 1);
  assert.equal((await cli(['--config', cfg, 'rules', 'bogus'])).code, 2);
  // `make run` prints where things are.
  const paths = JSON.parse((await cli(['--config', cfg, '--json', 'config', 'paths'])).out) as Record<string, string>;
  assert.equal(paths.rules, join(dir, 'rstate', 'rules', 'bulwark.rules'));
  assert.equal(paths.metrics, 'http://127.0.0.1:9747/metrics');
  assert.equal(paths.events, '/var/log/bulwark/events.json');
});

test('man page and completions are generated from the command table and current', async () => {
  const root = new URL('../../../', import.meta.url).pathname;
  for (const [path, text] of Object.entries(generatedCliFiles())) {
    assert.equal(readFileSync(join(root, path), 'utf8'), text, `${path} is stale: run npm run gen:cli`);
  }
  const bash = (await cli(['completion', 'bash'])).out;
  assert.equal(bash, readFileSync(join(root, 'packaging/completion/bulwark.bash'), 'utf8'));
  const script = join(dir, 'c.bash');
  writeFileSync(script, `${bash}\nt() { COMP_WORDS=("$@"); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _bulwark; echo "\${COMPREPLY[*]}"; }\nt bulwark ru\nt bulwark rules sources ''\nt bulwark events --type ''\nt bulwark --json isolation exclusions add --direction o\n`);
  const r = spawnSync('bash', [script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trimEnd().split('\n'), ['run rules', 'list enable disable remove', 'alert blocklist isolation bulwark', 'outbound']);
  const z = spawnSync('zsh', ['-n', join(root, 'packaging/completion/_bulwark')], { encoding: 'utf8' });
  assert.equal(z.error, undefined, 'zsh not installed (Makefile SYSTEM_PACKAGES)');
  assert.equal(z.status, 0, z.stderr);
  assert.equal((await cli(['completion', 'fish'])).code, 2);
});
