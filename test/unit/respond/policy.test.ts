/**
 * The response policy (src/respond/policy): matching, first match wins, the signature's own
 * action as fallback, and the shipped defaults on real ET Open rules read from
 * ../shared/corpus/et-open at test time (never copied into the repository).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { compilePolicy, etCategory, policyFromConfig, subjectOfDetection, subjectOfSignature } from '../../../src/respond/policy/policy.js';
import { parsePriority } from '../../../src/respond/policy/priority.js';
import { ALERT_ONLY_CATEGORIES, ATTACK_CLASSTYPES, DEFAULT_POLICY, SERVER_ATTACK_CATEGORIES } from '../../../src/respond/policy/defaults.js';
import type { PolicyRule, PolicySubject } from '../../../src/respond/policy/types.js';
import { parseRule, parseRulesFile } from '../../../src/signatures/rules.js';
import type { Signature } from '../../../src/signatures/types.js';
import type { Detection } from '../../../src/engine/types.js';
import { defaultConfig } from '../../../src/config/types.js';
import { parseConfig } from '../../../src/config/parse.js';
import { isBulwarkError } from '../../../src/errors.js';

function subject(over: Partial<PolicySubject> = {}): PolicySubject {
  return { sid: 2000001, gid: 1, msg: 'ET EXPLOIT Something Inbound', classtype: 'attempted-admin', priority: 1, severity: 'high', metadata: [], origin: 'rules', ruleAction: 'alert', ...over };
}

test('priority conditions', () => {
  assert.deepEqual(['1', '<=2', '<3', '>=2', '>1', '1-2', '= 3'].map(parsePriority), [
    { min: 1, max: 1 },
    { min: 0, max: 2 },
    { min: 0, max: 2 },
    { min: 2, max: 255 },
    { min: 2, max: 255 },
    { min: 1, max: 2 },
    { min: 3, max: 3 },
  ]);
  for (const bad of ['', 'high', '<=', '3-1', '1,2']) assert.equal(parsePriority(bad), undefined, bad);
  assert.throws(
    () => compilePolicy([{ match: { priority: 'x' }, action: 'block' }], 'response.policy'),
    (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CONFIG') && /response\.policy\[0\]\.match\.priority/.test(e.message),
  );
});

test('ET category: the first two words of the message, case-insensitive', () => {
  assert.equal(etCategory('ET WEB_SPECIFIC_APPS Foo SQL Injection'), 'ET WEB_SPECIFIC_APPS');
  assert.equal(etCategory('  gpl   sql  xp_cmdshell'), 'GPL SQL');
  assert.equal(etCategory('Intrusion.HTTP.Log4Shell.JNDI'), 'INTRUSION.HTTP.LOG4SHELL.JNDI');
});

test('every condition: all given must hold, any value of a list; first match wins; no match: the own action', () => {
  const rules: PolicyRule[] = [
    { name: 'by-sid', match: { sid: [1, 2] }, action: 'ignore' },
    { name: 'by-gid', match: { gid: [3] }, action: 'alert' },
    { name: 'cat-and-class', match: { category: ['et exploit'], classtype: ['Attempted-Admin'] }, action: 'block' },
    { name: 'prio', match: { priority: '<=2', origin: ['rules'] }, action: 'alert' },
    { name: 'sev', match: { severity: ['critical'] }, action: 'block' },
    { name: 'meta', match: { metadata: { signature_severity: ['major'], attack_target: ['Server', 'Web_Server'] } }, action: 'block' },
    { name: 'own', match: { ruleAction: ['block'] }, action: 'rule' },
    { name: 'det', match: { detector: ['portscan'] }, action: 'alert' },
  ];
  const p = compilePolicy(rules);
  const d = (o: Partial<PolicySubject>) => p.decide(subject(o));
  assert.deepEqual(d({ sid: 2 }), { action: 'ignore', rule: 'by-sid', reason: 'sid 2' });
  assert.equal(d({ gid: 3 }).rule, 'by-gid');
  assert.deepEqual(d({}), { action: 'block', rule: 'cat-and-class', reason: 'category ET EXPLOIT, classtype attempted-admin' });
  assert.equal(d({ classtype: 'attempted-user' }).rule, 'prio', 'the category alone does not match cat-and-class');
  assert.equal(d({ classtype: 'attempted-user', priority: 3 }).rule, 'rule-action');
  assert.equal(d({ msg: 'ET INFO x', classtype: undefined, priority: undefined, severity: 'critical' }).rule, 'sev');
  const meta = d({ msg: 'ET INFO x', classtype: 'misc-activity', priority: 3, metadata: [['attack_target', 'Web_Server'], ['signature_severity', 'Major']] });
  assert.deepEqual(meta, { action: 'block', rule: 'meta', reason: 'signature_severity Major, attack_target Web_Server' });
  assert.equal(d({ msg: 'ET INFO x', classtype: 'misc-activity', priority: 3, metadata: [['signature_severity', 'Major']] }).rule, 'rule-action', 'every metadata key must be present');
  assert.deepEqual(d({ msg: 'ET INFO x', classtype: 'misc-activity', priority: 3, ruleAction: 'block' }), { action: 'block', rule: 'own', reason: 'rule action block' });
  assert.deepEqual(d({ msg: 'ET INFO x', classtype: 'misc-activity', priority: 3 }), { action: 'alert', rule: 'rule-action', reason: "no policy rule matched: the signature's own action (alert)" });
  assert.equal(d({ msg: 'Scan.TCP.PortScan', origin: 'yaml', classtype: undefined, priority: undefined, detector: 'portscan' }).rule, 'det');
  assert.equal(d({ msg: 'X', origin: 'yaml', classtype: undefined, priority: undefined, detector: 'synflood' }).rule, 'rule-action');
  assert.equal(compilePolicy([{ match: {}, action: 'ignore' }]).decide(subject()).rule, '#1', 'unnamed rules are named by position; {} matches everything');
});

test('a detection is judged on what it carries; priority falls back to the classtype default', () => {
  const det: Detection = {
    timestampMs: 0,
    flowId: 1n,
    srcIp: '203.0.113.5',
    srcPort: 4000,
    destIp: '198.51.100.10',
    destPort: 1433,
    proto: 'TCP',
    signatureId: 2000002,
    rev: 1,
    signature: 'ET EXPLOIT Thing',
    category: 'attempted-user',
    severity: 'high',
    action: 'alert',
    handshakeCompleted: true,
    gid: 1,
    classtype: 'attempted-user',
    origin: 'rules',
  };
  const s = subjectOfDetection(det);
  assert.equal(s.priority, 1, 'attempted-user: priority 1 in classification.config');
  assert.equal(s.origin, 'rules');
  const p = policyFromConfig(defaultConfig().response);
  assert.deepEqual(p.decide(s), { action: 'block', rule: 'server-attacks', reason: 'category ET EXPLOIT, classtype attempted-user' });
  const withoutOrigin: Detection = { ...det };
  delete withoutOrigin.origin;
  assert.equal(p.decide(subjectOfDetection(withoutOrigin)).rule, 'bulwark-databases', 'a detection without origin counts as a bulwark database one');
  assert.equal(p.decide(subjectOfDetection({ ...det, detector: 'portscan', action: 'block', signature: 'Scan.TCP.PortScan' })).action, 'block');
});

test('configuration: operator rules first, then the shipped defaults (unless defaultPolicy: false); schema errors name file:line', () => {
  const cfg = parseConfig(
    `response:
  policy:
    - name: lab-scanner-sid
      match: { sid: [2008517] }
      action: alert
    - match: { category: ["ET INFO"], metadata: { signature_severity: [Major] } }
      action: block
`,
    '/etc/bulwark/bulwark.yaml',
  );
  const p = policyFromConfig(cfg.response);
  assert.equal(p.rules.length, 2 + DEFAULT_POLICY.length);
  assert.deepEqual(p.decide(subject({ sid: 2008517, classtype: 'attempted-user' })), { action: 'alert', rule: 'lab-scanner-sid', reason: 'sid 2008517' });
  assert.equal(p.decide(subject({ msg: 'ET INFO x', metadata: [['signature_severity', 'Major']] })).rule, '#2');
  assert.equal(p.decide(subject({ sid: 2008518, classtype: 'attempted-user' })).rule, 'server-attacks');
  const only = policyFromConfig({ ...cfg.response, defaultPolicy: false });
  assert.equal(only.decide(subject({ sid: 2008518 })).rule, 'rule-action', 'without the defaults an ET alert rule only alerts');
  assert.throws(
    () => parseConfig('response:\n  policy:\n    - match: { priority: "high" }\n      action: block\n    - match: {}\n      action: drop\n    - action: alert\n', '/etc/bulwark/bulwark.yaml'),
    (e: unknown) => {
      assert.ok(isBulwarkError(e, 'BULWARK_ERR_CONFIG'));
      assert.match(e.message, /bulwark\.yaml:3:\d+: response\.policy\[0\]\.match\.priority: "high" is not a priority condition/);
      assert.match(e.message, /bulwark\.yaml:6:\d+: response\.policy\[1\]\.action: expected one of "block", "alert", "ignore", "rule"/);
      assert.match(e.message, /bulwark\.yaml:7:\d+: response\.policy\[2\]: missing required key "match"/);
      return true;
    },
  );
});

// ---- the shipped defaults on the real ET Open corpus ----

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const corpus = resolve(repoRoot, '../shared/corpus/et-open');
const present = existsSync(corpus);
const skip = !present && process.env.CI !== 'true' && `no corpus at ${corpus} (outside CI only; CI has shared/ beside the clone)`;

/** Every rule line of the corpus by sid, and the signatures today's importer loads. */
function loadCorpus(): { lineOf: Map<number, string>; sigs: Signature[] } {
  const vars = defaultConfig().databases.vars;
  const lineOf = new Map<number, string>();
  const sigs: Signature[] = [];
  for (const f of readdirSync(corpus).filter((n) => n.endsWith('.rules'))) {
    const text = readFileSync(join(corpus, f), 'utf8');
    for (const line of text.split('\n')) {
      const m = /[(;]\s*sid\s*:\s*(\d+)\s*;/.exec(line);
      if (m && !line.startsWith('#')) lineOf.set(Number(m[1]), line);
    }
    for (const d of parseRulesFile(join(corpus, f), text, { vars }).drafts) sigs.push({ ...d.sig, ports: [], fastPatternIndex: -1 });
  }
  return { lineOf, sigs };
}

test('the default policy on ET Open: server attacks block, informational and policy categories alert, ET metadata respected', { skip }, () => {
  const { lineOf, sigs } = loadCorpus();
  const policy = policyFromConfig(defaultConfig().response);
  const vars = defaultConfig().databases.vars;
  const decide = (sid: number, edit: (l: string) => string = (l) => l) => {
    const line = lineOf.get(sid);
    assert.ok(line !== undefined, `sid ${sid} in the corpus`);
    const r = parseRule(edit(line), 'corpus.rules', 1, { vars });
    assert.ok(!('reason' in r), `sid ${sid} loads: ${'reason' in r ? r.message : ''}`);
    return policy.decide(subjectOfSignature({ ...r.sig, ports: [], fastPatternIndex: -1 }));
  };
  // An exploit on MSSQL (no ET severity metadata: the classtype decides), Redis and SMB exploits.
  assert.deepEqual(decide(2008517), { action: 'block', rule: 'server-attacks', reason: 'category ET EXPLOIT, classtype attempted-user' });
  assert.equal(decide(2023512).action, 'block');
  assert.equal(decide(2024297).action, 'block');
  // ET INFO rated Major by ET: still only an alert (its category says it is an observation).
  assert.deepEqual(decide(2039188), { action: 'alert', rule: 'alert-only-categories', reason: 'category ET INFO' });
  // Informational, and an ET POLICY rule, alert.
  assert.equal(decide(2039181).rule, 'et-informational');
  assert.equal(decide(2012710).rule, 'alert-only-categories');
  // A GPL rule has no ET metadata and is not in a blocking category: its own action.
  assert.deepEqual(decide(2008517, (l) => l.replace(/msg:"ET EXPLOIT/, 'msg:"GPL SQL')).rule, 'rule-action');
  // The same ET INFO rule written as drop blocks: the rule's own drop/reject always does.
  assert.deepEqual(decide(2039188, (l) => l.replace(/^alert /, 'drop ')), { action: 'block', rule: 'rule-drop', reason: 'rule action block' });

  // Invariants over every rule today's importer loads.
  const alertOnly = new Set<string>(ALERT_ONLY_CATEGORIES);
  const blockCats = new Set<string>(SERVER_ATTACK_CATEGORIES);
  const attack = new Set<string>(ATTACK_CLASSTYPES);
  let blocks = 0;
  for (const s of sigs) {
    const d = policy.decide(subjectOfSignature(s));
    const cat = etCategory(s.name);
    const meta = new Map(s.metadata.map(([k, v]) => [k, v]));
    if (alertOnly.has(cat)) assert.equal(d.action, 'alert', `${s.id} ${s.name}`);
    if (meta.get('signature_severity') === 'Informational' || meta.get('signature_severity') === 'Minor') assert.equal(d.action, 'alert', `${s.id}`);
    if (d.action === 'block') {
      blocks++;
      assert.ok(blockCats.has(cat) && s.classtype !== undefined && attack.has(s.classtype), `${s.id} ${s.name} blocks only as a server attack`);
    }
    if (blockCats.has(cat) && s.classtype !== undefined && attack.has(s.classtype) && !['Informational', 'Minor'].includes(meta.get('signature_severity') ?? '') && meta.get('confidence') !== 'Low' && !s.metadata.some(([k, v]) => k === 'deployment' && v === 'alert_only')) {
      assert.equal(d.action, 'block', `${s.id} ${s.name} should block`);
    }
  }
  assert.ok(blocks >= 100, `${blocks} of ${sigs.length} loaded ET rules block`);
  console.log(`# default policy on the ET Open rules that load today: ${blocks} block, ${sigs.length - blocks} alert`);
});
