/**
 * `bulwark scan FILE…`: offline inspection of pcap/pcapng files with the daemon's engine,
 * like `suricata -r`. Prints alerts (fast.log-like lines, or EVE-JSON lines with --json) and a
 * summary. Needs no daemon and no root.
 */
import { BulwarkError } from '../../errors.js';
import { parseArgs } from '../args.js';
import { EXIT, type CliCommand, type CliContext } from '../types.js';
import { defaultConfig, type Config } from '../../config/types.js';
import type { Ruleset } from '../../signatures/types.js';
import { scanFile, type ScanOptions, type ScanSummary } from '../../engine/scan.js';
import { ScanPool, type ShardFigures } from '../../engine/shard/pool.js';
import { toAlertEvent, eveTimestamp } from '../../engine/events.js';
import type { Detection } from '../../engine/types.js';
import { createLogger } from '../../log/index.js';
import { compileProgress, Progress } from '../progress.js';
import { CHECKSUM_INVALID_RATIO, CHECKSUM_MODES, type ChecksumChecks } from '../../engine/decode/checksum.js';
import { ThresholdFilter } from '../../engine/threshold/filter.js';
import { loadThresholdFile } from '../../engine/threshold/load.js';
import { parseActionOrder } from '../../engine/detect/alert-queue.js';
import { loadRuleset } from '../ruleset-load.js';
import { loadSharded } from '../scan-compile.js';
import type { ShardFeed } from '../../engine/shard/feed.js';

const USAGE = `Usage: bulwark scan FILE.pcap… [--databases DIR] [--rules FILE.rules…] [--json] [--no-alerts]
                    [--checksum-checks auto|yes|no] [--threshold-file FILE] [--midstream]
                    [--simulate-ips] [--packet-alert-max N] [--action-order LIST] [--inbound-only]
                    [--workers N]

Inspects capture files (pcap or pcapng) with the signature databases and prints every alert and a
summary (packets, bytes, flows, alerts, seconds, Mbit/s, packets/s, drops by reason).

  --databases DIR   signature database directory (default: databases.dir from the configuration);
                    its manifest is not required
  --rules FILE      extra Suricata/Snort .rules file (repeatable); with --rules and no
                    --databases only the given files are used
  --json            EVE-JSON alert lines, then one {"event_type":"stats"} summary line
  --no-alerts       print only the summary
  --checksum-checks auto|yes|no
                    TCP checksum validation, as Suricata's pcap-file.checksum-checks (-k): auto
                    (default) drops packets with invalid checksums unless more than 1 in 10 of the
                    file's first 1000 TCP packets (all, in a shorter file) are invalid (offload),
                    decided before inspecting; no = like \`suricata -k none\`
  --threshold-file FILE
                    Suricata threshold.config (suppress, threshold/event_filter, rate_filter)
                    applied to the alerts (default: response.thresholdFile from the configuration)
  --midstream       app-layer parsing also for TCP flows picked up without their handshake, as
                    Suricata's stream.midstream: true (default: engine.midstream)
  --simulate-ips    act as Suricata in IPS mode (suricata --simulate-ips): the alerts of drop and
                    reject rules say blocked (EVE alert.action, verdict.action drop), and a drop
                    rule that matched a flow (IP-only, stream or transaction match) drops it: its
                    later packets are not inspected. Nothing is blocked on this host
  --packet-alert-max N
                    alerts one packet may raise, as Suricata's packet-alert-max (default:
                    engine.packetAlertMax, 15); the rest are discarded in Suricata's alert order
  --action-order LIST
                    Suricata's action-order, e.g. drop,pass,reject,alert (default:
                    engine.actionOrder, pass,drop,reject,alert)
  --inbound-only    with --rules and no databases, still skip the rules about outbound
                    connections (this host as client), as the daemon does: what the daemon would
                    load from these files (by default a rules-only scan loads them all, as Suricata)
  --workers N       inspect on N worker threads (1-64, default 1), flows split by address pair;
                    same alerts in packet order, thresholds applied in packet order; state kept
                    per host across address pairs (xbits tracked by ip_src or ip_dst, datasets
                    that rules add to, the scan/flood/brute-force detectors) is per worker
                    (docs/engine.md, "Scan workers"); not with --simulate-ips

Exit codes: 0 ok (alerts or not), 1 unreadable file, 2 usage error.`;

function fastLine(d: Detection): string {
  const ts = eveTimestamp(d.timestampMs).slice(0, 26).replace('T', '-');
  const prio = d.severity === 'critical' || d.severity === 'high' ? 1 : d.severity === 'medium' ? 2 : 3;
  return `${ts}  [**] [1:${d.signatureId}:${d.rev}] ${d.signature} [**] [Classification: ${d.category}] [Priority: ${prio}] {${d.proto}} ${d.srcIp}:${d.srcPort} -> ${d.destIp}:${d.destPort}\n`;
}

function summaryLines(s: ScanSummary): string {
  const drops = Object.entries(s.dropped)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return (
    `${s.file}: ${s.packets} packets, ${s.bytes} bytes, ${s.flows} flows, ${s.alerts} alerts in ${s.seconds.toFixed(3)} s ` +
    `(${s.mbitPerSecond.toFixed(1)} Mbit/s, ${Math.round(s.packetsPerSecond)} packets/s)\n` +
    `  not inspected: ${drops === '' ? 'none' : drops}\n`
  );
}

function checksumMode(v: string | undefined): ChecksumChecks {
  if (v === undefined) return 'auto';
  if ((CHECKSUM_MODES as readonly string[]).includes(v)) return v as ChecksumChecks;
  throw new BulwarkError('BULWARK_ERR_USAGE', `scan: --checksum-checks must be one of ${CHECKSUM_MODES.join(', ')}`);
}

/** --workers: 1 (default) to 64. */
function workerCount(v: string | undefined): number {
  if (v === undefined) return 1;
  if (!/^[0-9]{1,2}$/.test(v) || Number(v) < 1 || Number(v) > 64) throw new BulwarkError('BULWARK_ERR_USAGE', 'scan: --workers must be an integer from 1 to 64');
  return Number(v);
}

/** --packet-alert-max and --action-order as engine settings (only those given). */
function engineFlags(max: string | undefined, order: string | undefined): Partial<Config['engine']> {
  const out: Partial<Config['engine']> = {};
  if (max !== undefined) {
    if (!/^[0-9]{1,5}$/.test(max) || Number(max) < 1 || Number(max) > 65_535) throw new BulwarkError('BULWARK_ERR_USAGE', 'scan: --packet-alert-max must be an integer from 1 to 65535');
    out.packetAlertMax = Number(max);
  }
  if (order !== undefined) {
    try {
      out.actionOrder = parseActionOrder(order.split(','));
    } catch (e) {
      throw new BulwarkError('BULWARK_ERR_USAGE', `scan: --action-order: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return out;
}

async function run(ctx: CliContext, args: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(args, {
    command: 'scan',
    flags: { databases: 'string', rules: 'strings', json: 'boolean', 'no-alerts': 'boolean', 'checksum-checks': 'string', 'threshold-file': 'string', midstream: 'boolean', 'simulate-ips': 'boolean', 'packet-alert-max': 'string', 'action-order': 'string', 'inbound-only': 'boolean', workers: 'string' },
    minPositionals: 1,
  });
  const json = ctx.json || flags.json;
  const checksumChecks = checksumMode(flags['checksum-checks']);
  const simulateIps = flags['simulate-ips'];
  const engineOverrides = engineFlags(flags['packet-alert-max'], flags['action-order']);
  const workers = workerCount(flags.workers);
  if (workers > 1 && simulateIps) throw new BulwarkError('BULWARK_ERR_USAGE', 'scan: --workers and --simulate-ips do not go together (IPS simulation needs the alert filter in the packet path)');
  const cfg = ctx.config ? await ctx.config() : defaultConfig();
  const bar = compileProgress(ctx, json);
  const loadT0 = performance.now();
  const loadC0 = process.cpuUsage();
  // With workers, the rules are compiled on a thread of their own that ends before the scan
  // (scan-compile.ts: its heap goes with it); this thread keeps their count, version and rate filters.
  let pool: ScanPool | null = null;
  try {
    let inspector: ScanPool | Ruleset;
    let rulesetInfo: { signatures: number; version: string };
    let feed: ShardFeed | null = null;
    if (workers > 1) {
      ({ pool, feed } = await loadSharded(workers, cfg, flags.databases, flags.rules, flags['inbound-only'], bar.update).finally(bar.end));
      inspector = pool;
      rulesetInfo = { signatures: feed.signatures, version: feed.version };
    } else {
      const ruleset = await loadRuleset(cfg, flags.databases, flags.rules, bar.update, true, flags['inbound-only']).finally(bar.end);
      inspector = ruleset;
      rulesetInfo = { signatures: ruleset.signatures.length, version: ruleset.version };
    }
    // Reading, parsing and compiling the rules: reported apart from the inspection (`seconds`).
    const loadSeconds = (performance.now() - loadT0) / 1000;
    const loadCpu = process.cpuUsage(loadC0);
    const thresholds = await loadThresholdFile(flags['threshold-file'] ?? cfg.response.thresholdFile, cfg.databases.vars);
    const log = createLogger({ level: 'warn', destination: { write: (s: string) => ctx.stderr.write(s) } });
    // The workers rebuild their copies of the ruleset now.
    if (pool !== null && feed !== null) await pool.load(feed);
    return await scanAll(ctx, cfg, flags, positionals, json, rulesetInfo, inspector, { simulateIps, checksumChecks, engineOverrides, thresholds, log, loadSeconds, loadCpu });
  } finally {
    if (pool !== null) await pool.close();
  }
}

interface ScanRun {
  simulateIps: boolean;
  checksumChecks: ChecksumChecks;
  engineOverrides: Partial<Config['engine']>;
  thresholds: Awaited<ReturnType<typeof loadThresholdFile>>;
  log: ReturnType<typeof createLogger>;
  loadSeconds: number;
  loadCpu: NodeJS.CpuUsage;
}

async function scanAll(ctx: CliContext, cfg: Config, flags: { midstream: boolean; 'no-alerts': boolean; 'threshold-file'?: string | undefined }, positionals: string[], json: boolean, rs: { signatures: number; version: string }, inspector: ScanPool | Ruleset, r: ScanRun): Promise<number> {
  const { simulateIps, checksumChecks, engineOverrides, thresholds, log, loadSeconds, loadCpu } = r;
  const showAlerts = !flags['no-alerts'];
  let eventNo = 0;
  let unreadable = 0;
  const totals = { packets: 0, bytes: 0, flows: 0, alerts: 0, seconds: 0 };
  for (const file of positionals) {
    // A bar on a terminal for files that take a while (never with --json or into a pipe).
    const fileBar = Progress.forFile(ctx, json, file);
    const buffered: string[] = [];
    const flush = (): void => {
      if (buffered.length > 0) ctx.stdout.write(buffered.join(''));
      buffered.length = 0;
    };
    const opts: Omit<ScanOptions, 'ruleset'> = {
      file,
      engine: { ...cfg.engine, ...(flags.midstream ? { midstream: true } : {}), ...engineOverrides },
      ...(simulateIps ? { simulateIps: true } : {}),
      checksumChecks,
      alertFilter: new ThresholdFilter(thresholds, { maxEntries: cfg.response.maxThresholdEntries }),
      log,
      onProgress: fileBar.update,
      onDetection: (d) => {
        if (!showAlerts) return;
        fileBar.clear();
        eventNo++;
        // Suricata's verdict: drop for a drop/reject rule in IPS mode, else alert (nothing is blocked here).
        const blocked = d.ipsDrop === true;
        buffered.push(json ? JSON.stringify(toAlertEvent(d, { action: blocked ? 'blocked' : 'allowed', count: 1, eventId: `scan-${eventNo}`, payload: cfg.events.payload, packet: cfg.events.packet, references: cfg.events.references, verdict: blocked ? 'drop' : 'alert' })) + '\n' : fastLine(d));
        if (buffered.length >= 256) flush();
      },
    };
    const summary: ScanSummary & { shard?: ShardFigures } = inspector instanceof ScanPool ? await inspector.scan(opts) : scanFile({ ...opts, ruleset: inspector });
    fileBar.end();
    flush();
    const cs = summary.checksum;
    if (cs.validation === 'on' && cs.invalid > 0) {
      // Too few for checksum offload (auto) or validation asked for (yes): those packets fed no stream.
      ctx.stderr.write(`${file}: ${cs.invalid} of ${cs.packets} TCP packets have an invalid checksum and were kept out of the streams (packet rules only)${cs.mode === 'auto' ? ` (under 1 in ${CHECKSUM_INVALID_RATIO} of the sample: not checksum offload)` : ''}; --checksum-checks no inspects them\n`);
    }
    if (summary.captureError !== null) {
      // What came before was inspected (its alerts are out); the rest of the file cannot be framed.
      unreadable++;
      ctx.stderr.write(`${file}: ${summary.captureError.reason} at byte ${summary.captureError.offset}: the ${summary.packets} packets before it were inspected, the rest of the file was not read\n`);
    }
    totals.packets += summary.packets;
    totals.bytes += summary.bytes;
    totals.flows += summary.flows;
    totals.alerts += summary.alerts;
    totals.seconds += summary.seconds;
    if (json) {
      ctx.stdout.write(
        JSON.stringify({
          event_type: 'stats',
          file: summary.file,
          format: summary.format,
          packets: summary.packets,
          bytes: summary.bytes,
          flows: summary.flows,
          alerts: summary.alerts,
          seconds: Number(summary.seconds.toFixed(6)),
          cpu_seconds: Number(summary.cpuSeconds.toFixed(6)),
          mbit_per_second: Number(summary.mbitPerSecond.toFixed(3)),
          packets_per_second: Math.round(summary.packetsPerSecond),
          dropped: summary.dropped,
          decoder_events: summary.decoderEvents,
          checksum: summary.checksum,
          ...(summary.captureError !== null ? { capture_error: summary.captureError } : {}),
          signatures: rs.signatures,
          ruleset: rs.version,
          workers: inspector instanceof ScanPool ? inspector.size : 1,
          ...(summary.shard !== undefined ? { shard: { inspected: summary.shard.inspected, held_max: summary.shard.heldMax, waits: summary.shard.waits } } : {}),
          load_seconds: Number(loadSeconds.toFixed(3)),
          load_cpu_seconds: Number(((loadCpu.user + loadCpu.system) / 1e6).toFixed(3)),
        }) + '\n',
      );
    } else {
      ctx.stdout.write(summaryLines(summary));
    }
  }
  if (!json && positionals.length > 1) {
    ctx.stdout.write(`total: ${totals.packets} packets, ${totals.bytes} bytes, ${totals.flows} flows, ${totals.alerts} alerts in ${totals.seconds.toFixed(3)} s\n`);
  }
  // A file read only in part is a file that could not be read: exit 1 after reporting what was read.
  return unreadable > 0 ? EXIT.FAILURE : EXIT.OK;
}

export const scanCommand: CliCommand = {
  name: 'scan',
  summary: 'inspect pcap/pcapng files offline and print alerts (like suricata -r)',
  usage: USAGE,
  run,
};
