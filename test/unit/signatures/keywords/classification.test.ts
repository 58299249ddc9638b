/** classification.config beside a rules file: default priorities and classtype validation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseClassificationConfig } from '../../../../src/signatures/keywords/classification.js';
import { parseRule } from '../../../../src/signatures/rules.js';
import { loadDatabases } from '../../../../src/signatures/load.js';
import { defaultConfig } from '../../../../src/config/types.js';
import { isBulwarkError } from '../../../../src/errors.js';

const CONFIG = `# Suricata format
config classification: not-suspicious,Not Suspicious Traffic,3
config classification: lab-attack,A Lab Attack,1
`;
const vars = defaultConfig().databases.vars;

test('parse: names fold to lower case; malformed lines name file:line', () => {
  const m = parseClassificationConfig('c.config', CONFIG);
  assert.deepEqual(m.get('lab-attack'), { description: 'A Lab Attack', priority: 1 });
  assert.equal(m.size, 2);
  assert.throws(() => parseClassificationConfig('c.config', 'config classification: x,y\n'), /c\.config:1:/);
  assert.throws(() => parseClassificationConfig('c.config', '\nconfig classification: x,y,0\n'), /c\.config:2: priority 0/);
});

test('rules: the class gives the default priority and severity; an undefined classtype is skipped (Suricata refuses it)', () => {
  const classification = parseClassificationConfig('c.config', CONFIG);
  const r = parseRule('alert tcp any any -> any 80 (msg:"x"; content:"a"; classtype:lab-attack; sid:1;)', 't.rules', 1, { vars, classification });
  assert.ok(!('reason' in r));
  assert.equal(r.sig.classPriority, 1);
  assert.equal(r.sig.severity, 'high');
  assert.equal(r.sig.priority, undefined, 'priority stays as written');
  const own = parseRule('alert tcp any any -> any 80 (msg:"x"; content:"a"; classtype:lab-attack; priority:3; sid:1;)', 't.rules', 1, { vars, classification });
  assert.ok(!('reason' in own) && own.sig.severity === 'low');
  const un = parseRule('alert tcp any any -> any 80 (msg:"x"; content:"a"; classtype:attempted-admin; sid:1;)', 't.rules', 1, { vars, classification });
  assert.ok('reason' in un && un.reason === 'classtype not in classification.config');
  // Without a classification.config: Suricata's shipped table.
  const d = parseRule('alert tcp any any -> any 80 (msg:"x"; content:"a"; classtype:attempted-admin; sid:1;)', 't.rules', 1, { vars });
  assert.ok(!('reason' in d) && d.sig.classPriority === 1);
});

test('the loader reads classification.config beside the rules file; a bad one is refused with file:line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cls-'));
  const dbDir = mkdtempSync(join(tmpdir(), 'bulwark-cls-db-'));
  try {
    const rules = join(dir, 'lab.rules');
    writeFileSync(rules, 'alert tcp any any -> any 80 (msg:"x"; content:"abc"; classtype:lab-attack; sid:9100001;)\nalert tcp any any -> any 80 (msg:"y"; content:"abd"; classtype:web-application-attack; sid:9100002;)\n');
    writeFileSync(join(dir, 'classification.config'), CONFIG);
    const cfg = { ...defaultConfig().databases, dir: dbDir, requireManifest: false, rules: [rules] };
    const { ruleset } = await loadDatabases(cfg);
    const s = ruleset.signatures.find((x) => x.id === 9100001);
    assert.equal(s?.classPriority, 1);
    assert.equal(ruleset.stats.skipped['classtype not in classification.config'], 1);
    writeFileSync(join(dir, 'classification.config'), 'config classification: broken\n');
    await assert.rejects(loadDatabases(cfg), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_DATABASE') && /classification\.config:1:/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(dbDir, { recursive: true, force: true });
  }
});
