import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eveReference, parseMetadata, parseReference } from '../../../../src/signatures/keywords/reference.js';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { parseClassificationConfig } from '../../../../src/signatures/keywords/classification.js';
import { parseRule } from '../../../../src/signatures/rules.js';
import { defaultConfig } from '../../../../src/config/types.js';

test('references as Suricata EVE writes them: reference.config prefix + id; url with its own scheme kept; unknown system as system://', () => {
  assert.equal(eveReference('url', 'github.com/corelight/zerologon'), 'https://github.com/corelight/zerologon');
  assert.equal(eveReference('url', 'foobar://github.com/x'), 'foobar://github.com/x');
  assert.equal(eveReference('cve', '2014-0160'), 'https://cve.mitre.org/cgi-bin/cvename.cgi?name=2014-0160');
  assert.equal(eveReference('CVE', '2021-44228'), 'https://cve.mitre.org/cgi-bin/cvename.cgi?name=2021-44228');
  assert.equal(eveReference('bugtraq', '123'), 'https://www.securityfocus.com/bid/123');
  assert.equal(eveReference('myref', 'abc'), 'myref://abc');
});

test('imported rules carry the EVE category (class description), severity (priority) and references in rule order', () => {
  const r = compileRuleset(
    [
      {
        file: 't.rules',
        text: [
          'alert tcp any any -> any 80 (msg:"a"; content:"x"; reference:cve,2014-0160; reference:url,example.org/a; classtype:attempted-admin; sid:1;)',
          'alert tcp any any -> any 80 (msg:"b"; content:"y"; sid:2;)',
          'alert tcp any any -> any 80 (msg:"c"; content:"z"; classtype:protocol-command-decode; priority:2; sid:3;)',
        ].join('\n'),
      },
    ],
    { anyPorts: [80] },
  );
  const by = (sid: number) => r.signatures.find((s) => s.id === sid)!.eve;
  assert.deepEqual(by(1), {
    category: 'Attempted Administrator Privilege Gain',
    severity: 1,
    references: ['https://cve.mitre.org/cgi-bin/cvename.cgi?name=2014-0160', 'https://example.org/a'],
  });
  assert.deepEqual(by(2), { category: '', severity: 3, references: [] });
  assert.deepEqual(by(3), { category: 'Generic Protocol Command Decode', severity: 2, references: [] });
});

test('a classification.config beside the rules gives the category text', () => {
  const classification = parseClassificationConfig('c', 'config classification: my-class,My Own Class,2\n');
  const r = parseRule('alert tcp any any -> any 80 (msg:"a"; content:"x"; classtype:my-class; sid:1;)', 't.rules', 1, { vars: defaultConfig().databases.vars, classification });
  assert.ok(!('reason' in r));
  assert.deepEqual(r.sig.eve, { category: 'My Own Class', severity: 2, references: [] });
});

test('reference keyword: bulwark form (CVE-…, https URL, system:id) and the EVE form only when a system is named', () => {
  assert.deepEqual(parseReference('cve,2014-0160'), { reference: 'CVE-2014-0160', eve: 'https://cve.mitre.org/cgi-bin/cvename.cgi?name=2014-0160' });
  assert.deepEqual(parseReference('cve, CVE-2021-44228'), { reference: 'CVE-2021-44228', eve: 'https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2021-44228' });
  assert.deepEqual(parseReference('url,http://example.org/a'), { reference: 'https://example.org/a', eve: 'http://example.org/a' });
  assert.deepEqual(parseReference('Bugtraq,123'), { reference: 'bugtraq:123', eve: 'https://www.securityfocus.com/bid/123' });
  assert.deepEqual(parseReference('nosystem'), { reference: 'nosystem:' });
});

test('metadata keyword: "key value" pairs in order, a key without value, empty parts ignored', () => {
  assert.deepEqual(parseMetadata('affected_product Any, signature_severity Major,, former_category  WEB'), [
    ['affected_product', 'Any'],
    ['signature_severity', 'Major'],
    ['former_category', 'WEB'],
  ]);
  assert.deepEqual(parseMetadata('policy'), [['policy', '']]);
  assert.deepEqual(parseMetadata(undefined), []);
});
