/**
 * The regex engine (PCRE2 through native/pcre2, docs/regex.md):
 *   1. throughput of the shipped databases' pcre (and ET Open's, when ../shared/corpus is there)
 *      over benign HTTP requests, PCRE2 JIT vs the interpreter vs V8's RegExp on a Latin-1 copy
 *      (what the product did before, for the patterns V8 can compile);
 *   2. the pathological cases of issue 14 with the match limit: (a+)+$ on 31 bytes and signature
 *      9000225 (old and new form) on 12 KB of ../, time per match and per packet through the
 *      engine; V8 without a limit on smaller inputs for comparison (it grows exponentially).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileRegex, regexEngineInfo, type Regex } from '../src/regex/regex.js';
import { parsePcre } from '../src/signatures/pcre.js';
import { compileRuleset } from '../src/signatures/compile.js';
import { Engine } from '../src/engine/engine.js';
import { defaultConfig } from '../src/config/types.js';
import { silentLogger } from '../src/log/index.js';
import { tcpFrame } from '../src/engine/pcap-writer.js';
import { REGEX_LIMIT } from '../src/regex/types.js';

const root = join(import.meta.dirname, '..');
const ov = new Int32Array(2);

function time<T>(fn: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

// ---- 1. throughput
const specs: string[] = [];
for (const f of readdirSync(join(root, 'databases'))) {
  if (!f.endsWith('.yaml')) continue;
  for (const m of readFileSync(join(root, 'databases', f), 'utf8').matchAll(/^\s*- pcre: '(.*)'\s*$/gm)) specs.push(m[1]!.replace(/''/g, "'"));
}
const etDir = join(root, '..', 'shared', 'corpus', 'et-open');
let etCount = 0;
if (existsSync(etDir)) {
  for (const f of readdirSync(etDir).filter((x) => x.endsWith('.rules'))) {
    for (const m of readFileSync(join(etDir, f), 'utf8').matchAll(/pcre:"((?:[^"\\]|\\.)*)"/g)) {
      const t = m[1]!.replace(/^!/, '').replace(/\\([";])/g, '$1');
      specs.push(t);
      etCount++;
    }
  }
}
interface Compiled {
  jit: Regex;
  interp: Regex;
  v8: RegExp | undefined;
}
const compiled: Compiled[] = [];
let refused = 0;
for (const s of specs) {
  try {
    const p = parsePcre(s);
    const o = { caseless: p.caseless, dotall: p.dotall, multiline: p.multiline, extended: p.extended, anchored: p.anchored, dollarEndOnly: p.dollarEndOnly, ungreedy: p.ungreedy, noAutoCapture: true };
    let v8: RegExp | undefined;
    try {
      if (!p.extended && !p.anchored && !p.dollarEndOnly && !p.ungreedy) v8 = new RegExp(p.pattern, `g${p.caseless ? 'i' : ''}${p.dotall ? 's' : ''}${p.multiline ? 'm' : ''}`);
    } catch {
      v8 = undefined;
    }
    compiled.push({ jit: compileRegex(p.pattern, o), interp: compileRegex(p.pattern, { ...o, jit: false }), v8 });
  } catch {
    refused++;
  }
}
const requests: Buffer[] = [];
for (let i = 0; i < 64; i++) {
  requests.push(
    Buffer.from(
      `GET /app/v${i}/items?id=${i * 7919}&sort=name&q=${'x'.repeat(i % 16)} HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/${100 + i}.0\r\nAccept: text/html,application/xhtml+xml\r\nCookie: session=${(i * 104729).toString(16)}; theme=dark\r\nConnection: keep-alive\r\n\r\n`,
      'latin1',
    ),
  );
}
const bytesPerPass = requests.reduce((a, b) => a + b.length, 0);
function throughput(kind: 'jit' | 'interp' | 'v8'): { mbps: number; execPerSec: number; n: number } {
  const set = compiled.filter((c) => c.v8 !== undefined || kind !== 'v8');
  let execs = 0;
  const passes = 3;
  const { ms } = time(() => {
    for (let p = 0; p < passes; p++) {
      for (const r of requests) {
        const text = kind === 'v8' ? r.toString('latin1') : '';
        for (const c of set) {
          if (kind === 'v8') {
            c.v8!.lastIndex = 0;
            c.v8!.exec(text);
          } else (kind === 'jit' ? c.jit : c.interp).exec(r, 0, r.length, ov);
          execs++;
        }
      }
    }
  });
  return { mbps: (bytesPerPass * passes * set.length) / 1e6 / (ms / 1000), execPerSec: execs / (ms / 1000), n: set.length };
}
const info = regexEngineInfo();
console.log(`\n== regex engine: PCRE2 ${info.version}, JIT ${info.jit ? info.jitTarget : 'unavailable'}`);
console.log(`patterns: ${compiled.length} compiled (${specs.length - etCount} shipped, ${etCount} ET Open pcre keywords), ${refused} refused by PCRE2 or with an unknown modifier`);
for (const k of ['jit', 'interp', 'v8'] as const) {
  const t = throughput(k);
  console.log(`throughput ${k.padEnd(6)}: ${t.mbps.toFixed(0).padStart(6)} MB/s of subject, ${(t.execPerSec / 1e6).toFixed(2)} M matches/s over ${t.n} patterns × ${requests.length} benign requests`);
}

// ---- 2. pathological cases with the limit
const a31 = Buffer.from('a'.repeat(30) + '!');
const dots12k = Buffer.from('../'.repeat(4096));
const OLD_225 = String.raw`(?:\.\.[\/\\]){2,}(?:[\w.-]+[\/\\])*?(?:etc[\/\\](?:passwd|shadow|hosts)|windows[\/\\]win\.ini|boot\.ini|proc[\/\\]self[\/\\])`;
const NEW_225 = String.raw`\.\.[\/\\]\.\.[\/\\](?:[\w.\/\\-]*[\/\\])?(?:etc[\/\\](?:passwd|shadow|hosts)|windows[\/\\]win\.ini|boot\.ini|proc[\/\\]self[\/\\])`;
function perMatch(label: string, re: Regex, subject: Buffer): void {
  const n = 200;
  let rc = 0;
  const { ms } = time(() => {
    for (let i = 0; i < n; i++) rc = re.exec(subject, 0, subject.length, ov);
  });
  console.log(`${label.padEnd(52)}: ${((ms / n) * 1000).toFixed(1).padStart(7)} µs per match (${rc === REGEX_LIMIT ? 'match limit hit' : rc > 0 ? 'match' : 'no match'})`);
}
console.log('\n== pathological inputs, match limit 3500 / depth 1500 (Suricata defaults)');
for (const jit of [true, false]) {
  const tag = jit ? 'JIT' : 'interpreter';
  perMatch(`(a+)+$ on 31 bytes, ${tag}`, compileRegex('(a+)+$', { jit }), a31);
  perMatch(`9000225 old form on 12 KB of ../, ${tag}`, compileRegex(OLD_225, { caseless: true, jit }), dots12k);
  perMatch(`9000225 new form on 12 KB of ../, ${tag}`, compileRegex(NEW_225, { caseless: true, jit }), dots12k);
}
console.log('\n== the same in V8 RegExp without a limit (the engine before PCRE2), smaller inputs');
/(a+)+$/.exec('a'.repeat(15) + '!'); // tier up V8's regexp code first
for (const n of [22, 24, 26]) {
  const s = 'a'.repeat(n - 1) + '!';
  const { ms } = time(() => /(a+)+$/.exec(s));
  console.log(`(a+)+$ on ${n} bytes, V8${' '.repeat(38 - String(n).length)}: ${ms.toFixed(0).padStart(7)} ms (doubles per byte: 31 bytes ≈ ${((ms * 2 ** (31 - n)) / 1000).toFixed(0)} s)`);
}
{
  const old = new RegExp(OLD_225, 'i');
  const s = '../'.repeat(1024);
  const { ms } = time(() => old.exec(s));
  console.log(`9000225 old form on 3 KB of ../, V8${' '.repeat(21)}: ${ms.toFixed(0).padStart(7)} ms (cubic: 12 KB ≈ ${((ms * 64) / 1000).toFixed(0)} s)`);
}

// ---- 3. per packet through the engine (shipped databases + the operator rule)
const dbDir = join(root, 'databases');
const sources = readdirSync(dbDir)
  .filter((f) => f.endsWith('.yaml') && f !== 'network-profiles.yaml')
  .map((f) => ({ file: join(dbDir, f), text: readFileSync(join(dbDir, f), 'utf8') }));
sources.push({ file: 'operator.rules', text: 'alert tcp any any -> any any (msg:"op"; pcre:"/(a+)+$/"; sid:1000001;)' });
const ruleset = compileRuleset(sources);
const engine = new Engine({ ruleset, config: defaultConfig().engine, log: silentLogger(), onDetection: () => undefined });
function perPacket(label: string, payload: Buffer, flows: number): void {
  const frames: { data: Uint8Array; ts: number }[] = [];
  let ts = 1_700_000_000_000_000;
  for (let f = 0; f < flows; f++) {
    const src = `198.51.${100 + ((f >> 8) & 3)}.${f & 255}`;
    const sport = 10000 + f;
    const base = { srcIp: src, dstIp: '203.0.113.1', srcPort: sport, dstPort: 80 };
    frames.push({ data: tcpFrame({ ...base, seq: 1000, ack: 0, flags: 2 }), ts: (ts += 10) });
    frames.push({ data: tcpFrame({ srcIp: '203.0.113.1', dstIp: src, srcPort: 80, dstPort: sport, seq: 5000, ack: 1001, flags: 18 }), ts: (ts += 10) });
    frames.push({ data: tcpFrame({ ...base, seq: 1001, ack: 5001, flags: 16 }), ts: (ts += 10) });
    for (let off = 0; off < payload.length; off += 1448) frames.push({ data: tcpFrame({ ...base, seq: 1001 + off, ack: 5001, flags: 24, payload: payload.subarray(off, off + 1448) }), ts: (ts += 10) });
  }
  const dataPackets = flows * Math.ceil(payload.length / 1448);
  const before = engine.stats().regex.limitHits;
  const { ms } = time(() => {
    for (const f of frames) engine.processPacket(f.data, f.data.length, 1, f.ts);
  });
  const hits = engine.stats().regex.limitHits - before;
  console.log(`${label.padEnd(52)}: ${((ms / dataPackets) * 1000).toFixed(1).padStart(7)} µs per data packet, handshake and flow setup included (${hits} limit hits over ${dataPackets} packets)`);
}
console.log('\n== per packet through the engine (shipped databases + operator rule (a+)+$)');
perPacket('benign 1 KB GET requests', requests[0]!, 2000);
perPacket('31 bytes of a…! (operator rule)', a31, 2000);
perPacket('12 KB of ../ in 9 segments (9000225)', Buffer.from('GET /' + '../'.repeat(4096) + ' HTTP/1.1\r\n\r\n'), 200);
