/**
 * `bulwark scan` on capture files, suricata-verify style (a pcap, a test.rules beside its data
 * files, checks on the EVE alerts by sid and count): the `dataset` keyword (load relative to the
 * rules file, isset/isnotset, set/unset across flows, a type conflict skipped) and
 * `app-layer-event` on an HTTP anomaly. Captures are built by the test into a temporary
 * directory (addresses from the test ranges), through the built CLI (node bin/bulwark.js).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from './netns.js';
import { buildPcap } from '../../src/engine/pcap-writer.js';
import { Conv } from '../unit/engine/helpers.js';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/bulwark.js');
let dir: string;

interface Eve {
  event_type: string;
  src_port: number;
  alert: { signature_id: number };
}

function newestMtime(d: string): number {
  let m = 0;
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    m = Math.max(m, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return m;
}

before(async () => {
  const distScan = path.join(root, 'dist/cli/commands/scan.js');
  if (!existsSync(distScan) || statSync(distScan).mtimeMs < newestMtime(path.join(root, 'src'))) {
    await run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { timeoutMs: 180_000 });
  }
  assert.ok(existsSync(distScan), 'build did not produce dist/cli/commands/scan.js');
  dir = mkdtempSync(path.join(tmpdir(), 'bulwark-scan-datasets-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** One HTTP request per flow, each from its own client port; returns the pcap path. */
function capture(name: string, requests: string[]): string {
  const frames = [];
  let ts = 1_700_000_000_000_000;
  for (const [i, req] of requests.entries()) {
    const c = new Conv('203.0.113.20', '198.51.100.10', 41000 + i, 80, { tsUs: ts }).handshake().c(req).s('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').fin();
    frames.push(...c.frames);
    ts += 1_000_000;
  }
  const p = path.join(dir, name);
  writeFileSync(p, buildPcap(frames));
  return p;
}

const get = (uri: string, ua: string): string => `GET ${uri} HTTP/1.1\r\nHost: victim\r\nUser-Agent: ${ua}\r\n\r\n`;

async function scan(pcap: string, rules: string): Promise<{ alerts: Eve[]; stats: Record<string, unknown> }> {
  const r = await run(process.execPath, [bin, 'scan', pcap, '--rules', rules, '--json'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Eve & Record<string, unknown>);
  return { alerts: lines.filter((l) => l.event_type === 'alert'), stats: lines.find((l) => l.event_type === 'stats') ?? {} };
}

const count = (alerts: Eve[], sid: number): number => alerts.filter((a) => a.alert.signature_id === sid).length;

test('dataset isset / isnotset with a load file beside the rules file', async () => {
  const sub = path.join(dir, 'load');
  mkdirSync(sub);
  writeFileSync(path.join(sub, 'datasets.csv'), `${Buffer.from('curl/7.43.0').toString('base64')}\n`);
  const rules = path.join(sub, 'test.rules');
  writeFileSync(
    rules,
    [
      'alert http any any -> any any (msg:"ua seen"; http.user_agent; dataset:isset,ua-seen,type string,load datasets.csv; sid:1;)',
      'alert http any any -> any any (msg:"ua new"; http.user_agent; dataset:isnotset,ua-seen,type string,load datasets.csv; sid:2;)',
      'alert http any any -> any any (msg:"conflict"; http.user_agent; dataset:isset,ua-seen,type md5; sid:3;)',
    ].join('\n') + '\n',
  );
  const pcap = capture('load.pcap', [get('/a', 'curl/7.43.0'), get('/b', 'Wget/1.21'), get('/c', 'curl/7.43.0')]);
  const { alerts, stats } = await scan(pcap, rules);
  assert.equal(count(alerts, 1), 2, JSON.stringify(alerts));
  assert.equal(count(alerts, 2), 1);
  assert.equal(count(alerts, 3), 0);
  assert.equal(stats.signatures, 2, 'the type conflict is skipped');
});

test('dataset set / unset across flows: set matches only the first time, unset only when present', async () => {
  const rules = path.join(dir, 'unset.rules');
  writeFileSync(
    rules,
    [
      'alert http any any -> any any (http.uri; content:"/toto"; http.user_agent; dataset:set,ua-seen,type string; sid:1;)',
      'alert http any any -> any any (http.uri; content:"/tata"; http.user_agent; dataset:unset,ua-seen,type string; sid:2;)',
    ].join('\n') + '\n',
  );
  // as suricata-verify's datasets-10-unset: useragent1 and useragent2 on /toto, useragent1 on /tata;
  // then useragent1 again on /toto (added again after the unset) and on /tata twice
  const pcap = capture('unset.pcap', [
    get('/toto', 'useragent1'), get('/toto', 'useragent2'), get('/toto', 'useragent2'), get('/tata', 'useragent1'),
    get('/tata', 'useragent1'), get('/toto', 'useragent1'),
  ]);
  const { alerts } = await scan(pcap, rules);
  assert.deepEqual(alerts.map((a) => [a.alert.signature_id, a.src_port]), [[1, 41000], [1, 41001], [2, 41003], [1, 41005]]);
});

test('app-layer-event on an HTTP anomaly; an undetected event skips its rule', async () => {
  const rules = path.join(dir, 'events.rules');
  writeFileSync(
    rules,
    [
      'alert http any any -> any any (msg:"chunk extension"; flow:established,to_server; app-layer-event:http.request_chunk_extension; sid:2221054;)',
      'alert http any any -> any any (msg:"double encoded"; flow:established,to_server; app-layer-event:http.double_encoded_uri; sid:2221040;)',
    ].join('\n') + '\n',
  );
  const chunked = 'POST /up HTTP/1.1\r\nHost: victim\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\n\r\n';
  const pcap = capture('events.pcap', [chunked, get('/', 'x')]);
  const { alerts, stats } = await scan(pcap, rules);
  assert.deepEqual(alerts.map((a) => [a.alert.signature_id, a.src_port]), [[2221054, 41000]]);
  assert.equal(stats.signatures, 1);
});
