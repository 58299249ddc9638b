import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandTable, ControlServer } from '../../../src/service/control-server.js';
import { connectControl, controlCall } from '../../../src/service/control-client.js';
import { BulwarkError, isBulwarkError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log/index.js';

let dir: string;
let socketPath: string;
let server: ControlServer;
const requests: string[] = [];
const rejected: string[] = [];

/** Raw connection that collects reply lines. */
function raw(path = socketPath): Promise<{ s: Socket; lines: string[]; next(): Promise<Record<string, unknown>>; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    const lines: string[] = [];
    const waiters: (() => void)[] = [];
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) !== -1) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        waiters.shift()?.();
      }
    });
    const closed = new Promise<void>((r) => s.on('close', () => { r(); }));
    s.on('error', () => undefined);
    let read = 0;
    const next = async (): Promise<Record<string, unknown>> => {
      while (lines.length <= read) await new Promise<void>((r) => waiters.push(r));
      return JSON.parse(lines[read++]!) as Record<string, unknown>;
    };
    s.once('connect', () => { resolve({ s, lines, next, closed }); });
    s.once('error', reject);
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bulwark-ctl-'));
  socketPath = join(dir, 'sub', 'bulwark.sock');
  const commands = new CommandTable();
  commands.register('ping', () => Promise.resolve('pong'));
  commands.register('echo', (args) => Promise.resolve(args));
  commands.register('fail', () => Promise.reject(new BulwarkError('BULWARK_ERR_NOT_FOUND', 'no such thing', { details: { what: 'x' } })));
  commands.register('crash', () => Promise.reject(new TypeError('boom')));
  commands.register('big', () => Promise.resolve('x'.repeat(1024 * 1024)));
  commands.register('slow', async (args) => {
    await new Promise((r) => setTimeout(r, Number(args.ms ?? 300)));
    return 'done';
  });
  server = new ControlServer(
    {
      socketPath,
      log: silentLogger(),
      maxConnections: 30,
      idleTimeoutMs: 1500,
      requestTimeoutMs: 1000,
      onRequest: (cmd, result) => requests.push(`${cmd}:${result}`),
      onRejected: (r) => rejected.push(r),
    },
    commands,
  );
  await server.start();
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('socket is 0600 in a created 0755 parent directory', () => {
  assert.equal(statSync(socketPath).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o755);
});

test('request/response with ids; errors carry code, message and details', async () => {
  assert.equal(await controlCall(socketPath, 'ping'), 'pong');
  assert.deepEqual(await controlCall(socketPath, 'echo', { a: [1, 'x'] }), { a: [1, 'x'] });
  await assert.rejects(controlCall(socketPath, 'fail'), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_NOT_FOUND') && e.message === 'no such thing' && e.details?.what === 'x');
  await assert.rejects(controlCall(socketPath, 'crash'), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INTERNAL') && e.message.includes('boom'));
  const c = await raw();
  c.s.write('{"v":1,"id":"abc","cmd":"echo","args":{"k":1}}\n');
  assert.deepEqual(await c.next(), { v: 1, id: 'abc', ok: true, result: { k: 1 } });
  c.s.destroy();
});

test('malformed JSON, non-object, wrong version, bad args, unknown command: error replies, connection stays usable', async () => {
  const c = await raw();
  c.s.write('{not json\n');
  let r = await c.next();
  assert.equal(r.ok, false);
  assert.equal((r.error as Record<string, unknown>).code, 'BULWARK_ERR_PROTOCOL');
  assert.equal(r.id, null);
  c.s.write('[1,2]\n');
  r = await c.next();
  assert.equal((r.error as Record<string, unknown>).code, 'BULWARK_ERR_PROTOCOL');
  c.s.write('{"v":2,"id":5,"cmd":"ping"}\n');
  r = await c.next();
  assert.equal(r.id, 5);
  assert.match(String((r.error as Record<string, unknown>).message), /unsupported protocol version 2/);
  c.s.write('{"id":6,"cmd":"ping"}\n');
  r = await c.next();
  assert.match(String((r.error as Record<string, unknown>).message), /version missing/);
  c.s.write('{"v":1,"id":7,"cmd":"echo","args":[1]}\n');
  r = await c.next();
  assert.match(String((r.error as Record<string, unknown>).message), /"args" must be a JSON object/);
  c.s.write('{"v":1,"id":8,"cmd":"rm -rf"}\n');
  r = await c.next();
  assert.equal((r.error as Record<string, unknown>).code, 'BULWARK_ERR_NOT_FOUND');
  assert.match(String((r.error as Record<string, unknown>).message), /unknown command "rm -rf"/);
  c.s.write('\n{"v":1,"id":9,"cmd":"ping"}\n');
  r = await c.next();
  assert.deepEqual(r, { v: 1, id: 9, ok: true, result: 'pong' });
  c.s.destroy();
  assert.ok(requests.includes('unknown:error'));
  assert.ok(requests.includes('invalid:error'));
  assert.ok(!requests.some((x) => x.startsWith('rm')), 'unbounded cmd label');
});

test('pipelined requests in one write are answered in order', async () => {
  const c = await raw();
  c.s.write('{"v":1,"id":1,"cmd":"slow","args":{"ms":50}}\n{"v":1,"id":2,"cmd":"ping"}\n{"v":1,"id":3,"cmd":"echo"}\n');
  assert.equal((await c.next()).id, 1);
  assert.equal((await c.next()).id, 2);
  assert.deepEqual(await c.next(), { v: 1, id: 3, ok: true, result: {} });
  c.s.destroy();
});

test('a 1 MiB request gets an error reply and the connection is closed without buffering it', async () => {
  const c = await raw();
  const big = '{"v":1,"id":1,"cmd":"echo","args":{"x":"' + 'a'.repeat(1024 * 1024) + '"}}\n';
  c.s.write(big);
  const r = await c.next();
  assert.equal(r.ok, false);
  assert.equal((r.error as Record<string, unknown>).code, 'BULWARK_ERR_PROTOCOL');
  assert.match(String((r.error as Record<string, unknown>).message), /larger than 65536 bytes/);
  await c.closed;
  assert.ok(rejected.includes('oversized'));
  // The server is fine afterwards.
  assert.equal(await controlCall(socketPath, 'ping'), 'pong');
});

test('an endless unterminated request is cut off too', async () => {
  const c = await raw();
  const chunk = 'x'.repeat(16 * 1024);
  let writes = 0;
  while (!c.s.destroyed && c.lines.length === 0 && writes < 200) {
    c.s.write(chunk);
    writes++;
    await new Promise((r) => setImmediate(r));
  }
  const r = await c.next();
  assert.match(String((r.error as Record<string, unknown>).message), /larger than/);
  await c.closed;
  assert.ok(writes < 200, 'server kept reading');
});

test('20 concurrent clients are all answered', async () => {
  const results = await Promise.all(Array.from({ length: 20 }, (_v, i) => controlCall(socketPath, 'echo', { i })));
  assert.deepEqual(results, Array.from({ length: 20 }, (_v, i) => ({ i })));
});

test('a slow client (not reading, sending half a line) does not stall others', async () => {
  const stuck = await raw();
  stuck.s.write('{"v":1,"id":1,"cmd":"pi'); // never finished
  const silent = await raw(); // connected, never sends
  const slowCmd = controlCall(socketPath, 'slow', { ms: 400 });
  const t0 = Date.now();
  assert.equal(await controlCall(socketPath, 'ping'), 'pong');
  assert.ok(Date.now() - t0 < 300, 'ping waited for other clients');
  assert.equal(await slowCmd, 'done');
  stuck.s.destroy();
  silent.s.destroy();
});

test('idle connections are closed after the idle timeout', async () => {
  const c = await raw();
  const t0 = Date.now();
  await c.closed;
  const dt = Date.now() - t0;
  assert.ok(dt >= 1200 && dt < 4000, `closed after ${dt} ms`);
  assert.ok(rejected.includes('idle'));
});

test('when every slot runs a command, a newcomer is refused with an error reply', async () => {
  const held = await Promise.all(Array.from({ length: 30 }, () => raw()));
  for (const h of held) h.s.write('{"v":1,"id":1,"cmd":"slow","args":{"ms":800}}\n');
  await new Promise((r) => setTimeout(r, 100));
  const extra = await raw();
  const r = await extra.next();
  assert.equal((r.error as Record<string, unknown>).code, 'BULWARK_ERR_LIMIT');
  await extra.closed;
  for (const h of held) assert.equal((await h.next()).result, 'done', 'the running commands were not disturbed');
  for (const h of held) h.s.destroy();
  await new Promise((r2) => setTimeout(r2, 50));
  assert.equal(await controlCall(socketPath, 'ping'), 'pong');
  assert.ok(rejected.includes('too_many'));
});

test('issue 14: trickling clients cannot hold slots: a request deadline from its first byte, and a fresh client always gets in', async () => {
  // 30 connections (every slot) sending one byte of a request every 200 ms, each reconnecting when dropped.
  const run = { stop: false };
  const stopped = (): boolean => run.stop;
  const trickler = async (): Promise<void> => {
    while (!run.stop) {
      const c = await raw().catch(() => undefined);
      if (!c) continue;
      const text = '{"v":1,"id":1,"cmd":"ping"}';
      for (let i = 0; i < text.length && !stopped(); i++) {
        c.s.write(text[i]!);
        await new Promise((r) => setTimeout(r, 200));
      }
      c.s.destroy();
    }
  };
  const tricklers = Array.from({ length: 30 }, () => trickler());
  try {
    await new Promise((r) => setTimeout(r, 500));
    // The operator's CLI: every ping answered promptly while the trickle goes on.
    for (let i = 0; i < 10; i++) {
      const t0 = Date.now();
      assert.equal(await controlCall(socketPath, 'ping'), 'pong');
      assert.ok(Date.now() - t0 < 1000, `ping ${i} took ${Date.now() - t0} ms`);
      await new Promise((r) => setTimeout(r, 150));
    }
    // A single trickling connection is dropped by its request deadline (1 s here), not kept alive by its bytes.
    const lone = await raw();
    const t0 = Date.now();
    const timer = setInterval(() => lone.s.write('{'), 100);
    await Promise.race([lone.closed, new Promise((r) => setTimeout(r, 5000))]);
    clearInterval(timer);
    lone.s.destroy();
    assert.ok(Date.now() - t0 < 1800, `dropped after ${Date.now() - t0} ms`);
  } finally {
    run.stop = true;
    await Promise.all(tricklers);
  }
  assert.ok(rejected.includes('evicted'));
  assert.ok(rejected.includes('request_timeout'));
});

test('client: unreachable socket names the path', async () => {
  const missing = join(dir, 'nope.sock');
  await assert.rejects(connectControl(missing), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_UNREACHABLE') && e.message.includes(missing) && e.message.includes('no socket there'));
  const notSock = join(dir, 'file');
  writeFileSync(notSock, '');
  await assert.rejects(connectControl(notSock), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_UNREACHABLE'));
});

test('a second server on a live socket path is refused; a stale socket file is replaced', async () => {
  const other = new ControlServer({ socketPath, log: silentLogger() }, new CommandTable());
  await assert.rejects(other.start(), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_LOCKED'));
  assert.equal(await controlCall(socketPath, 'ping'), 'pong');
  const stalePath = join(dir, 'stale.sock');
  const first = new ControlServer({ socketPath: stalePath, log: silentLogger() }, new CommandTable());
  await first.start();
  // Simulate a crash: the file stays but nobody listens.
  (first as unknown as { server: { close(): void } }).server.close();
  const t = new CommandTable();
  t.register('ping', () => Promise.resolve(1));
  const second = new ControlServer({ socketPath: stalePath, log: silentLogger() }, t);
  await second.start();
  assert.equal(await controlCall(stalePath, 'ping'), 1);
  await second.close();
});

test('duplicate and malformed command names are programming errors', () => {
  const t = new CommandTable();
  t.register('a.b', () => Promise.resolve(1));
  assert.throws(() => { t.register('a.b', () => Promise.resolve(2)); }, /twice/);
  assert.throws(() => { t.register('Bad Name', () => Promise.resolve(2)); }, /bad command name/);
});

test('results with bigints are sent as strings; unserialisable results become an error reply', async () => {
  const { serialise } = await import('../../../src/service/control-server.js');
  assert.equal(serialise({ v: 1, id: 1, ok: true, result: { flowId: 12345678901234567890n } }), '{"v":1,"id":1,"ok":true,"result":{"flowId":"12345678901234567890"}}');
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  const r = JSON.parse(serialise({ v: 1, id: 2, ok: true, result: circular })) as { ok: boolean; id: number; error: { code: string } };
  assert.deepEqual([r.ok, r.id, r.error.code], [false, 2, 'BULWARK_ERR_INTERNAL']);
});

test('control.group makes the socket 0660 owned by that group; an unknown group is refused', async () => {
  const groupPath = join(dir, 'group.sock');
  const gid = process.getgid?.() ?? 0;
  const s = new ControlServer({ socketPath: groupPath, group: String(gid), log: silentLogger() }, new CommandTable());
  await s.start();
  try {
    const st = statSync(groupPath);
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.gid, gid);
  } finally {
    await s.close();
  }
  const bad = new ControlServer({ socketPath: join(dir, 'badgroup.sock'), group: 'no-such-group-bw', log: silentLogger() }, new CommandTable());
  await assert.rejects(bad.start(), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CONFIG') && e.message.includes('no group named'));
  await bad.close();
});

test('a client that never reads its (large) replies only stalls itself', async () => {
  const hog = await raw();
  hog.s.pause(); // never read
  const req = '{"v":1,"id":1,"cmd":"big"}\n';
  for (let i = 0; i < 40; i++) hog.s.write(req);
  await new Promise((r) => setTimeout(r, 200));
  const t0 = Date.now();
  assert.equal(await controlCall(socketPath, 'ping'), 'pong');
  assert.ok(Date.now() - t0 < 300, 'ping stalled behind a non-reading client');
  hog.s.destroy();
});
