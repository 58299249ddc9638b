/**
 * Runs inside a test namespace: waits for the first client data segment to port 80, then
 * injects a RST from the server side with the sequence number the client expects.
 */
import { PcapLiveSource } from '../../src/engine/capture/live.js';
import { Injector } from '../../src/engine/capture/inject.js';
import { DecodedPacket, decodePacket, ipv4ToString } from '../../src/engine/decode/decode.js';
import { silentLogger } from '../../src/log/index.js';

const log = silentLogger();
const injector = new Injector('eth0', log);
const src = new PcapLiveSource({ iface: 'eth0', filter: 'tcp dst port 80', bufferBytes: 1 << 20, bufferTimeoutMs: 10, snaplen: 65535, log });
const p = new DecodedPacket();
let done = false;
const giveUp = setTimeout(() => {
  process.exitCode = 2;
  src.stop();
  injector.close();
}, 15_000);
src.start((buf, caplen, lt, _ts, off) => {
  if (done || decodePacket(buf, off, caplen, lt, p) !== 0 || p.payloadLength === 0) return;
  done = true;
  injector.sendRst({
    srcIp: ipv4ToString(p.dst4),
    dstIp: ipv4ToString(p.src4),
    srcPort: p.dstPort,
    dstPort: p.srcPort,
    seq: p.ack,
    srcMac: Uint8Array.from(buf.subarray(off, off + 6)),
    dstMac: Uint8Array.from(buf.subarray(off + 6, off + 12)),
  });
  process.stdout.write(JSON.stringify({ sent: injector.sent, port: p.srcPort }) + '\n');
  clearTimeout(giveUp);
  setTimeout(() => {
    src.stop();
    injector.close();
  }, 200);
});
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
