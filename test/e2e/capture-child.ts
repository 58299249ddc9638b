/**
 * Runs inside a test namespace: captures on an interface with the engine's BPF filter and prints
 * one JSON line per decoded packet, then {"stats":…} when stdin closes or on SIGTERM.
 * Usage: node --import tsx test/e2e/capture-child.ts IFACE PORTS(comma) EXCLUDE(comma or -)
 */
import { PcapLiveSource, captureFilter } from '../../src/engine/capture/live.js';
import { DecodedPacket, decodePacket, ipv4ToString, ipv6ToString } from '../../src/engine/decode/decode.js';
import { silentLogger } from '../../src/log/index.js';

const [iface = 'eth0', portsArg = '80', excludeArg = '-'] = process.argv.slice(2);
const filter = captureFilter({ ports: portsArg.split(',').map(Number), exclude: excludeArg === '-' ? [] : excludeArg.split(',') });
const src = new PcapLiveSource({ iface, filter, bufferBytes: 4 * 1024 * 1024, bufferTimeoutMs: 50, snaplen: 65535, log: silentLogger() });
const p = new DecodedPacket();
src.start((buf, caplen, lt, tsUs, off, dir) => {
  const r = decodePacket(buf, off, caplen, lt, p);
  if (r !== 0) {
    process.stdout.write(JSON.stringify({ drop: r, lt }) + '\n');
    return;
  }
  process.stdout.write(
    JSON.stringify({
      lt,
      dir,
      tsUs,
      src: p.ipVersion === 4 ? ipv4ToString(p.src4) : ipv6ToString(p.buf, p.src6Offset),
      sport: p.srcPort,
      dport: p.dstPort,
      flags: p.flags,
      payload: Buffer.from(p.buf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength)).toString('latin1'),
    }) + '\n',
  );
});
process.stdout.write(JSON.stringify({ ready: true, filter }) + '\n');
const finish = (): void => {
  // Let the last buffered batch arrive (buffer timeout) before reading the counters.
  setTimeout(() => {
    process.stdout.write(JSON.stringify({ stats: src.stats() }) + '\n');
    src.stop();
    process.stdin.destroy();
    process.removeAllListeners('SIGTERM');
  }, 300);
};
process.stdin.on('end', finish);
process.stdin.resume();
process.on('SIGTERM', finish);
