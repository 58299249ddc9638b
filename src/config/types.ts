/**
 * The configuration contract: what `parseConfig` (src/config/parse.ts) returns after validation
 * and normalisation. YAML keys are the camelCase names below; durations are written as
 * "90m", "8h", "1d", "500ms" and sizes as "32MiB", "64KiB" in YAML and normalised here to
 * milliseconds and bytes. Every key is documented in docs/configuration.md.
 */
import type { Severity } from '../signatures/types.js';
import type { PolicyRule } from '../respond/policy/types.js';

export type ActionMode = 'block' | 'alert' | 'dry-run';

export interface ManagementEndpoint {
  /** IP address, CIDR or host name (resolved before an isolation transaction is committed). */
  address: string;
  /** TCP port on the management host; undefined = any port. */
  port?: number;
  description?: string;
}

export type ExclusionDirection = 'inbound' | 'outbound' | 'both';
export type ExclusionProtocol = 'tcp' | 'udp' | 'icmp' | 'any';

/** One isolation exclusion (policy list in config, device list in the state dir). */
export interface ExclusionRule {
  direction: ExclusionDirection;
  protocol: ExclusionProtocol;
  /** IPv4/IPv6 address or CIDR; undefined = any remote address. 0.0.0.0 and :: alone are refused. */
  remoteAddress?: string;
  /** "any" or comma-separated ports and ranges, e.g. "22,8000-8010". */
  localPorts: string;
  remotePorts: string;
  description: string;
  status: 'active' | 'inactive';
  /**
   * Process exclusions (at most one of these; the address and port fields then stay "any"):
   * a systemd unit, a cgroup v2 path (relative to the cgroup2 root), a user or group (name or
   * numeric id) or an executable (absolute path, or a name matched against the process name).
   */
  unit?: string;
  cgroup?: string;
  user?: string;
  group?: string;
  executable?: string;
}

export interface IsolationPolicy {
  /** Automatic isolation on detections matching any of the lists below. */
  enabled: boolean;
  severities: Severity[];
  signatureIds: number[];
  detectors: ('portscan' | 'synflood' | 'bruteforce')[];
}

/** config databases.datasets (docs/signatures.md "Datasets"). */
export interface DatasetsConfig {
  /** Data directory of save/state files; "" = <stateDir>/datasets. */
  dir: string;
  memcapBytes: number;
  hashsize: number;
  maxSets: number;
  /** Sets declared by configuration (suricata.yaml `datasets:`). */
  sets: DatasetConfigEntry[];
}

export interface DatasetConfigEntry {
  name: string;
  type: 'string' | 'md5' | 'sha256' | 'ipv4' | 'ip';
  load?: string;
  state?: string;
  save?: string;
  memcapBytes?: number;
  hashsize?: number;
}

/** The databases section with datasets.dir resolved ("" = <stateDir>/datasets), as the loader takes it. */
export function withDatasetDir(databases: Config['databases'], stateDir: string): Config['databases'] {
  const ds = databases.datasets ?? defaultConfig().databases.datasets!;
  if (ds.dir !== '') return databases;
  return { ...databases, datasets: { ...ds, dir: `${stateDir.replace(/\/+$/, '')}/datasets` } };
}

/** config databases.limits. */
export interface DatabaseLimits {
  fileSizeBytes: number;
  rules: number;
  ruleLengthBytes: number;
  contentLengthBytes: number;
  /** V8 heap cap of the compile worker (src/signatures/offthread.ts): a bigger compile is refused. */
  compileMemoryBytes: number;
}

/** Fleet mode (docs/fleet.md); absent = standalone. */
export interface FleetConfig {
  /** NATS server URLs ("tls://nats1.example:4222", "nats://198.51.100.2:4222"). */
  servers: string[];
  /** This host's id (a subject token); default: /etc/machine-id. */
  hostId?: string;
  /** Display name in the fleet view; default: the host name. */
  name?: string;
  /** Policy groups, in merge order (later wins). */
  groups: string[];
  /** NATS .creds file (JWT + nkey seed). */
  credentials?: string;
  user?: string;
  password?: string;
  /** nkey seed file (SU…) for nkey authentication. */
  nkey?: string;
  tls?: { ca: string; cert?: string; key?: string };
  /** Allow a connection without TLS or without credentials (tests and labs only). */
  allowInsecure: boolean;
  /** Operator public nkeys (U…) whose signed orders, unblocks and policies are accepted. */
  operators: string[];
  /** Operator machines only: the seed file (SU…) `bulwark fleet` signs with. */
  signingKey?: string;
  /** Where this host's blocks are shared: every host, the host's groups, or nobody. */
  share: 'fleet' | 'group' | 'none';
  /** Shared decisions accepted per origin host per minute (and published by this host). */
  maxDecisionsPerMinute: number;
  /** How often the host record (fleet view) is refreshed (ms). */
  heartbeatMs: number;
}

export interface Config {
  /** Capture interfaces; empty = every interface that is up and not loopback. */
  interfaces: string[];
  databases: {
    /** Directory of *.yaml / *.rules databases with a manifest. */
    dir: string;
    /** Extra Suricata/Snort .rules files imported on top of `dir`. */
    rules: string[];
    /** Refuse a directory whose manifest is missing or does not match. */
    requireManifest: boolean;
    /** Suricata address/port variables ($HOME_NET, $HTTP_PORTS...). */
    vars: Record<string, string>;
    /** Ports a rule with destination port `any` maps to; empty = union of the other rules' ports. */
    anyPorts: number[];
    /** Bounds on what the loader accepts (a database over one is refused; the active ruleset stays). */
    limits: DatabaseLimits;
    /** The `dataset` keyword's data directory and default bounds; absent = defaults. */
    datasets?: DatasetsConfig;
  };
  protection: { enabled: boolean };
  action: ActionMode;
  /** Default block duration (ms). */
  blockDurationMs: number;
  /** Cap on new blocks per minute from detections (excess detections are alerted, not blocked). */
  maxBlocksPerMinute: number;
  /** CIDRs never blocked (loopback and the host's own addresses are always added). */
  neverBlock: string[];
  /**
   * Never block the remote hosts of authenticated sessions: utmp sessions plus peers of sshd
   * session processes past authentication (`sshd: user@pts/N`, `sshd: user@notty`), refreshed
   * every `sessionRefreshMs`. A brute forcer that never authenticates is not protected.
   */
  neverBlockSshClients: boolean;
  /** How often authenticated sessions are re-read (ms). */
  sessionRefreshMs: number;
  /** Never block the host's default gateways (`ip -j route`, both families). */
  neverBlockGateways: boolean;
  /** Never block the resolvers of /etc/resolv.conf (or `isolation.resolvConf`). */
  neverBlockResolvers: boolean;
  management: ManagementEndpoint[];
  metrics: {
    enabled: boolean;
    listen: string;
    /** Series of the top-N views (bulwark_top_attacker_alerts, bulwark_top_signature_alerts); 0 = off. */
    topN: number;
    topWindowMs: number;
  };
  control: { socket: string; group?: string };
  stateDir: string;
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' };
  events: {
    /** EVE-JSON event file; empty string = events only in the log. */
    file: string;
    maxBytes: number;
    keep: number;
    /** Repeats of (source, signature) within this window fold into one event. */
    foldWindowMs: number;
    /** Bounded queue between engine and writers; oldest dropped when full (counted). */
    queueSize: number;
    /** Alert events carry the inspected data (EVE payload, payload_printable, payload_length, stream). */
    payload: boolean;
    /** Alert events carry the packet that raised the match (EVE packet, packet_info). */
    packet: boolean;
    /** Alert events carry the rule's references (EVE alert.references); on by default (Suricata 8: off). */
    references: boolean;
  };
  capture: {
    bufferBytes: number;
    bufferTimeoutMs: number;
    snaplen: number;
    /** BPF-level exclusions: CIDRs whose traffic is not captured. */
    exclude: string[];
    /** Suricata checksum-checks per live interface (src/engine/checksum.ts). */
    checksumChecks: 'auto' | 'yes' | 'no';
  };
  engine: {
    maxFlows: number;
    /** Verified-peer table bound (sources with a verified handshake in the last 24 h; LRU). */
    maxVerifiedPeers: number;
    reassemblyDepth: number;
    maxSegmentsPerFlow: number;
    /** Suricata stream.checksum-validation: the engine-wide switch for checksum validation. */
    checksumValidation: boolean;
    /** IP defragmentation bounds (src/engine/decode/defrag.ts). */
    defrag: { maxTrackers: number; maxBytes: number; maxFragments: number; timeoutMs: number };
    /** Suricata stream.midstream: app-layer parsing also for flows picked up without their handshake. */
    midstream: boolean;
    /** Suricata packet-alert-max: alerts one packet may raise; the rest are discarded (bulwark_alert_queue_overflow_total). */
    packetAlertMax: number;
    /** Suricata action-order: the order of a packet's matches (a pass stops the ones after it); each of pass, drop, reject, alert once. */
    actionOrder: ('pass' | 'drop' | 'reject' | 'alert')[];
    timeouts: { newMs: number; establishedMs: number; closedMs: number };
    /** The regex engine (PCRE2): per-match limits and the inspection budget (docs/regex.md). */
    regex: {
      /** pcre2 match limit of every regex (Suricata's built-in 3500). */
      matchLimit: number;
      /** pcre2 depth limit (Suricata's match-limit-recursion, built-in 1500); the JIT ignores it. */
      depthLimit: number;
      /** Limits of `pcre` with Suricata's `O` modifier (Suricata's pcre.match-limit / pcre.match-limit-recursion). */
      overrideMatchLimit: number;
      overrideDepthLimit: number;
      /** Backtracking memory of one interpreted match, bytes (the JIT uses its own stack). */
      heapLimit: number;
      /** Regex time one packet may use; the rest of its regex checks are skipped (0 = unbounded). */
      packetBudgetMs: number;
      /** Regex time all packets may use per second (0 = unbounded). */
      secondBudgetMs: number;
    };
    /**
     * App-layer memory budget (src/engine/detect/app-tx.ts): bytes held by app-layer parsers
     * (buffered lines, headers, bodies, decompression state, bytes held while probing).
     */
    appLayer: {
      /** Per flow; over it the flow's app-layer parsing stops (raw stream inspection goes on). */
      maxFlowMemory: number;
      /** All flows together; the flow whose growth crosses it stops its app-layer parsing. */
      maxMemory: number;
      /** HTTP parser settings (Suricata app-layer.protocols.http.libhtp.default-config). */
      http: {
        /** `request-body-limit`: request body bytes kept per transaction (http.request_body, file.data to_server). */
        requestBodyLimit: number;
        /** `response-body-limit`: response body bytes (after decompression) kept per transaction (http.response_body, file.data). */
        responseBodyLimit: number;
      };
    };
  };
  intercept: {
    listen: boolean;
    excludePorts: number[];
    maxConnections: number;
    idleTimeoutMs: number;
    maxBytesPerConnection: number;
  };
  isolation: {
    /** End isolation automatically after `durationMs`; when false and no --for is given, it ends after 5 h anyway. */
    autoEnd: boolean;
    durationMs: number;
    /** Network profiles in force (names from databases/network-profiles.yaml). */
    profiles: string[];
    /** Policy-scope exclusions: apply only to automatic isolation. */
    exclusions: ExclusionRule[];
    policy: IsolationPolicy;
    /** How long outgoing RSTs may leave after severing (ms). */
    rstWindowMs: number;
    /**
     * Where the host's resolvers are read for the DNS profiles (default /etc/resolv.conf, then
     * /run/systemd/resolve/resolv.conf). Optional; env BULWARK_ISOLATION_RESOLV_CONF (colon list) also works.
     */
    resolvConf?: string[];
    /** DHCP lease directories for the DHCP profiles (dhclient, networkd, NetworkManager defaults). */
    leaseDirs?: string[];
    /** Process exclusions and the daemon's own cgroup (docs/isolation.md "Process exclusions"). */
    processes: {
      /** Mount point of the cgroup v2 hierarchy; undefined = found in /proc/self/mountinfo. */
      cgroupMount?: string;
      /** How often cgroups, units and executables are re-resolved while isolated (ms). */
      rescanMs: number;
      /** Put the daemon into a cgroup of its own (unless its cgroup is already its own) so its flows stay exempt. */
      agentCgroup: boolean;
    };
  };
  /** `bulwark rules`: rule sources and updates (src/rules). */
  rules: {
    /** "" = <stateDir>/rules. */
    dir: string;
    disableConf: string;
    enableConf: string;
    dropConf: string;
    modifyConf: string;
    ignore: string[];
    /** 0 = no scheduled updates. */
    updateIntervalMs: number;
    timeoutMs: number;
    maxDownloadSize: number;
  };
  /** Fleet mode on NATS JetStream; undefined = standalone. */
  fleet?: FleetConfig;
  /** Which detections block, and Suricata-style alert tuning (docs/response.md). */
  response: {
    /** Operator rules, first match wins, evaluated before the shipped defaults. */
    policy: PolicyRule[];
    /** Append the shipped default policy after `policy` (false: only `policy`, then each signature's own action). */
    defaultPolicy: boolean;
    /** Suricata threshold.config (suppress / threshold / event_filter / rate_filter); "" = none. */
    thresholdFile: string;
    /** Bound of the threshold tracking table (entries per signature and address). */
    maxThresholdEntries: number;
    /** Per detector: half-open evidence (SYN, FIN/NULL/Xmas) blocks the source (docs/response.md). */
    blockHalfOpen: Record<'portscan' | 'synflood' | 'bruteforce', boolean>;
    /** Cap on blocks from half-open evidence per minute (separate from maxBlocksPerMinute). */
    maxHalfOpenBlocksPerMinute: number;
  };
  /** sshd authentication failures as evidence (docs/response.md "Login failures"). */
  loginFailures: {
    enabled: boolean;
    /** auto: the journal when journalctl works, else `file`; journal; file. */
    source: 'auto' | 'journal' | 'file';
    /** Log file read from its end (auth.log, or sshd -E FILE). */
    file: string;
    /** Failures from one address within `windowMs` that block it (fail2ban sshd jail: 5 in 10 min). */
    maxFailures: number;
    windowMs: number;
    /** Addresses tracked at once (LRU; evictions counted). */
    maxTracked: number;
  };
}

const MIN = 60_000;
const HOUR = 60 * MIN;

/** Embedded defaults: the daemon runs on these when no config file exists. */
export function defaultConfig(): Config {
  return {
    interfaces: [],
    databases: {
      dir: new URL('../../databases', import.meta.url).pathname,
      rules: [],
      requireManifest: true,
      vars: {
        HOME_NET: 'any',
        EXTERNAL_NET: 'any',
        HTTP_SERVERS: '$HOME_NET',
        SMTP_SERVERS: '$HOME_NET',
        SQL_SERVERS: '$HOME_NET',
        DNS_SERVERS: '$HOME_NET',
        TELNET_SERVERS: '$HOME_NET',
        HTTP_PORTS: '[80,81,311,591,593,901,1220,1414,1741,1830,2301,2381,2809,3128,3702,4343,4848,5250,6988,7000,7001,7144,7145,7510,7777,7779,8000,8008,8014,8028,8080,8081,8082,8085,8088,8090,8118,8123,8180,8181,8243,8280,8300,8800,8888,8899,9000,9080,9090,9091,9443,9999,11371,34443,34444,41080,50002,55555]',
        SHELLCODE_PORTS: '!80',
        ORACLE_PORTS: '1521',
        SSH_PORTS: '22',
        FTP_PORTS: '21',
        FILE_DATA_PORTS: '[$HTTP_PORTS,110,143]',
        DNP3_PORTS: '20000',
        MODBUS_PORTS: '502',
      },
      anyPorts: [],
      limits: { fileSizeBytes: 64 * 1024 * 1024, rules: 150_000, ruleLengthBytes: 64 * 1024, contentLengthBytes: 16 * 1024, compileMemoryBytes: 2 * 1024 * 1024 * 1024 },
      datasets: { dir: '', memcapBytes: 16 * 1024 * 1024, hashsize: 4096, maxSets: 1024, sets: [] },
    },
    // Seed behaviour (KESL): locally configured hosts have Network Threat Protection off by
    // default; a fleet policy turns it on (src/fleet/policy.ts applyPolicy).
    protection: { enabled: false },
    action: 'block',
    blockDurationMs: HOUR,
    maxBlocksPerMinute: 600,
    neverBlock: [],
    neverBlockSshClients: true,
    sessionRefreshMs: 2000,
    neverBlockGateways: true,
    neverBlockResolvers: true,
    management: [],
    metrics: { enabled: true, listen: '127.0.0.1:9747', topN: 10, topWindowMs: HOUR },
    control: { socket: '/run/bulwark/bulwark.sock' },
    stateDir: '/var/lib/bulwark',
    log: { level: 'info' },
    events: { file: '/var/log/bulwark/events.json', maxBytes: 100 * 1024 * 1024, keep: 5, foldWindowMs: MIN, queueSize: 10_000, payload: true, packet: true, references: true },
    capture: { bufferBytes: 32 * 1024 * 1024, bufferTimeoutMs: 20, snaplen: 65535, exclude: [], checksumChecks: 'auto' },
    engine: {
      maxFlows: 100_000,
      maxVerifiedPeers: 65_536,
      reassemblyDepth: 1024 * 1024,
      maxSegmentsPerFlow: 256,
      checksumValidation: true,
      defrag: { maxTrackers: 4096, maxBytes: 32 * 1024 * 1024, maxFragments: 8192, timeoutMs: MIN },
      midstream: false,
      packetAlertMax: 15,
      actionOrder: ['pass', 'drop', 'reject', 'alert'],
      timeouts: { newMs: MIN, establishedMs: 10 * MIN, closedMs: MIN },
      regex: {
        matchLimit: 3500,
        depthLimit: 1500,
        overrideMatchLimit: 3500,
        overrideDepthLimit: 1500,
        heapLimit: 8 * 1024 * 1024,
        packetBudgetMs: 10,
        secondBudgetMs: 250,
      },
      appLayer: { maxFlowMemory: 16 * 1024 * 1024, maxMemory: 256 * 1024 * 1024, http: { requestBodyLimit: 100 * 1024, responseBodyLimit: 100 * 1024 } },
    },
    intercept: { listen: true, excludePorts: [], maxConnections: 1024, idleTimeoutMs: 30_000, maxBytesPerConnection: 64 * 1024 },
    isolation: {
      autoEnd: true,
      durationMs: 8 * HOUR,
      profiles: ['dns-client', 'dns-server', 'dhcp-client', 'dhcp-server'],
      exclusions: [],
      policy: { enabled: false, severities: ['critical'], signatureIds: [], detectors: [] },
      rstWindowMs: 20_000,
      processes: { rescanMs: 1000, agentCgroup: true },
    },
    rules: {
      dir: '',
      disableConf: '/etc/bulwark/disable.conf',
      enableConf: '/etc/bulwark/enable.conf',
      dropConf: '/etc/bulwark/drop.conf',
      modifyConf: '/etc/bulwark/modify.conf',
      ignore: ['*deleted.rules'],
      updateIntervalMs: 0,
      timeoutMs: 2 * MIN,
      maxDownloadSize: 64 * 1024 * 1024,
    },
    response: {
      policy: [],
      defaultPolicy: true,
      thresholdFile: '',
      maxThresholdEntries: 65_536,
      blockHalfOpen: { portscan: true, synflood: true, bruteforce: true },
      maxHalfOpenBlocksPerMinute: 30,
    },
    loginFailures: { enabled: true, source: 'auto', file: '/var/log/auth.log', maxFailures: 5, windowMs: 10 * MIN, maxTracked: 65_536 },
  };
}

/** Isolation without an automatic end still ends after this long (vendor behaviour). */
export const ISOLATION_FALLBACK_MS = 5 * HOUR;
