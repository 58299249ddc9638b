/**
 * Inside the protected test namespace: live capture (PcapLiveSource + the engine's BPF filter)
 * feeding the Engine with a rules file. Prints {"ready"} then, for each "stats" line on stdin,
 * a JSON line with capture and engine counters.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { compileRuleset } from '../../src/signatures/compile.js';
import { Engine } from '../../src/engine/engine.js';
import { PcapLiveSource, captureFilter } from '../../src/engine/capture/live.js';
import { defaultConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log/index.js';

const [iface = 'eth0', rulesFile = ''] = process.argv.slice(2);
const cfg = defaultConfig();
const ruleset = compileRuleset([{ file: rulesFile, text: readFileSync(rulesFile, 'utf8') }], { vars: cfg.databases.vars });
let alerts = 0;
const engine = new Engine({ ruleset, config: cfg.engine, log: silentLogger(), onDetection: () => {
    alerts++;
  },
});
const src = new PcapLiveSource({
  iface,
  filter: captureFilter({ ports: ruleset.ports, exclude: [] }),
  bufferBytes: cfg.capture.bufferBytes,
  bufferTimeoutMs: cfg.capture.bufferTimeoutMs,
  snaplen: cfg.capture.snaplen,
  log: silentLogger(),
});
src.start((buf, caplen, lt, tsUs, off) => {
  engine.processPacket(buf, caplen, lt, tsUs, off);
});
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
createInterface({ input: process.stdin }).on('line', (l) => {
  if (l.trim() !== 'stats') return;
  const c = src.stats();
  const e = engine.stats();
  process.stdout.write(JSON.stringify({ received: c.received, dropped: c.dropped, ifDropped: c.ifDropped, packets: e.packets, alerts, cpu: process.cpuUsage() }) + '\n');
});
process.stdin.on('end', () => {
  src.stop();
  process.exit(0);
});
