/**
 * Engine metrics. The packet path only bumps plain numbers; prom-client reads them through
 * collect callbacks at scrape time (docs/metrics.md, section "Engine").
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EngineStats } from './engine.js';

function counter(registry: Registry, name: string, help: string, read: (s: EngineStats) => number, stats: () => EngineStats): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read(stats()));
    },
  });
}

function gauge(registry: Registry, name: string, help: string, read: (s: EngineStats) => number, stats: () => EngineStats): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read(stats()));
    },
  });
}

const providers = new WeakMap<Registry, { stats: () => EngineStats }>();

/**
 * Registers the engine metrics on `registry`, reading `stats` at scrape time. Registering again
 * on the same registry (a new Engine after a restart of the component) only switches the source.
 */
export function registerEngineMetrics(registry: Registry, source: () => EngineStats): void {
  const existing = providers.get(registry);
  if (existing) {
    existing.stats = source;
    return;
  }
  const holder = { stats: source };
  providers.set(registry, holder);
  const stats = (): EngineStats => holder.stats();
  counter(registry, 'bulwark_packets_total', 'Packets handed to the engine.', (s) => s.packets, stats);
  counter(registry, 'bulwark_bytes_total', 'Captured bytes handed to the engine.', (s) => s.bytes, stats);
  new Counter({
    name: 'bulwark_packets_dropped_total',
    help: 'Packets not inspected, by reason (decode failures, non-TCP, fragments...).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(stats().dropped)) this.inc({ reason }, n);
    },
  });
  gauge(registry, 'bulwark_datasets', 'Datasets of the active ruleset (dataset keyword).', (s) => s.datasets?.sets ?? 0, stats);
  gauge(registry, 'bulwark_dataset_entries', 'Entries held by all datasets.', (s) => s.datasets?.entries ?? 0, stats);
  counter(registry, 'bulwark_dataset_memcap_refused_total', 'Dataset entries refused because the set was at its memcap (dataset:set not matched).', (s) => s.datasets?.memcapRefused ?? 0, stats);
  gauge(registry, 'bulwark_flows_active', 'Flows in the flow table.', (s) => s.flowsActive, stats);
  counter(registry, 'bulwark_flows_total', 'Flows created.', (s) => s.flowsCreated, stats);
  counter(registry, 'bulwark_flow_evictions_total', 'Flows evicted because the table was full (LRU).', (s) => s.flowEvictions, stats);
  // App layer: labels are protocol names (the registry's list) plus "unknown".
  new Counter({
    name: 'bulwark_applayer_flows_total',
    help: 'Flows whose application protocol was detected, by protocol (app_proto "unknown": probing gave up).',
    labelNames: ['app_proto'],
    registers: [registry],
    collect() {
      this.reset();
      const a = stats().appLayer;
      for (const [app_proto, n] of Object.entries(a.flowsByProto)) this.inc({ app_proto }, n);
      this.inc({ app_proto: 'unknown' }, a.undetected);
    },
  });
  new Counter({
    name: 'bulwark_applayer_protocol_changes_total',
    help: 'Flows that changed application protocol (STARTTLS/STLS/AUTH TLS accepted: to "tls"; HTTP CONNECT or 101 h2c: "redetect"; 101 websocket: "websocket"), re-detections that found another protocol than the announced one ("unexpected"), and changes refused because the previous one was still in progress ("refused", Suricata\'s failed_protocol_change events).',
    labelNames: ['to'],
    registers: [registry],
    collect() {
      this.reset();
      const a = stats().appLayer;
      for (const [to, n] of Object.entries(a.protoChanges)) this.inc({ to }, n);
      this.inc({ to: 'unexpected' }, a.unexpectedProto);
    },
  });
  new Counter({
    name: 'bulwark_applayer_expectations_total',
    help: 'Flows announced by another flow (FTP data connections), by outcome: created, used (the flow came), expired, evicted (table full or replaced), unkeyed (announcing flow without known addresses).',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      const x = stats().appLayer.expectations;
      for (const result of ['created', 'used', 'expired', 'evicted', 'unkeyed'] as const) this.inc({ result }, x[result]);
    },
  });
  gauge(registry, 'bulwark_applayer_expectations', 'Announced flows (FTP data connections) waiting for their connection.', (s) => s.appLayer.expectations.active, stats);
  counter(registry, 'bulwark_applayer_parser_failures_total', 'App-layer parsers that stopped for good on a flow (invalid data, a limit, a gap they could not resynchronise).', (s) => s.appLayer.parserFailed, stats);
  new Counter({
    name: 'bulwark_applayer_limits_total',
    help: 'Flows whose app-layer parsing stopped because a memory budget was hit (limit "flow": engine.appLayer.maxFlowMemory, "global": engine.appLayer.maxMemory); their raw stream inspection goes on.',
    labelNames: ['limit'],
    registers: [registry],
    collect() {
      this.reset();
      const l = stats().appLayer.limits;
      this.inc({ limit: 'flow' }, l.flow);
      this.inc({ limit: 'global' }, l.global);
    },
  });
  new Counter({
    name: 'bulwark_applayer_frames_total',
    help: 'App-layer frames of `frame:` rules (Suricata 7 frames), by result: inspected, dropped (over the 259 frames waiting per flow direction), unavailable (their bytes were not in the retained stream).',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      const f = stats().appLayer.frames;
      for (const result of ['inspected', 'dropped', 'unavailable'] as const) this.inc({ result }, f[result]);
    },
  });
  gauge(registry, 'bulwark_applayer_memory_bytes', 'Bytes held by app-layer parsers of all live flows (buffered lines, headers, bodies, decompression state, bytes held while probing).', (s) => s.appLayer.memoryBytes, stats);
  counter(registry, 'bulwark_applayer_tx_inspected_total', 'App-layer transactions inspected by app-layer signatures.', (s) => s.appLayer.txInspected, stats);
  gauge(registry, 'bulwark_flow_hash_chain_max', 'Longest flow-table hash chain since start (flows in one bucket of the keyed hash; a long chain costs lookup time, never inspection).', (s) => s.flowHashChainMax, stats);
  counter(registry, 'bulwark_flow_timeouts_total', 'Flows expired by idle timeout.', (s) => s.flowTimeouts, stats);
  gauge(registry, 'bulwark_flow_memory_pressure', '1 while shortened timeouts are in force (table or stream memory above 90 %).', (s) => (s.memoryPressure ? 1 : 0), stats);
  gauge(registry, 'bulwark_reassembly_memory_bytes', 'Stream bytes retained for verification, all flows.', (s) => s.streamMemoryBytes, stats);
  counter(registry, 'bulwark_reassembly_memory_refused_total', 'Stream buffers refused by the global memory bound.', (s) => s.streamMemoryRefused, stats);
  new Counter({
    name: 'bulwark_reassembly_segments_total',
    help: 'TCP data segments by reassembly outcome.',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      const r = stats().reassembly;
      this.inc({ outcome: 'in_order' }, r.inOrderSegments);
      this.inc({ outcome: 'out_of_order' }, r.outOfOrderSegments);
      this.inc({ outcome: 'retransmission' }, r.retransmittedSegments);
      this.inc({ outcome: 'dropped' }, r.segmentsDropped);
      this.inc({ outcome: 'bogus' }, r.bogusSegments);
    },
  });
  counter(registry, 'bulwark_reassembly_overlap_bytes_total', 'Bytes received again (retransmissions, overlaps).', (s) => s.reassembly.overlapBytes, stats);
  counter(registry, 'bulwark_reassembly_overlap_mismatch_bytes_total', 'Overlapping bytes that differed from the kept ones (first-wins).', (s) => s.reassembly.overlapMismatchBytes, stats);
  counter(registry, 'bulwark_reassembly_gaps_total', 'Holes given up on because the out-of-order buffer was full.', (s) => s.reassembly.gaps, stats);
  counter(registry, 'bulwark_reassembly_gap_bytes_total', 'Bytes skipped in given-up holes.', (s) => s.reassembly.gapBytes, stats);
  counter(registry, 'bulwark_reassembly_depth_exceeded_bytes_total', 'Stream bytes past the reassembly depth (not inspected).', (s) => s.reassembly.bytesBeyondDepth, stats);
  new Counter({
    name: 'bulwark_ip_fragments_total',
    help: 'IP fragments by outcome of reassembly.',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      const d = stats().defrag;
      this.inc({ outcome: 'received' }, d.fragments);
      this.inc({ outcome: 'datagram_reassembled' }, d.reassembled);
      this.inc({ outcome: 'datagram_timeout' }, d.timeouts);
      this.inc({ outcome: 'datagram_evicted' }, d.evicted);
      this.inc({ outcome: 'invalid' }, d.invalid);
      this.inc({ outcome: 'overlap' }, d.overlaps);
      this.inc({ outcome: 'ignored' }, d.ignored);
    },
  });
  new Counter({
    name: 'bulwark_decoder_events_total',
    help: "Decoder and defrag anomalies by Suricata's event name (decode-event:), per packet.",
    labelNames: ['event'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [event, n] of Object.entries(stats().decoderEvents)) this.inc({ event }, n);
    },
  });
  gauge(registry, 'bulwark_ip_fragments_memory_bytes', 'Fragment bytes held for reassembly.', (s) => s.defrag.memoryBytes, stats);
  counter(registry, 'bulwark_match_pending_dropped_total', 'Pending candidates dropped (per-flow cap or re-verification window).', (s) => s.pendingDropped, stats);
  counter(registry, 'bulwark_match_verify_budget_exhausted_total', 'Flow directions that exhausted their verification budget (verified per segment since).', (s) => s.verifyBudgetExhausted, stats);
  counter(registry, 'bulwark_match_rate_filtered_total', 'Matches suppressed by threshold / detection_filter.', (s) => s.suppressedByRateFilter, stats);
  counter(registry, 'bulwark_alert_queue_overflow_total', 'Alerts discarded because their packet already raised engine.packetAlertMax alerts (Suricata detect.alert_queue_overflow).', (s) => s.alertQueueOverflow, stats);
  counter(registry, 'bulwark_alerts_passed_total', 'Matches that did not alert because a pass rule came first on their packet.', (s) => s.alertsPassed, stats);
  counter(registry, 'bulwark_flows_passed_total', 'Flows a pass rule passed: their later packets are not inspected.', (s) => s.flowsPassed, stats);
  gauge(registry, 'bulwark_rule_xbits', 'xbits held (per host and per address pair) by rules with the xbits keyword.', (s) => s.xbits?.entries ?? 0, stats);
  counter(registry, 'bulwark_rule_flowvars_dropped_total', 'pcre flow captures not stored because their flow already held the most flowvar names (64).', (s) => s.flowvarsDropped ?? 0, stats);
  counter(registry, 'bulwark_rule_xbits_evicted_total', 'xbits dropped before their expiry because the table was full (oldest first).', (s) => s.xbits?.evicted ?? 0, stats);
  new Counter({
    name: 'bulwark_detections_total',
    help: 'Detections by kind (signature or detector) and severity.',
    labelNames: ['kind', 'severity'],
    registers: [registry],
    collect() {
      this.reset();
      const d = stats().detections;
      for (const [kind, n] of Object.entries(d.byKind)) this.inc({ kind, severity: 'all' }, n);
      for (const [severity, n] of Object.entries(d.bySeverity)) this.inc({ kind: 'all', severity }, n);
    },
  });
  new Counter({
    name: 'bulwark_regex_executions_total',
    help: 'Regex (pcre) matches run, by result: match, no_match, limit (the match, depth or heap limit was hit: no match) or error.',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      const r = stats().regex;
      this.inc({ result: 'match' }, r.matches);
      this.inc({ result: 'no_match' }, r.noMatches);
      this.inc({ result: 'limit' }, r.limitHits);
      this.inc({ result: 'error' }, r.errors);
    },
  });
  counter(registry, 'bulwark_regex_skipped_total', 'Regex checks not run because the packet\'s or the second\'s regex budget was spent (the check is no match).', (s) => s.regex.skipped, stats);
  new Counter({
    name: 'bulwark_regex_budget_exhausted_total',
    help: 'Regex budgets that ran out, by scope: packet (engine.regex.packetBudget) or second (engine.regex.secondBudget).',
    labelNames: ['scope'],
    registers: [registry],
    collect() {
      this.reset();
      const r = stats().regex;
      this.inc({ scope: 'packet' }, r.packetBudgetExhausted);
      this.inc({ scope: 'second' }, r.secondBudgetExhausted);
    },
  });
  counter(registry, 'bulwark_regex_seconds_total', 'Time spent in regex matching.', (s) => s.regex.timeMs / 1000, stats);
  gauge(registry, 'bulwark_detector_tracked', 'Keys held by detector and rate-filter trackers.', (s) => s.detectors.tracked, stats);
  counter(registry, 'bulwark_detector_evictions_total', 'Tracker keys evicted (LRU bound).', (s) => s.detectors.evictions, stats);
  gauge(registry, 'bulwark_verified_peers', 'Sources in the verified-peer table (verified handshake within 24 h; half-open evidence never blocks a verified one).', (s) => s.verifiedPeers.size, stats);
  counter(registry, 'bulwark_verified_peer_evictions_total', 'Verified-peer table entries evicted (LRU bound, engine.maxVerifiedPeers).', (s) => s.verifiedPeers.evictions, stats);
  counter(registry, 'bulwark_verified_peer_taints_total', 'Detections with handshake evidence that took the source\'s verified-peer status away.', (s) => s.verifiedPeers.tainted, stats);
}
