// The metrics HTTP server against slow clients, over real sockets on loopback (issue 14: 32 slow
// clients made /metrics unavailable, 28 of 30 scrapes failed).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { MetricsServer } from '../../../src/service/http.js';
import { silentLogger } from '../../../src/log/index.js';

const registry = new Registry();
new Counter({ name: 'bulwark_test_total', help: 'test', registers: [registry] }).inc();
let evicted = 0;
const server = new MetricsServer({ listen: '127.0.0.1:0', registry, healthy: () => true, log: silentLogger(), headersTimeoutMs: 2000, onEvicted: () => evicted++ });
after(() => server.close());

function scrape(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(`${url}/metrics`, { timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        resolve(res.statusCode === 200 && body.includes('bulwark_test_total 1'));
      });
      res.on('error', () => {
        resolve(false);
      });
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.on('error', () => {
      resolve(false);
    });
  });
}

test('issue 14: 32 slow clients (slowloris, reconnecting) do not make /metrics unavailable', async () => {
  await server.start();
  const url = server.url!;
  const { hostname, port } = new URL(url);
  const run = { stop: false };
  const stopped = (): boolean => run.stop;
  const open = new Set<Socket>();
  const slow = async (): Promise<void> => {
    while (!run.stop) {
      const s = connect(Number(port), hostname);
      open.add(s);
      s.on('error', () => undefined);
      const closed = new Promise<void>((r) => s.on('close', () => { r(); }));
      await new Promise<void>((r) => s.once('connect', () => { r(); }).once('error', () => { r(); }));
      const text = 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200);
      for (let i = 0; i < text.length && !stopped(); i++) {
        s.write(text[i]!);
        await Promise.race([new Promise((r) => setTimeout(r, 100)), closed]);
      }
      s.destroy();
      open.delete(s);
    }
  };
  const clients = Array.from({ length: 32 }, () => slow());
  let ok = 0;
  try {
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < 30; i++) {
      if (await scrape(url, 2000)) ok++;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    run.stop = true;
    for (const s of open) s.destroy();
    await Promise.all(clients);
  }
  assert.equal(ok, 30, `${ok} of 30 scrapes answered`);
  assert.ok(evicted > 0, 'stalled connections were closed to make room');
});

test('a connection that never completes its headers is closed by the headers deadline', async () => {
  const { hostname, port } = new URL(server.url!);
  const s = connect(Number(port), hostname);
  s.on('error', () => undefined);
  await new Promise<void>((r) => s.once('connect', () => { r(); }));
  const t0 = Date.now();
  const timer = setInterval(() => s.write('a'), 200);
  s.write('GET /metrics HTTP/1.1\r\nX: ');
  await Promise.race([new Promise<void>((r) => s.on('close', () => { r(); })), new Promise((r) => setTimeout(r, 8000))]);
  s.destroy();
  clearInterval(timer);
  const dt = Date.now() - t0;
  assert.ok(dt >= 1500 && dt < 4500, `closed after ${dt} ms (headers deadline 2 s, checked every second)`);
});
