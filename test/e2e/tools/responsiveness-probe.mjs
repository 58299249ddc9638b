#!/usr/bin/env node
// Probes a daemon's responsiveness from inside its namespace: every `everyMs` it sends one
// control-socket `ping` (a new connection each time, raw protocol) and one GET of the metrics
// URL, and prints one JSON line per answer: { kind: "ping"|"metrics", at (epoch ms of the request), ms, ok }.
// A probe is started only when the previous one of its kind answered, so a stalled daemon shows
// as one long `ms`, not as a pile of queued requests. Stops on SIGTERM (prints { done: true }).
//   node responsiveness-probe.mjs '{"socket":"/tmp/x/bulwark.sock","url":"http://127.0.0.1:9747/metrics","everyMs":50}'
import net from 'node:net';
import http from 'node:http';

const o = JSON.parse(process.argv[2] ?? '{}');
const every = o.everyMs ?? 50;
let stop = false;
const out = (x) => process.stdout.write(JSON.stringify(x) + '\n');

function ping() {
  return new Promise((resolve) => {
    const s = net.createConnection(o.socket);
    let buf = '';
    const timer = setTimeout(() => { s.destroy(); resolve(false); }, 30_000);
    s.on('connect', () => s.write(JSON.stringify({ v: 1, id: 1, cmd: 'ping', args: {} }) + '\n'));
    s.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) { clearTimeout(timer); s.destroy(); resolve(/"pong":true/.test(buf)); }
    });
    s.on('error', () => { clearTimeout(timer); resolve(false); });
  });
}

function metrics() {
  return new Promise((resolve) => {
    const req = http.get(o.url, { timeout: 30_000 }, (res) => {
      let n = 0;
      res.on('data', (d) => { n += d.length; });
      res.on('end', () => resolve(res.statusCode === 200 && n > 0));
    });
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.on('error', () => resolve(false));
  });
}

async function loop(kind, fn) {
  while (!stop) {
    const start = performance.now();
    const ok = await fn();
    const end = performance.now();
    out({ kind, at: Math.round(performance.timeOrigin + start), ms: Math.round((end - start) * 10) / 10, ok });
    const wait = every - (end - start);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

process.on('SIGTERM', () => { stop = true; });
await Promise.all([loop('ping', ping), loop('metrics', metrics)]);
out({ done: true });
