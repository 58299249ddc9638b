import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Registry } from 'prom-client';
import { Interceptor, parseProcNetTcpListeners } from '../../../src/service/intercept.js';
import { silentLogger } from '../../../src/log/index.js';

const PROC = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 0A00000A:0016 0B00000A:D431 01 00000000:00000000 02:0004A1B3 00000000     0        0 3 4 0000000000000000 20 4 30 10 -1
`;

test('parseProcNetTcpListeners keeps only LISTEN sockets', () => {
  assert.deepEqual([...parseProcNetTcpListeners(PROC)].sort((a, b) => a - b), [22, 8080]);
  assert.equal(parseProcNetTcpListeners('garbage\n\n').size, 0);
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => { resolve(typeof a === 'object' && a ? a.port : 0); });
    });
  });
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1' }, () => { resolve(c); });
    c.on('error', reject);
  });
}

const cfg = { listen: true, excludePorts: [] as number[], maxConnections: 2, idleTimeoutMs: 300, maxBytesPerConnection: 1000 };

test('intercepts free ports, leaves busy and excluded ones, enforces bounds', async () => {
  const [free, busy, excluded] = [await freePort(), await freePort(), await freePort()];
  const reg = new Registry();
  const ic = new Interceptor({ ...cfg, excludePorts: [excluded] }, silentLogger(), reg, () => Promise.resolve(new Set([busy])));
  try {
    const added = await ic.update([free, busy, excluded]);
    assert.deepEqual(added, [free]);
    const st = ic.status();
    assert.deepEqual(st.intercepted, [free]);
    assert.deepEqual(st.passive, [busy]);
    assert.deepEqual(st.excluded, [excluded]);

    // Concurrent-connection bound: the third is closed at once.
    const a = await connect(free);
    const b = await connect(free);
    const c = await connect(free);
    await new Promise<void>((r) => c.on('close', () => { r(); }));
    // Byte bound: more than maxBytesPerConnection closes the connection.
    a.write(Buffer.alloc(2000, 0x41));
    await new Promise<void>((r) => a.on('close', () => { r(); }));
    // Idle bound.
    await new Promise<void>((r) => b.on('close', () => { r(); }));
    const text = await reg.metrics();
    assert.match(text, /bulwark_listener_closed_total\{reason="limit"\} 1/);
    assert.match(text, /bulwark_listener_closed_total\{reason="bytes"\} 1/);
    assert.match(text, /bulwark_listener_closed_total\{reason="idle"\} 1/);
    assert.match(text, /bulwark_intercepted_ports 1/);

    // Removing the port from the list releases it.
    await ic.update([busy]);
    assert.deepEqual(ic.status().intercepted, []);
    await assert.rejects(connect(free));
  } finally {
    await ic.close();
  }
});

test('listen: false intercepts nothing', async () => {
  const p = await freePort();
  const ic = new Interceptor({ ...cfg, listen: false }, silentLogger(), new Registry(), () => Promise.resolve(new Set()));
  assert.deepEqual(await ic.update([p]), []);
  assert.deepEqual(ic.status().excluded, [p]);
  await ic.close();
});
