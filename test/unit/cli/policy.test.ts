/** `bulwark policy show|explain` (src/cli/commands/policy.ts) offline, with a fake context and temp files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { policyCommand } from '../../../src/cli/commands/policy.js';
import { defaultConfig, type Config } from '../../../src/config/types.js';
import { BulwarkError, isBulwarkError } from '../../../src/errors.js';
import type { CliContext } from '../../../src/cli/types.js';

const shipped = fileURLToPath(new URL('../../../databases', import.meta.url));
// Synthetic rules in ET's style (not ET text).
const RULES = `alert tcp any any -> $HOME_NET 1433 (msg:"ET EXPLOIT Unit abuse"; flow:to_server,established; content:"FROBNICATE"; classtype:attempted-admin; sid:3000001; rev:2;)
alert tcp any any -> $HOME_NET 1433 (msg:"ET INFO Unit query"; flow:to_server,established; content:"SELECT"; classtype:misc-activity; threshold:type limit, track by_src, count 1, seconds 60; sid:3000002; rev:1;)
`;

function ctx(cfg: Config): { c: CliContext; out: () => string } {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (d: Buffer) => (text += d.toString()));
  return {
    c: { json: false, configPath: undefined, stdout, stderr: new PassThrough(), control: () => Promise.reject(new BulwarkError('BULWARK_ERR_UNREACHABLE', 'no daemon')), config: () => Promise.resolve(cfg) },
    out: () => text,
  };
}

function files(): { rules: string; threshold: string; cfg: Config } {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-policy-cli-'));
  const rules = join(dir, 'unit.rules');
  const threshold = join(dir, 'threshold.config');
  writeFileSync(rules, RULES);
  writeFileSync(threshold, 'suppress gen_id 1, sig_id 3000001, track by_src, ip 203.0.113.5\nthreshold gen_id 1, sig_id 3000002, type both, track by_dst, count 5, seconds 10\n');
  const cfg = defaultConfig();
  cfg.databases.dir = shipped;
  cfg.response.thresholdFile = threshold;
  return { rules, threshold, cfg };
}

test('policy show: the rules in force and how many signatures each decides', async () => {
  const { rules, cfg } = files();
  const { c, out } = ctx(cfg);
  assert.equal(await policyCommand.run(c, ['show', '--rules', rules, '--json']), 0);
  const j = JSON.parse(out()) as { rules: { name: string }[]; decisions: Record<string, number>; byRule: Record<string, Record<string, number>>; byCategory: Record<string, Record<string, number>> };
  assert.deepEqual(j.rules.map((r) => r.name), ['bulwark-databases', 'rule-drop', 'et-informational', 'et-low-confidence', 'et-alert-only', 'alert-only-categories', 'server-attacks']);
  assert.deepEqual(j.decisions, { block: 1, alert: 1, ignore: 0 });
  assert.deepEqual(j.byCategory, { 'ET EXPLOIT': { block: 1 }, 'ET INFO': { alert: 1 } });
  const human = ctx(cfg);
  assert.equal(await policyCommand.run(human.c, ['show', '--rules', rules]), 0);
  assert.match(human.out(), /7\s+server-attacks\s+block\s+.*\s1\s+0\s+0\n/);
});

test('policy explain: decision, threshold entries and the threshold that counts; unknown sid → exit 1', async () => {
  const { rules, threshold, cfg } = files();
  const { c, out } = ctx(cfg);
  assert.equal(await policyCommand.run(c, ['explain', '3000001', '3000002', '--rules', rules, '--json']), 0);
  const [a, b] = (JSON.parse(out()) as { rules: Record<string, unknown>[] }).rules;
  assert.deepEqual(a!.decision, { action: 'block', rule: 'server-attacks', reason: 'category ET EXPLOIT, classtype attempted-admin' });
  assert.deepEqual(a!.thresholds, [{ at: `${threshold}:1`, entry: 'suppress gen_id 1, sig_id 3000001, track by_src, ip 203.0.113.5' }]);
  assert.equal(a!.activeThreshold, null);
  assert.equal((b!.decision as { rule: string }).rule, 'alert-only-categories');
  assert.equal(b!.activeThreshold, `${threshold}:2: threshold gen_id 1, sig_id 3000002, type both, track by_dst, count 5, seconds 10`, "the file's threshold replaces the rule's own");
  const human = ctx(cfg);
  assert.equal(await policyCommand.run(human.c, ['explain', '3000001', '42', '--rules', rules]), 1);
  assert.match(human.out(), /decision:\s+block \(policy rule server-attacks: category ET EXPLOIT, classtype attempted-admin\)/);
  assert.match(human.out(), /sid 42: not in the loaded ruleset/);
  await assert.rejects(policyCommand.run(human.c, ['explain', 'x']), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_USAGE'));
});
