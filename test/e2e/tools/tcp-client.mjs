#!/usr/bin/env node
// A small TCP client for end-to-end tests and the demo, run inside a test namespace:
//   node tcp-client.mjs '{"host":"198.51.100.11","port":6379,"payload":"CONFIG SET dir /tmp\r\n","segments":4,"delayMs":20}'
// Prints one JSON line: { connected, error, received, closed } and exits 0 (the caller asserts).
// `payloadHex` may replace `payload`; `segments` splits the payload into that many writes
// (TCP_NODELAY, `delayMs` apart) so the bytes cross the wire in separate segments.
// `hold` keeps the connection open that many ms after sending (to observe a reset).
import net from 'node:net';

const o = JSON.parse(process.argv[2] ?? '{}');
const payload = o.payloadHex !== undefined ? Buffer.from(o.payloadHex, 'hex') : Buffer.from(o.payload ?? '', 'latin1');
const result = { connected: false, error: null, received: 0, closed: null };
const done = () => {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
};
const sock = net.connect({ host: o.host, port: o.port, timeout: o.connectTimeoutMs ?? 3000 });
sock.setNoDelay(true);
sock.on('timeout', () => {
  if (!result.connected) result.error = 'ETIMEDOUT';
  else result.closed = result.closed ?? 'timeout';
  sock.destroy();
  done();
});
sock.on('error', (e) => {
  result.error = e.code ?? String(e);
  if (result.connected) result.closed = e.code === 'ECONNRESET' ? 'reset' : e.code;
  done();
});
sock.on('data', (d) => (result.received += d.length));
sock.on('end', () => {
  result.closed = 'end';
});
sock.on('close', () => done());
sock.on('connect', async () => {
  result.connected = true;
  sock.setTimeout(0);
  const n = Math.max(1, Math.min(o.segments ?? 1, payload.length || 1));
  const size = Math.ceil(payload.length / n);
  for (let i = 0; i < payload.length; i += size) {
    if (sock.destroyed) return;
    sock.write(payload.subarray(i, i + size));
    if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
  }
  setTimeout(() => {
    if (!sock.destroyed) {
      result.closed = result.closed ?? 'held';
      sock.end();
      sock.destroy();
      done();
    }
  }, o.hold ?? 300);
});
