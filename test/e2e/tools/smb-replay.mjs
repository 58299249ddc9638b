#!/usr/bin/env node
// Replays the client side of an SMB exchange over one real TCP connection, run inside a test
// namespace:
//   node smb-replay.mjs '{"host":"198.51.100.11","port":445,"messagesHex":["...","..."],"waitMs":3000}'
// Each message is written (TCP_NODELAY), then the replay waits for one whole NBSS record from the
// server (or `waitMs`) before the next, as a real client would. A server that closes the
// connection does not stop the replay: the remaining messages are still written while the socket
// is writable. Prints one JSON line { connected, error, replies: [{ status, bytes } | null], closed }
// (status: the SMB1/SMB2 NT status of the reply record) and exits 0 (the caller asserts).
// SMB1: the UID of a successful SESSION_SETUP_ANDX reply and the TID of a successful
// TREE_CONNECT_ANDX reply are written into the following messages' headers, as a client does.
import net from 'node:net';

const o = JSON.parse(process.argv[2] ?? '{}');
const messages = (o.messagesHex ?? []).map((h) => Buffer.from(h, 'hex'));
const result = { connected: false, error: null, replies: [], closed: null };
let buf = Buffer.alloc(0);
let waiter = null;
const ids = { uid: null, tid: null };

const sock = net.connect({ host: o.host, port: o.port ?? 445, timeout: o.connectTimeoutMs ?? 3000 });
sock.setNoDelay(true);

function takeRecord() {
  if (buf.length < 4) return null;
  const len = buf.readUInt32BE(0) & 0xffffff;
  if (buf.length < 4 + len) return null;
  const rec = buf.subarray(0, 4 + len);
  buf = buf.subarray(4 + len);
  let status = null;
  const magic = rec.toString('latin1', 4, 8);
  if (magic === '\xffSMB' && rec.length >= 36) {
    status = rec.readUInt32LE(9);
    if (status === 0 && rec[8] === 0x73) ids.uid = rec.readUInt16LE(4 + 28);
    if (status === 0 && rec[8] === 0x75) ids.tid = rec.readUInt16LE(4 + 24);
  }
  else if (magic === '\xfeSMB' && rec.length >= 16) status = rec.readUInt32LE(12);
  return { status, bytes: rec.length };
}

function nextReply(ms) {
  return new Promise((resolve) => {
    const r = takeRecord();
    if (r) return resolve(r);
    if (sock.destroyed) return resolve(null);
    const t = setTimeout(() => { waiter = null; resolve(null); }, ms);
    waiter = () => {
      const x = takeRecord();
      if (x || sock.destroyed) { clearTimeout(t); waiter = null; resolve(x); }
    };
  });
}

sock.on('timeout', () => {
  if (!result.connected) { result.error = 'ETIMEDOUT'; sock.destroy(); finish(); }
});
sock.on('error', (e) => {
  result.error = e.code ?? String(e);
  if (result.connected) result.closed = result.closed ?? (e.code === 'ECONNRESET' ? 'reset' : e.code);
  if (!result.connected) finish();
});
sock.on('data', (d) => { buf = Buffer.concat([buf, d]); if (waiter) waiter(); });
sock.on('end', () => { result.closed = result.closed ?? 'end'; if (waiter) waiter(); });
sock.on('close', () => { if (waiter) waiter(); });

let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

sock.on('connect', async () => {
  result.connected = true;
  sock.setTimeout(0);
  for (const m of messages) {
    if (m.length >= 36 && m.toString('latin1', 4, 8) === '\xffSMB') {
      if (ids.uid !== null) m.writeUInt16LE(ids.uid, 4 + 28);
      if (ids.tid !== null) m.writeUInt16LE(ids.tid, 4 + 24);
    }
    if (!sock.destroyed && sock.writable) sock.write(m);
    result.replies.push(await nextReply(o.waitMs ?? 3000));
  }
  sock.end();
  setTimeout(() => { sock.destroy(); finish(); }, o.hold ?? 200);
});
