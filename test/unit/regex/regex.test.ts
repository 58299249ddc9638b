/** The PCRE2 engine (native/pcre2 through src/regex): matching raw bytes, captures, options, limits, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRegex, lazyRegex, regexEngineInfo, regexProblem } from '../../../src/regex/regex.js';
import { DEFAULT_LIMITS, REGEX_LIMIT, REGEX_NOMATCH } from '../../../src/regex/types.js';
import { isBulwarkError } from '../../../src/errors.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('the engine is PCRE2 with the JIT on this machine', () => {
  const info = regexEngineInfo();
  assert.equal(info.engine, 'pcre2');
  assert.match(info.version, /^10\.\d+/);
  assert.equal(info.jit, true);
  assert.equal(compileRegex('a+b').jit, true);
  assert.equal(compileRegex('a+b', { jit: false }).jit, false);
});

test('match, no match, whole-match offsets', () => {
  const re = compileRegex('b+c');
  const ov = new Int32Array(2);
  assert.equal(re.exec(b('aabbbcd'), 0, 7, ov), 1);
  assert.deepEqual([...ov], [2, 6]);
  assert.equal(re.exec(b('aabbbd'), 0, 6, ov), REGEX_NOMATCH);
  assert.equal(re.test(b('xbc')), true);
});

test('captures: numbered, unset and named groups, written into the caller\'s Int32Array', () => {
  const re = compileRegex('(a)(x)?(?<num>\\d+)');
  assert.equal(re.captureCount, 3);
  assert.equal(re.names.get('num'), 3);
  const ov = new Int32Array(8);
  assert.equal(re.exec(b('--a42--'), 0, 7, ov), 4);
  assert.deepEqual([...ov], [2, 5, 2, 3, -1, -1, 3, 5]);
  // A smaller ovector gets the pairs that fit; the count still says how many were set.
  const small = new Int32Array(2);
  assert.equal(re.exec(b('--a42--'), 0, 7, small), 4);
  assert.deepEqual([...small], [2, 5]);
  // Plain groups do not capture under noAutoCapture (Suricata's default); named ones still do.
  const nac = compileRegex('(a)(?<n>b)', { noAutoCapture: true });
  assert.equal(nac.captureCount, 1);
  // ...unless a backreference needs them: compiled again with capturing groups.
  const back = compileRegex('(a)\\1', { noAutoCapture: true });
  assert.equal(back.captureCount, 1);
  assert.equal(back.test(b('xaa')), true);
});

test('offsets inside a larger buffer: start/end bound the subject, from starts the search, offsets stay absolute', () => {
  const big = b('XXXXabcabcYYYY');
  const view = big.subarray(2); // a view with a byteOffset: read in place
  const re = compileRegex('abc');
  const ov = new Int32Array(2);
  assert.equal(re.exec(view, 0, view.length, ov), 1);
  assert.deepEqual([...ov], [2, 5]);
  assert.equal(re.exec(view, 0, view.length, ov, 3), 1); // search from 3 bytes in: the second abc
  assert.deepEqual([...ov], [5, 8]);
  assert.equal(re.exec(view, 0, 7, ov, 3), REGEX_NOMATCH); // end cuts the second abc
  // ^ anchors at `start`; lookbehind cannot see before it (Suricata's relative pcre)
  const anchored = compileRegex('^abc');
  assert.equal(anchored.exec(big, 7, big.length, ov), 1);
  assert.deepEqual([...ov], [7, 10]);
  const behind = compileRegex('(?<=c)abc');
  assert.equal(behind.exec(big, 7, big.length, ov), REGEX_NOMATCH);
  assert.equal(behind.exec(big, 4, big.length, ov), 1);
  assert.deepEqual([...ov], [7, 10]);
  assert.throws(() => re.exec(big, 5, 3, ov), RangeError);
  assert.throws(() => re.exec(big, 0, big.length + 1, ov), RangeError);
});

test('binary subjects: NULs and bytes >= 0x80 are plain bytes (8-bit, no UTF)', () => {
  const data = new Uint8Array([0x00, 0x41, 0x00, 0xff, 0x80, 0x0a, 0xe9]);
  const ov = new Int32Array(2);
  assert.equal(compileRegex('A\\x00\\xff').exec(data, 0, data.length, ov), 1);
  assert.deepEqual([...ov], [1, 4]);
  assert.equal(compileRegex('\\xff.\\n').test(data), true); // . matches 0x80
  assert.equal(compileRegex('\\xff.\\n', {}).test(data), true);
  assert.equal(compileRegex('\\x00$').test(new Uint8Array([0x61, 0x00])), true);
  // caseless folds ASCII only, like Suricata's PCRE (no locale, no UTF)
  assert.equal(compileRegex('\\xc9', { caseless: true }).test(data), false);
  assert.equal(compileRegex('a', { caseless: true }).test(data), true);
  // a pattern given as bytes
  assert.equal(compileRegex(new Uint8Array([0xff, 0x2e])).test(data), true);
});

test('compile options: caseless, dotall, multiline, extended, anchored, dollarEndOnly, ungreedy', () => {
  const ov = new Int32Array(2);
  assert.equal(compileRegex('abc').test(b('ABC')), false);
  assert.equal(compileRegex('abc', { caseless: true }).test(b('ABC')), true);
  assert.equal(compileRegex('a.b').test(b('a\nb')), false);
  assert.equal(compileRegex('a.b', { dotall: true }).test(b('a\nb')), true);
  assert.equal(compileRegex('^b$').test(b('a\nb\nc')), false);
  assert.equal(compileRegex('^b$', { multiline: true }).test(b('a\nb\nc')), true);
  assert.equal(compileRegex('a b # comment').test(b('ab')), false);
  assert.equal(compileRegex('a b # comment', { extended: true }).test(b('ab')), true);
  assert.equal(compileRegex('b').test(b('ab')), true);
  assert.equal(compileRegex('b', { anchored: true }).test(b('ab')), false);
  assert.equal(compileRegex('b', { anchored: true }).exec(b('ab'), 0, 2, ov, 1), 1); // anchored at the start offset
  assert.equal(compileRegex('a$').test(b('a\n')), true);
  assert.equal(compileRegex('a$', { dollarEndOnly: true }).test(b('a\n')), false);
  const greedy = compileRegex('<.+>');
  greedy.exec(b('<a><b>'), 0, 6, ov);
  assert.deepEqual([...ov], [0, 6]);
  compileRegex('<.+>', { ungreedy: true }).exec(b('<a><b>'), 0, 6, ov);
  assert.deepEqual([...ov], [0, 3]);
});

test('PCRE features JavaScript lacks: possessive, atomic, lookbehind alternatives, backreference, \\G, inline (?i), recursion, conditionals', () => {
  const ov = new Int32Array(2);
  assert.equal(compileRegex('a++a').test(b('aaaa')), false);
  assert.equal(compileRegex('a*+b').test(b('aaab')), true);
  assert.equal(compileRegex('(?>a+)a').test(b('aaaa')), false);
  // lookbehind: each alternative fixed-length, of different lengths (PCRE2 allows it; JS-style
  // unbounded lookbehind is refused with an offset, see below)
  assert.equal(compileRegex('(?<=ab|xyz)c').test(b('xyzc')), true);
  assert.equal(compileRegex('(?<=ab|xyz)c').test(b('yzc')), false);
  assert.equal(compileRegex('(?<!foo)bar').test(b('foobar')), false);
  assert.equal(compileRegex('\\b(\\w+) \\1\\b').test(b('hey hey')), true);
  assert.equal(compileRegex('\\b(\\w+) \\1\\b').test(b('hey you')), false);
  assert.equal(compileRegex('(?<w>\\w)\\k<w>').test(b('xx')), true);
  // \G: anchored at the start offset of this search
  const g = compileRegex('\\Gb');
  assert.equal(g.exec(b('abab'), 0, 4, ov, 1), 1);
  assert.equal(g.exec(b('abab'), 0, 4, ov, 0), REGEX_NOMATCH);
  assert.equal(compileRegex('a(?i)b').test(b('aB')), true);
  assert.equal(compileRegex('a(?i)b').test(b('AB')), false);
  assert.equal(compileRegex('a(?i:b)c').test(b('aBc')), true);
  assert.equal(compileRegex('^(\\((?:[^()]|(?1))*\\))$').test(b('(a(b)(c(d)))')), true);
  assert.equal(compileRegex('^(\\((?:[^()]|(?1))*\\))$').test(b('(a(b)(c(d))')), false);
  assert.equal(compileRegex('^(a)?(?(1)b|c)$').test(b('ab')), true);
  assert.equal(compileRegex('^(a)?(?(1)b|c)$').test(b('c')), true);
  assert.equal(compileRegex('^(a)?(?(1)b|c)$').test(b('ac')), false);
  assert.equal(compileRegex('\\Qa.b\\E').test(b('axb')), false);
});

test('the match limit: (a+)+$ on 31 bytes and the 9000225 traversal pattern on 12 KB of ../ stop at the limit', () => {
  const ov = new Int32Array(2);
  const a31 = b('a'.repeat(30) + '!');
  for (const jit of [true, false]) {
    const re = compileRegex('(a+)+$', { jit });
    assert.equal(re.exec(a31, 0, a31.length, ov), REGEX_LIMIT, `jit ${jit}`);
    // With a limit large enough it is a plain no match: the limit is what stopped it.
    assert.equal(re.exec(b('aaaa!'), 0, 5, ov, 0, { ...DEFAULT_LIMITS, matchLimit: 10_000_000 }), REGEX_NOMATCH);
  }
  const traversal = compileRegex(
    '(?:\\.\\.[\\/\\\\]){2,}(?:[\\w.-]+[\\/\\\\])*?(?:etc[\\/\\\\](?:passwd|shadow|hosts)|windows[\\/\\\\]win\\.ini|boot\\.ini|proc[\\/\\\\]self[\\/\\\\])',
    { caseless: true },
  );
  const dots = b('../'.repeat(4096));
  assert.equal(traversal.exec(dots, 0, dots.length, ov), REGEX_LIMIT);
  // a depth limit stops the interpreter (the JIT has no depth limit, only the match limit)
  const deep = compileRegex('^(a|b)*!', { jit: false });
  const ab = b('ab'.repeat(5000) + '!');
  assert.equal(deep.exec(ab, 0, ab.length, ov, 0, { matchLimit: 100_000_000, depthLimit: 100, heapLimitKiB: 65536 }), REGEX_LIMIT);
  assert.equal(deep.exec(ab, 0, ab.length, ov, 0, { matchLimit: 100_000_000, depthLimit: 100_000, heapLimitKiB: 65536 }), 2);
});

test('compile errors: BulwarkError BULWARK_ERR_REGEX with PCRE2\'s message and the offset', () => {
  const cases: [string, RegExp, number][] = [
    ['a(b', /missing closing parenthesis/, 3],
    ['a{3,2}', /numbers out of order/, 5],
    ['(?<=a+)b', /lookbehind assertion is not fixed length/, 0],
    ['x\\', /\\ at end of pattern/, 2],
    ['[z-a]', /range out of order/, 3],
  ];
  for (const [pattern, message, offset] of cases) {
    assert.throws(
      () => compileRegex(pattern),
      (e: unknown) => {
        assert.ok(isBulwarkError(e, 'BULWARK_ERR_REGEX'), String(e));
        assert.match(e.message, message);
        assert.match(e.message, new RegExp(`at offset ${offset}$`));
        const p = regexProblem(e);
        assert.ok(p, pattern);
        assert.equal(p.offset, offset, pattern);
        assert.ok(p.pcre2Code > 100);
        return true;
      },
    );
  }
});

test('a lazy regex compiles on its first exec and matches as the eager one', () => {
  const eager = compileRegex('(?<word>ad(m)in)\\.php', { caseless: true, noAutoCapture: true });
  const lazy = lazyRegex({ pattern: eager.spec.pattern, options: eager.spec.options, limits: { ...eager.limits }, captureCount: eager.captureCount, jit: eager.jit, names: [...eager.names] });
  assert.equal(lazy.compiled, false, 'nothing compiled before use');
  assert.equal(lazy.captureCount, eager.captureCount);
  assert.deepEqual([...lazy.names], [...eager.names]);
  const subject = b('GET /ADMIN.PHP');
  const o1 = new Int32Array(6);
  const o2 = new Int32Array(6);
  assert.equal(lazy.exec(subject, 0, subject.length, o1), eager.exec(subject, 0, subject.length, o2));
  assert.deepEqual(o1, o2);
  assert.equal(lazy.compiled, true);
  assert.equal(lazy.exec(b('nothing'), 0, 7), REGEX_NOMATCH);
  // A spec that no longer gives what the loading thread found is a bug, said so at first use.
  const wrong = lazyRegex({ pattern: 'a(b)c', options: {}, limits: { ...DEFAULT_LIMITS }, captureCount: 5, jit: true, names: [] });
  assert.throws(() => wrong.exec(b('abc'), 0, 3), (e: unknown) => isBulwarkError(e) && e.code === 'BULWARK_ERR_INTERNAL');
});
