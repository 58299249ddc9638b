/** Merging sources like suricata-update: duplicates, policy order, flowbit resolution; ET Open as found. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { mergeSources, renderRules, type MergeResult } from '../../../src/rules/merge.js';
import { EMPTY_POLICY, parseMatcherFile, parseModifyFile, type RulePolicy } from '../../../src/rules/policy.js';
import { logicalLines, parseRuleText } from '../../../src/rules/ruletext.js';
import { parseRule } from '../../../src/signatures/rules.js';
import { defaultConfig } from '../../../src/config/types.js';

const r = (sid: number, opts = '', rev = 1, action = 'alert'): string => `${action} tcp $EXTERNAL_NET any -> $HOME_NET 80 (msg:"r${sid}"; content:"x${sid}"; ${opts} sid:${sid}; rev:${rev};)`;

function policy(p: { disable?: string; enable?: string; drop?: string; modify?: string }): RulePolicy {
  return {
    disable: p.disable ? parseMatcherFile('disable.conf', p.disable) : [],
    enable: p.enable ? parseMatcherFile('enable.conf', p.enable) : [],
    drop: p.drop ? parseMatcherFile('drop.conf', p.drop) : [],
    modify: p.modify ? parseModifyFile('modify.conf', p.modify) : [],
  };
}

function state(m: MergeResult): Record<number, string> {
  const out: Record<number, string> = {};
  for (const x of m.rules) out[x.rule.sid] = `${x.rule.enabled ? (x.rule.noalert ? 'noalert' : 'on') : 'off'}${x.rule.action === 'drop' ? '+drop' : ''}`;
  return out;
}

test('duplicates keep the higher rev in the first position; deleted files are ignored', () => {
  const m = mergeSources(
    [
      { name: 'a/one', files: [{ path: 'rules/a.rules', text: [r(1), r(2, '', 3)].join('\n') }, { path: 'rules/emerging-deleted.rules', text: r(9) }] },
      { name: 'b/two', files: [{ path: 'b.rules', text: [r(2, '', 5), r(1, '', 1), '# just a comment', r(3)].join('\n') }] },
    ],
    { policy: EMPTY_POLICY, ignore: ['*deleted.rules'] },
  );
  assert.deepEqual(m.rules.map((x) => x.rule.sid), [1, 2, 3]);
  assert.equal(m.rules[1]!.rule.rev, 5);
  assert.equal(m.rules[1]!.source, 'b/two');
  assert.equal(m.stats.duplicates, 2);
  assert.deepEqual(m.stats.ignoredFiles, ['a/one:rules/emerging-deleted.rules']);
  // The group line follows the rule's file, so a replaced rule is listed under its own file.
  assert.deepEqual(renderRules(m.rules).split('\n').filter((l) => l.startsWith('# group')), ['# group a/one rules/a.rules', '# group b/two b.rules']);
});

test('policy order: disable, then enable (enable wins), then drop, then modify; noalert rules never drop', () => {
  const text = [r(1), `# ${r(2)}`, r(3), r(4), r(5, 'flowbits:set,x; flowbits:noalert;'), r(6, 'flowbits:isset,x;')].join('\n');
  const m = mergeSources([{ name: 's/x', files: [{ path: 'x.rules', text }] }], {
    policy: policy({ disable: '1\n3\n', enable: '2\n3\n', drop: '*\n', modify: '4 "content:\\"x4\\"" "content:\\"y4\\""\n' }),
    ignore: [],
  });
  // As in suricata-update, drop.conf rewrites disabled rules too (they stay disabled).
  assert.deepEqual(state(m), { 1: 'off+drop', 2: 'on+drop', 3: 'on+drop', 4: 'on+drop', 5: 'noalert', 6: 'on+drop' });
  assert.match(m.rules[3]!.rule.raw, /^drop .*content:"y4"/);
  assert.equal(m.stats.disabledByPolicy, 2);
  assert.equal(m.stats.enabledByPolicy, 2);
  assert.equal(m.stats.modified, 1);
  assert.deepEqual(m.stats.changes.enabled, ['1:2', '1:3']);
  // A disabled rule is written commented out; bulwark's importer then never sees it.
  const out = renderRules(m.rules);
  assert.ok(out.includes(`# ${r(1).replace(/^alert/, 'drop')}`));
});

test('a modify that breaks the rule keeps it unchanged, with a warning', () => {
  const m = mergeSources([{ name: 's/x', files: [{ path: 'x.rules', text: r(1) }] }], { policy: policy({ modify: '1 "sid:1;" ""\n' }), ignore: [] });
  assert.equal(m.rules[0]!.rule.sid, 1);
  assert.match(m.warnings[0]!, /would no longer parse/);
});

test('flowbits: disabled setters of checked bits come back as noalert, transitively, across files; a|b names count', () => {
  const a = [`# ${r(10, 'flowbits:set,stage1; flowbits:noalert;')}`, `# ${r(11, 'flowbits:isset,stage1; flowbits:set,stage2;')}`, `# ${r(12, 'flowbits:toggle,unused;')}`].join('\n');
  const b = [r(20, 'flowbits:isset,stage2|other;'), `# ${r(21, 'flowbits:set,other;')}`].join('\n');
  const m = mergeSources(
    [{ name: 'v/n', files: [{ path: 'a.rules', text: a }, { path: 'b.rules', text: b }] }],
    { policy: EMPTY_POLICY, ignore: [] },
  );
  assert.deepEqual(state(m), { 10: 'noalert', 11: 'noalert', 12: 'off', 20: 'on', 21: 'noalert' });
  assert.equal(m.stats.enabledForFlowbits, 3);
  assert.equal(m.stats.crossFileFlowbitChecks, 1);
  const line = renderRules(m.rules).split('\n').find((l) => l.includes('sid:11;'))!;
  assert.match(line, /^alert .*noalert; sid:11;/);
  // bulwark's importer loads the noalert rule and keeps it silent.
  const d = parseRule(line, 'x.rules', 1, { vars: defaultConfig().databases.vars });
  assert.ok(!('reason' in d));
  assert.ok(d.sig.flowbits.some((f) => f.op === 'noalert'));
});

test('ET Open as found: disabling whole groups keeps the setters other enabled rules need, as noalert', () => {
  const dir = new URL('../../../../shared/corpus/et-open/', import.meta.url).pathname;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.rules'))
    .map((f) => ({ path: `rules/${f}`, text: readFileSync(join(dir, f), 'utf8') }));
  const base = mergeSources([{ name: 'et/open', files }], { policy: EMPTY_POLICY, ignore: ['*deleted.rules'] });
  // The shipped files check bits set in other files, and some setters are disabled by default.
  assert.ok(base.stats.crossFileFlowbitChecks >= 80, `cross-file checks ${base.stats.crossFileFlowbitChecks}`);
  assert.ok(base.stats.enabledForFlowbits > 0);
  const p = policy({ disable: 'group:emerging-info\ngroup:emerging-policy\n' });
  const m = mergeSources([{ name: 'et/open', files }], { policy: p, ignore: ['*deleted.rules'] });
  // Invariant: every bit an enabled rule checks is set by an enabled rule, whenever any rule sets it.
  const setters = new Map<string, boolean>();
  for (const x of m.rules) {
    for (const f of x.rule.flowbits) {
      const [op, names = ''] = f.split(',', 2);
      if (!['set', 'unset', 'toggle', 'setx'].includes(op!.trim())) continue;
      for (const n of names.split(/[|&]/)) setters.set(n.trim(), (setters.get(n.trim()) ?? false) || x.rule.enabled);
    }
  }
  let checked = 0;
  for (const x of m.rules) {
    if (!x.rule.enabled) continue;
    for (const f of x.rule.flowbits) {
      const [op, names = ''] = f.split(',', 2);
      if (op!.trim() !== 'isset' && op!.trim() !== 'isnotset') continue;
      for (const n of names.split(/[|&]/)) {
        if (!setters.has(n.trim())) continue;
        checked++;
        assert.equal(setters.get(n.trim()), true, `sid ${x.rule.sid} checks ${n} but no enabled rule sets it`);
      }
    }
  }
  assert.ok(checked > 100);
  // Rules of the disabled groups came back only as noalert, never as alerting rules.
  const revived = m.rules.filter((x) => x.changes.includes('disabled') && x.rule.enabled);
  assert.ok(revived.length > 0);
  for (const x of revived) assert.equal(x.rule.noalert, true, `sid ${x.rule.sid}`);
  // The merged text parses back to the same rule states.
  const back = new Map<number, boolean>();
  for (const l of logicalLines(renderRules(m.rules))) {
    const t = parseRuleText(l.text);
    if (t) back.set(t.sid, t.enabled);
  }
  for (const x of m.rules) assert.equal(back.get(x.rule.sid), x.rule.enabled);
});
