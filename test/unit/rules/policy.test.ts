/** Rule text parsing and the suricata-update policy formats (disable/enable/drop/modify.conf). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRule, logicalLines, parseRuleText, splitRuleOptions, withDrop, withNoalert, type RuleText } from '../../../src/rules/ruletext.js';
import { globRegExp, parseMatcher, parseMatcherFile, parseModifyFile, replacementFn } from '../../../src/rules/policy.js';
import { isBulwarkError } from '../../../src/errors.js';

const R = 'alert tcp $EXTERNAL_NET any -> $HOME_NET 80 (msg:"ET TEST a\\;b \\"q\\""; flow:established,to_server; content:"x|3b|y"; flowbits:set,ET.a; metadata:signature_severity Major, created_at 2020_01_01; classtype:web-application-attack; sid:2000001; rev:7;)';

function rule(line: string): RuleText {
  const r = parseRuleText(line);
  assert.ok(r, `not parsed: ${line}`);
  return r;
}

test('rule text: enabled and commented rules, ids, msg with escapes, flowbits, metadata', () => {
  const r = rule(R);
  assert.equal(r.enabled, true);
  assert.deepEqual([r.action, r.proto, r.gid, r.sid, r.rev], ['alert', 'tcp', 1, 2000001, 7]);
  assert.equal(r.msg, 'ET TEST a;b "q"');
  assert.deepEqual(r.flowbits, ['set,ET.a']);
  assert.deepEqual(r.metadata, ['signature_severity Major', 'created_at 2020_01_01']);
  assert.equal(r.classtype, 'web-application-attack');
  const d = rule(`#${R}`);
  assert.equal(d.enabled, false);
  assert.equal(d.raw, R);
  assert.equal(rule(`## ${R}`).enabled, false);
  assert.equal(formatRule(d), `# ${R}`);
  assert.equal(rule('alert tcp any any -> any any (gid:3; sid:5; noalert;)').gid, 3);
  assert.equal(rule('alert tcp any any -> any any (sid:5; noalert;)').noalert, true);
  assert.equal(rule('alert tcp any any -> any any (flowbits:noalert; sid:5;)').noalert, true);
  // Not rules: prose comments, no sid, unterminated option, unknown action.
  for (const l of ['# alert when something happens', 'alert tcp any any -> any any (msg:"x";)', 'alert tcp any any -> any any (sid:1; msg:"x")', 'frob tcp any any -> any any (sid:1;)', '']) assert.equal(parseRuleText(l), undefined, l);
  assert.deepEqual(splitRuleOptions('a:1; b; c:"x\\;y";'), [{ name: 'a', value: '1' }, { name: 'b', value: undefined }, { name: 'c', value: '"x\\;y"' }]);
});

test('rule text: noalert before sid, drop action, continuation lines', () => {
  assert.equal(withNoalert('alert tcp any any -> any any (msg:"x"; sid:5; rev:1;)'), 'alert tcp any any -> any any (msg:"x"; noalert; sid:5; rev:1;)');
  const once = withNoalert('alert tcp any any -> any any (noalert; sid:5;)');
  assert.equal(once, 'alert tcp any any -> any any (noalert; sid:5;)');
  assert.equal(withDrop('alert tcp any any -> any any (sid:5;)'), 'drop tcp any any -> any any (sid:5;)');
  const lines = logicalLines('alert tcp any any -> any any (msg:"a"; \\\n  sid:9;)\n# c\n');
  assert.equal(lines[0]!.line, 1);
  assert.equal(rule(lines[0]!.text).sid, 9);
  assert.equal(lines[1]!.line, 3);
});

const view = (line: string, file = 'rules/emerging-scan.rules') => ({ rule: rule(line), file });

test('matchers: sid lists, gid:sid, gid:sid:rev, re:, group:, NAME.rules, filename:, metadata:, *', () => {
  const v = view(R);
  const m = (t: string): boolean => {
    const x = parseMatcher(t);
    assert.ok(x, t);
    return x.match(v);
  };
  assert.ok(m('2000001'));
  assert.ok(m('1:2000001'));
  assert.ok(m('5, 2000001'));
  assert.ok(m('1:2000001:7'));
  assert.ok(!m('1:2000001:6'));
  assert.ok(!m('3:2000001'));
  assert.ok(m('re:et test'));
  assert.ok(!m('re:^drop'));
  assert.ok(m('group:emerging-scan'));
  assert.ok(m('group:emerging-s*'));
  assert.ok(m('emerging-scan.rules'));
  assert.ok(!m('group:emerging-web*'));
  assert.ok(m('filename:rules/emerging-*.rules'));
  assert.ok(!m('filename:emerging-scan.rules'));
  assert.ok(m('metadata:signature_severity major'));
  assert.ok(!m('metadata:signature_severity minor'));
  assert.ok(m('*'));
  assert.equal(parseMatcher('bogus'), undefined);
  assert.ok(globRegExp('a[!b]c').test('axc') && !globRegExp('a[!b]c').test('abc'));
});

test('matcher files: comments, trailing " #", and a bad line refused with file:line', () => {
  const ms = parseMatcherFile('/etc/bulwark/disable.conf', '# header\n\n2000001 # noisy\ngroup:emerging-info\n');
  assert.deepEqual(ms.map((x) => x.text), ['2000001', 'group:emerging-info']);
  assert.throws(
    () => parseMatcherFile('/etc/bulwark/disable.conf', '2000001\nnot a matcher\n'),
    (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CONFIG') && /disable\.conf:2: "not a matcher" is not a matcher/.test(e.message),
  );
  assert.throws(() => parseMatcherFile('d.conf', 're:(\n'), (e: unknown) => isBulwarkError(e) && /d\.conf:1: bad regular expression/.test(e.message));
});

test('modify.conf: suricata-update and Oinkmaster forms, back references, Python named groups', () => {
  const [a, b, c] = parseModifyFile('m.conf', [
    '2000001 "rev:7" "rev:8"',
    `modifysid * "^alert(.*)flowbits:set,ET\\.a(.*)$" | "alert\${1}flowbits:set,ET.b\${2}"`,
    're:classtype:web-application-attack "(?P<act>alert)(.*)" "drop\\\\2"',
  ].join('\n'));
  assert.ok(a && b && c);
  assert.equal(a.apply(R)?.includes('rev:8'), true);
  assert.equal(b.apply(R)?.includes('flowbits:set,ET.b;'), true);
  assert.equal(c.apply(R)?.startsWith('drop tcp'), true);
  assert.equal(a.apply('alert tcp any any -> any any (sid:1; rev:1;)'), undefined);
  assert.equal(replacementFn('\\g<x>-\\1-\\\\')(['m', 'one'], { x: 'X' }), 'X-one-\\');
  assert.throws(() => parseModifyFile('m.conf', '\n2000001 "a"\n'), (e: unknown) => isBulwarkError(e) && /m\.conf:2: expected MATCHER "FROM" "TO"/.test(e.message));
  assert.throws(() => parseModifyFile('m.conf', 'nope "a" "b"\n'), (e: unknown) => isBulwarkError(e) && /m\.conf:1: "nope" is not a matcher/.test(e.message));
});
