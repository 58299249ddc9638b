/**
 * The configuration schema as data: the parser walks it (src/config/parse.ts), the JSON Schema
 * for editors is generated from it (toJsonSchema, checked against docs/schema/config.schema.json
 * by a unit test), and a test checks it covers every key of defaultConfig().
 */
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { priorityProblem } from '../respond/policy/priority.js';

export type Check = (value: string) => string | undefined;

export type SchemaNode =
  | { kind: 'object'; fields: Record<string, FieldDef> }
  | { kind: 'boolean' }
  | { kind: 'integer'; min: number; max: number }
  | { kind: 'duration'; min: number; max: number }
  | { kind: 'size'; min: number; max: number }
  | { kind: 'string'; check?: Check; pattern?: string; maxLength?: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'array'; items: SchemaNode; maxItems: number; minItems?: number; unique?: boolean }
  | { kind: 'map'; values: SchemaNode; keyPattern: string; maxEntries: number };

export interface FieldDef {
  node: SchemaNode;
  doc: string;
  /** For objects inside arrays (no default object to merge over): value used when the key is absent. */
  default?: unknown;
  /** For objects inside arrays: the key must be present. */
  required?: boolean;
  /** The key may be absent from the normalised Config (e.g. control.group). */
  optional?: boolean;
  /**
   * The Config property when it differs from the YAML key: durations are written `blockDuration: 1h`
   * and normalised to `blockDurationMs: 3600000`.
   */
  prop?: string;
}

/** The Config property a field is stored under. */
export function propOf(key: string, f: FieldDef): string {
  return f.prop ?? key;
}

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

// ---- value checks (pure) ----

export const checkAbsolutePath: Check = (s) => (isAbsolute(s) ? undefined : 'must be an absolute path');
const checkPathOrEmpty: Check = (s) => (s === '' || isAbsolute(s) ? undefined : 'must be an absolute path or "" (disabled)');
const checkNonEmpty: Check = (s) => (s.trim() === '' ? 'must not be empty' : undefined);
const checkSocketPath: Check = (s) => {
  if (!isAbsolute(s)) return 'must be an absolute path';
  if (Buffer.byteLength(s) > 107) return 'unix socket paths are limited to 107 bytes';
  return undefined;
};
const checkIfname: Check = (s) => (/^[^\s/:]{1,15}$/.test(s) ? undefined : 'not an interface name (1-15 characters, no spaces, "/" or ":")');

/** An IPv4/IPv6 address or CIDR; returns an error text or undefined. */
export function cidrProblem(s: string): string | undefined {
  const slash = s.indexOf('/');
  const addr = slash === -1 ? s : s.slice(0, slash);
  const fam = isIP(addr);
  if (fam === 0) return `"${s}" is not an IP address or CIDR`;
  if (slash !== -1) {
    const bits = s.slice(slash + 1);
    const max = fam === 4 ? 32 : 128;
    if (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > max) return `"${s}" has a bad prefix length (0-${max})`;
  }
  return undefined;
}
const checkCidr: Check = cidrProblem;
const checkRemoteAddress: Check = (s) => {
  const p = cidrProblem(s);
  if (p) return p;
  if (/^(0\.0\.0\.0|::)(\/0)?$/.test(s) || /\/0$/.test(s)) return 'an exclusion for every address is refused (leave remoteAddress out to mean any)';
  return undefined;
};
const checkHostOrCidr: Check = (s) => {
  if (cidrProblem(s) === undefined) return undefined;
  return /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(s) && !s.includes('/')
    ? undefined
    : `"${s}" is not an IP address, CIDR or host name`;
};
/** "host:port" or "[v6]:port"; port 0 picks a free port (tests). */
export function parseListen(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(s);
  if (!m) return undefined;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  if (m[1] !== undefined && isIP(host) !== 6) return undefined;
  return { host, port };
}
const checkListen: Check = (s) => (parseListen(s) ? undefined : 'must be "HOST:PORT" or "[IPv6]:PORT"');
/** "any" or comma-separated ports and ranges ("22,8000-8010"). */
export function portListProblem(s: string): string | undefined {
  if (s === 'any') return undefined;
  for (const part of s.split(',')) {
    const m = /^\s*([0-9]{1,5})(?:\s*-\s*([0-9]{1,5}))?\s*$/.exec(part);
    if (!m) return `"${s}" is not "any" or a list of ports and ranges like "22,8000-8010"`;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a < 1 || b > 65535 || a > b) return `"${part.trim()}" is not a port or range within 1-65535`;
  }
  return undefined;
}
const checkPortList: Check = portListProblem;
const checkProfile: Check = (s) => (/^[a-z0-9][a-z0-9._-]{0,63}$/.test(s) ? undefined : 'not a profile name (lowercase letters, digits, "-", "_", ".")');
export const checkUnit: Check = (s) => (/^[A-Za-z0-9:_.@\\-]{1,255}\.(service|scope|slice)$/.test(s) ? undefined : 'not a systemd unit name (NAME.service, NAME.scope or NAME.slice)');
export const checkCgroupPath: Check = (s) =>
  /^\/?[^/\0\n]+(\/[^/\0\n]+)*\/?$/.test(s) && !s.split('/').some((c) => c === '..' || c === '.') && s.length <= 4096 ? undefined : 'not a cgroup path (like "system.slice/app.service"; no "." or ".." components)';
export const checkAccount: Check = (s) => (/^[a-z_][a-z0-9_.-]{0,31}\$?$|^[0-9]{1,10}$/i.test(s) ? undefined : 'not a user/group name or numeric id');
export const checkExecutable: Check = (s) => (s.length > 0 && s.length <= 4096 && !s.includes('\0') && !s.includes('\n') && (s.startsWith('/') || !s.includes('/')) ? undefined : 'not an absolute path or a process name');
const checkGroup: Check = (s) => (/^[a-z_][a-z0-9_-]{0,31}\$?$|^[0-9]+$/.test(s) ? undefined : 'not a group name or gid');

// ---- node shorthands ----

const bool = (): SchemaNode => ({ kind: 'boolean' });
const int = (min: number, max: number): SchemaNode => ({ kind: 'integer', min, max });
const port = (): SchemaNode => int(1, 65535);
const dur = (min: number, max: number): SchemaNode => ({ kind: 'duration', min, max });
const size = (min: number, max: number): SchemaNode => ({ kind: 'size', min, max });
const str = (check?: Check, pattern?: string): SchemaNode => ({ kind: 'string', ...(check ? { check } : {}), ...(pattern ? { pattern } : {}) });
const oneOf = (values: readonly string[]): SchemaNode => ({ kind: 'enum', values });
const list = (items: SchemaNode, maxItems = 4096): SchemaNode => ({ kind: 'array', items, maxItems });
const obj = (fields: Record<string, FieldDef>): SchemaNode => ({ kind: 'object', fields });
const f = (node: SchemaNode, doc: string, extra: Omit<FieldDef, 'node' | 'doc'> = {}): FieldDef => ({ node, doc, ...extra });

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export const DETECTORS = ['portscan', 'synflood', 'bruteforce'] as const;

const exclusionItem = obj({
  direction: f(oneOf(['inbound', 'outbound', 'both']), 'Which connections the exclusion lets through.', { default: 'both' }),
  protocol: f(oneOf(['tcp', 'udp', 'icmp', 'any']), 'Protocol.', { default: 'any' }),
  remoteAddress: f(str(checkRemoteAddress), 'Remote IPv4/IPv6 address or CIDR; absent = any remote address (0.0.0.0 and :: alone are refused).', { optional: true }),
  localPorts: f(str(checkPortList), '"any" or ports and ranges on this host, e.g. "22,8000-8010".', { default: 'any' }),
  remotePorts: f(str(checkPortList), '"any" or ports and ranges on the remote side.', { default: 'any' }),
  description: f(str(), 'Free text shown in `bulwark isolation exclusions`.', { default: '' }),
  status: f(oneOf(['active', 'inactive']), 'Inactive exclusions are kept but not applied.', { default: 'active' }),
  // Process exclusions: at most one of these per rule (checked in src/isolation/process-rules.ts).
  unit: f(str(checkUnit), 'Process exclusion: a systemd unit ("nginx.service"); its cgroup is re-resolved when the unit restarts.', { optional: true }),
  cgroup: f(str(checkCgroupPath), 'Process exclusion: a cgroup v2 path relative to the cgroup2 root ("system.slice/app.service").', { optional: true }),
  user: f(str(checkAccount), 'Process exclusion: connections opened by this user (name or uid); outbound only.', { optional: true }),
  group: f(str(checkAccount), 'Process exclusion: connections opened by processes of this group (name or gid); outbound only.', { optional: true }),
  executable: f(str(checkExecutable), 'Process exclusion: an executable, by absolute path or by process name.', { optional: true }),
});

// ---- fleet mode (src/fleet, docs/fleet.md) ----

const checkName: Check = (s) => (/^[A-Za-z0-9_-]{1,64}$/.test(s) && s !== 'operator' ? undefined : 'not a name (1-64 letters, digits, "-", "_"; not "operator")');
const checkServer: Check = (s) => (/^(nats|tls):\/\/[^\s/]+:[0-9]{1,5}$/.test(s) || /^[^\s/:]+:[0-9]{1,5}$/.test(s) ? undefined : 'not a NATS server URL ("tls://HOST:PORT", "nats://HOST:PORT" or "HOST:PORT")');
const checkUserKey: Check = (s) => (/^U[A-Z2-7]{55}$/.test(s) ? undefined : 'not a user public nkey (U followed by 55 base32 characters)');

export const FLEET_SCHEMA: FieldDef = f(
  obj({
    servers: f(list(str(checkServer), 64), 'NATS servers of the fleet cluster ("tls://HOST:PORT").', { required: true }),
    hostId: f(str(checkName), 'This host\'s id in the fleet (default: /etc/machine-id).', { optional: true }),
    name: f(str(checkNonEmpty), 'Display name in `bulwark fleet hosts` (default: the host name).', { optional: true }),
    groups: f(list(str(checkName), 32), 'Policy groups of this host, in merge order (fleet → these groups → host; later wins).', { default: [] }),
    credentials: f(str(checkAbsolutePath), 'NATS .creds file (JWT and nkey seed).', { optional: true }),
    user: f(str(checkNonEmpty), 'NATS user name (with password).', { optional: true }),
    password: f(str(), 'NATS password (with user).', { optional: true }),
    nkey: f(str(checkAbsolutePath), 'File holding this host\'s nkey seed (SU…) for NATS nkey authentication.', { optional: true }),
    tls: f(
      obj({
        ca: f(str(checkAbsolutePath), 'CA certificate file the servers\' certificates are checked against.', { required: true }),
        cert: f(str(checkAbsolutePath), 'Client certificate file (mutual TLS).', { optional: true }),
        key: f(str(checkAbsolutePath), 'Client private key file (mutual TLS).', { optional: true }),
      }),
      'TLS towards the NATS servers (required unless allowInsecure).',
      { optional: true },
    ),
    allowInsecure: f(bool(), 'Allow a connection without TLS or without credentials (tests and labs only).', { default: false }),
    operators: f(list(str(checkUserKey), 64), 'Operator public nkeys (U…) whose signed orders, fleet unblocks and policies this host accepts.', { default: [] }),
    signingKey: f(str(checkAbsolutePath), 'Operator machines only: nkey seed file (SU…) that `bulwark fleet` signs orders and policies with.', { optional: true }),
    share: f(oneOf(['fleet', 'group', 'none']), 'Where this host\'s blocks are shared: every host, the host\'s groups, or nobody (a policy may set it).', { default: 'fleet' }),
    maxDecisionsPerMinute: f(int(1, 100_000), 'Shared block decisions accepted per origin host per minute (and published by this host); the rest are counted and dropped.', { default: 600 }),
    heartbeat: f(dur(SEC, HOUR), 'How often this host refreshes its record in the fleet view.', { default: 15_000, prop: 'heartbeatMs' }),
  }),
  'Fleet mode on NATS JetStream: shared blocks, central policy with locks, remote isolation. Absent = standalone.',
  { optional: true },
);

// ---- response policy (src/respond/policy, docs/response.md) ----

const checkPolicyName: Check = (s) => (/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(s) ? undefined : 'not a rule name (1-64 letters, digits, "_", ".", ":", "-")');
const checkPriority: Check = (s) => priorityProblem(s);
const checkPathOrNone: Check = (s) => (s === '' || s.trim() !== '' ? undefined : 'must be a path or "" (none)');

const policyRuleItem = obj({
  name: f(str(checkPolicyName), 'Name shown in events (`bulwark.response.policy_rule`) and `bulwark policy explain`; default `#N` (its position).', { optional: true }),
  description: f(str(), 'Free text.', { optional: true }),
  match: f(
    obj({
      sid: f(list(int(1, 2 ** 32 - 1), 100_000), 'Signature ids.', { optional: true }),
      gid: f(list(int(0, 2 ** 32 - 1), 1024), 'Generator ids (Suricata `gid`; 1 unless a rule says otherwise).', { optional: true }),
      category: f(list(str(checkNonEmpty), 1024), 'ET categories: the first two words of the rule message ("ET EXPLOIT", "GPL SQL"), case-insensitive.', { optional: true }),
      classtype: f(list(str(checkNonEmpty), 1024), 'Rule classtypes ("attempted-admin", "web-application-attack"…).', { optional: true }),
      priority: f(str(checkPriority), 'The rule\'s priority, else its classtype\'s default: "1", "<=2", "<3", ">=2", ">1" or "1-2" (quote it in YAML).', { optional: true }),
      severity: f(list(oneOf(SEVERITIES), 4), 'bulwark severities (ET signature_severity Critical → critical, Major → high, Minor → medium, Informational → low).', { optional: true }),
      metadata: f(
        { kind: 'map', values: list(str(checkNonEmpty), 1024), keyPattern: '^[A-Za-z0-9_-]+$', maxEntries: 32 },
        'Rule metadata: each key must be present with one of the listed values, e.g. { signature_severity: [Major, Critical] } (case-insensitive).',
        { optional: true },
      ),
      origin: f(list(oneOf(['yaml', 'rules']), 2), '"yaml" (bulwark databases and detectors) or "rules" (imported .rules files).', { optional: true }),
      ruleAction: f(list(oneOf(['alert', 'block']), 2), 'The signature\'s own action: "alert", or "block" (a rule\'s drop/reject, YAML action: block).', { optional: true }),
      detector: f(list(oneOf(DETECTORS), 3), 'Behavioural detector kinds (signatures never match this condition).', { optional: true }),
    }),
    'Conditions: every one given must hold (any value of a list); {} matches every detection.',
    { required: true },
  ),
  action: f(oneOf(['block', 'alert', 'ignore', 'rule']), 'block the source | alert only | ignore (no event, no block) | rule (the signature\'s own action).', { required: true }),
});

export const RESPONSE_SCHEMA: FieldDef = f(
  obj({
    policy: f(list(policyRuleItem, 1024), 'Your response policy rules, first match wins, evaluated before the shipped defaults.'),
    defaultPolicy: f(bool(), 'Evaluate the shipped default policy after `policy` (docs/response.md); false: only `policy`, then each signature\'s own action.'),
    thresholdFile: f(
      str(checkPathOrNone),
      'Suricata threshold.config with suppress / threshold / event_filter / rate_filter entries (relative to the config file); "" = none. Re-read on every reload; a bad file is refused with FILE:LINE and the last good one stays.',
    ),
    maxThresholdEntries: f(int(1024, 10_000_000), 'Bound of the threshold tracking table (per signature and address); the least recently used entry is evicted when full (counted).'),
    blockHalfOpen: f(
      obj({
        portscan: f(bool(), 'Port scans (SYN, FIN, NULL, Xmas probes) block the source.'),
        synflood: f(bool(), 'Single-source SYN floods (track by_src) block the source.'),
        bruteforce: f(bool(), 'Brute-force findings whose connections did not complete handshakes block the source.'),
      }),
      'Per detector: half-open evidence blocks the source, except verified peers and never-block addresses, within maxHalfOpenBlocksPerMinute.',
    ),
    maxHalfOpenBlocksPerMinute: f(int(1, 100_000), 'Cap on blocks from half-open evidence per minute (separate from maxBlocksPerMinute); excess findings are alerted (block_skipped: half-open cap).'),
  }),
  'Which detections block, and Suricata-style alert tuning (docs/response.md).',
);

export const CONFIG_SCHEMA: SchemaNode = obj({
  interfaces: f(list(str(checkIfname), 64), 'Capture interfaces; empty = every interface that is up, except loopback.'),
  databases: f(
    obj({
      dir: f(str(checkNonEmpty), 'Directory of signature databases (*.yaml, *.rules) with a manifest. Relative paths are relative to the config file.'),
      rules: f(list(str(checkNonEmpty), 256), 'Extra Suricata/Snort .rules files imported on top of `dir` (relative to the config file).'),
      requireManifest: f(bool(), 'Refuse a database directory whose integrity manifest is missing or does not match.'),
      vars: f(
        { kind: 'map', values: str(checkNonEmpty), keyPattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxEntries: 1024 },
        'Suricata address/port variables ($HOME_NET, $HTTP_PORTS...). Keys given here replace the default of the same name; the other defaults stay.',
      ),
      anyPorts: f(list(port(), 65535), 'Ports a rule with destination port `any` maps to; empty = union of the other rules\' ports.'),
      limits: f(
        obj({
          fileSize: f(size(1 * KiB, 1 * GiB), 'Largest database or rules file read.', { prop: 'fileSizeBytes' }),
          rules: f(int(1, 10_000_000), 'Most rules and signatures in the whole ruleset.'),
          ruleLength: f(size(256, 16 * MiB), 'Longest single rule (continuation lines joined).', { prop: 'ruleLengthBytes' }),
          contentLength: f(size(16, 16 * MiB), 'Longest content of a signature, in bytes after decoding.', { prop: 'contentLengthBytes' }),
          compileMemory: f(size(64 * MiB, 64 * GiB), 'Heap cap of the worker that compiles the databases off the event loop; a compile that needs more is refused (the active ruleset stays).', { prop: 'compileMemoryBytes' }),
        }),
        'Bounds on what the loader accepts; a database over one is refused with file:line and the active ruleset stays.',
      ),
      datasets: f(
        obj({
          dir: f(str(checkPathOrEmpty), 'Data directory of the `dataset` keyword: relative `save`/`state` files live here (Suricata\'s data-dir); "" = <stateDir>/datasets. Written atomically on reload and stop.'),
          memcap: f(size(1 * KiB, 64 * GiB), 'Default memcap of one dataset (a rule\'s `memcap` overrides it): entries past it are refused and counted in bulwark_dataset_memcap_refused_total.', { prop: 'memcapBytes' }),
          hashsize: f(int(1, 16_777_216), 'Default hashsize of one dataset (accepted for Suricata compatibility; the table grows by itself).'),
          maxSets: f(int(1, 65_536), 'Most datasets in one ruleset; rules naming more are skipped ("too many datasets").'),
          sets: f(
            list(
              obj({
                name: f(str(checkNonEmpty, '^[^,\\s]{1,63}$'), 'Set name (case-insensitive), as rules name it.', { required: true }),
                type: f(oneOf(['string', 'md5', 'sha256', 'ipv4', 'ip']), 'Item type.', { required: true }),
                load: f(str(checkNonEmpty), 'File to load (relative to the config file).', { optional: true }),
                state: f(str(checkNonEmpty), 'File to load and save (relative to `dir`).', { optional: true }),
                save: f(str(checkNonEmpty), 'File to save (relative to `dir`).', { optional: true }),
                memcap: f(size(1 * KiB, 64 * GiB), 'Memcap of this set.', { optional: true, prop: 'memcapBytes' }),
                hashsize: f(int(1, 16_777_216), 'Hashsize of this set.', { optional: true }),
              }),
              1024,
            ),
            'Sets declared here rather than in a rule (suricata.yaml `datasets:`); rules then name them without a type. A bad file refuses the whole ruleset.',
          ),
        }),
        'Suricata datasets (`dataset` keyword): where save/state files go and the default bounds (docs/signatures.md "Datasets").',
        { optional: true },
      ),
    }),
    'Signature databases.',
  ),
  protection: f(
    obj({ enabled: f(bool(), 'Network threat protection on/off (capture, detection and response). Off by default on a host with only local settings; a fleet-managed host has it on unless its policy says off.') }),
    'Network threat protection.',
  ),
  action: f(oneOf(['block', 'alert', 'dry-run']), 'Response to detections: block the source, only alert, or dry-run (log what would be blocked).'),
  blockDuration: f(dur(SEC, 30 * DAY), 'How long a detected attacker stays blocked (kernel-enforced timeout).', { prop: 'blockDurationMs' }),
  maxBlocksPerMinute: f(int(1, 1_000_000), 'Cap on new blocks per minute from detections; excess detections are alerted, not blocked.'),
  neverBlock: f(list(str(checkCidr)), 'Addresses/CIDRs never blocked (loopback and the host\'s own addresses are always added).'),
  neverBlockSshClients: f(
    bool(),
    'Never block the remote hosts of authenticated sessions: utmp sessions and peers of sshd session processes past authentication (sshd: user@pts/N, sshd: user@notty). Connections that never authenticate are not protected.',
  ),
  sessionRefresh: f(dur(500, MIN), 'How often authenticated sessions are re-read for the never-block list.', { prop: 'sessionRefreshMs' }),
  neverBlockGateways: f(bool(), 'Never block the host\'s default gateways (both families).'),
  neverBlockResolvers: f(bool(), 'Never block the configured DNS resolvers (/etc/resolv.conf, or isolation.resolvConf).'),
  management: f(
    list(
      obj({
        address: f(str(checkHostOrCidr), 'IP address, CIDR or host name of the management server.', { required: true }),
        port: f(port(), 'TCP port on the management host; absent = any port.', { optional: true }),
        description: f(str(), 'Free text.', { optional: true }),
      }),
      256,
    ),
    'Management endpoints: never blocked and always reachable during isolation.',
  ),
  metrics: f(
    obj({
      enabled: f(bool(), 'Serve Prometheus metrics over HTTP.'),
      listen: f(str(checkListen), 'HOST:PORT of the metrics HTTP server (GET /metrics, GET /healthz).'),
      topN: f(int(0, 100), 'Series in the top-N views bulwark_top_attacker_alerts and bulwark_top_signature_alerts (the busiest sources and signatures of the last topWindow); 0 = off.'),
      topWindow: f(dur(MIN, DAY), 'Sliding window the top-N views count over.', { prop: 'topWindowMs' }),
    }),
    'Prometheus metrics endpoint.',
  ),
  control: f(
    obj({
      socket: f(str(checkSocketPath), 'Unix socket of the control API used by the CLI (mode 0600; parent directory created 0755).'),
      group: f(str(checkGroup), 'Group allowed to use the control socket (socket becomes 0660 with this group).', { optional: true }),
    }),
    'Control socket.',
  ),
  stateDir: f(str(checkAbsolutePath), 'State directory (lock file, block and isolation state). Created if missing.'),
  log: f(obj({ level: f(oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal']), 'Log level (BULWARK_LOG_LEVEL overrides).') }), 'Logging.'),
  events: f(
    obj({
      file: f(str(checkPathOrEmpty), 'EVE-JSON event file; "" = events only in the log.'),
      maxBytes: f(size(64 * KiB, 64 * GiB), 'Rotate the event file at this size.'),
      keep: f(int(0, 1000), 'Rotated event files kept.'),
      foldWindow: f(dur(0, DAY), 'Repeats of (source, signature) within this window fold into one event.', { prop: 'foldWindowMs' }),
      queueSize: f(int(1, 10_000_000), 'Bounded queue between engine and event writers; the oldest events are dropped when full (counted).'),
      payload: f(bool(), "Alert events carry the inspected data, as Suricata's eve-log alert `payload`/`payload-printable`/`payload-length: yes`: the packet's payload, or the stream (last 4 KiB, gaps marked) for stream and app-layer matches (docs/events.md)."),
      packet: f(bool(), "Alert events carry the packet that raised the match, base64 with its link header, as Suricata's eve-log alert `packet: yes` (docs/events.md)."),
      references: f(bool(), "Alert events carry the rule's `reference:` keywords as URLs (alert.references), as Suricata's eve-log alert `metadata: rule: reference: yes`. On by default (operators want the CVE/URL of an ET alert); false gives Suricata 8's default output, without them (docs/events.md)."),
    }),
    'Security events.',
  ),
  capture: f(
    obj({
      bufferBytes: f(size(1 * MiB, 2 * GiB), 'libpcap kernel buffer size per interface.'),
      bufferTimeout: f(dur(1, 10 * SEC), 'libpcap buffer timeout (latency vs. wake-ups).', { prop: 'bufferTimeoutMs' }),
      snaplen: f(int(64, 262_144), 'Bytes captured per packet.'),
      exclude: f(list(str(checkCidr)), 'CIDRs whose traffic is not captured (BPF-level).'),
      checksumChecks: f(
        oneOf(['auto', 'yes', 'no']),
        "Suricata's checksum-checks per interface: auto = validate TCP checksums unless more than 1 in 10 of the first 1000 packets fail (checksum offload); yes; no.",
      ),
    }),
    'Packet capture.',
  ),
  engine: f(
    obj({
      maxFlows: f(int(1, 100_000_000), 'Flow table size; the least recently used flow is evicted when full (counted).'),
      maxVerifiedPeers: f(int(16, 10_000_000), 'Verified-peer table size (sources with a verified handshake within 24 h); the least recently used is evicted when full (counted).'),
      reassemblyDepth: f(size(0, 1 * GiB), 'Bytes reassembled per flow direction; the rest is not inspected.'),
      maxSegmentsPerFlow: f(int(1, 1_000_000), 'Out-of-order segments buffered per flow direction.'),
      checksumValidation: f(bool(), "Suricata's stream.checksum-validation: packets with an invalid TCP checksum stay out of the TCP streams (handshake, reassembly, app layer); their flow and packet rules still see them (subject to capture.checksumChecks)."),
      defrag: f(
        obj({
          trackers: f(int(16, 10_000_000), "IP datagrams reassembled at once (Suricata defrag.trackers); the least recently used is dropped when full (counted).", { prop: 'maxTrackers' }),
          memcap: f(size(64 * KiB, 4 * 1024 * MiB), 'Fragment bytes held by all datagrams in reassembly (Suricata defrag.memcap); least recently used datagrams are dropped beyond it (counted).', { prop: 'maxBytes' }),
          maxFragments: f(int(8, 65_535), 'Fragments held per datagram; further ones are ignored (frag_ignored event).'),
          timeout: f(dur(SEC, HOUR), 'A datagram with no new fragment for this long is dropped (Suricata defrag.timeout).', { prop: 'timeoutMs' }),
        }),
        "IP defragmentation (Suricata's defrag, BSD overlap policy).",
      ),
      midstream: f(bool(), "Suricata's stream.midstream: a TCP flow picked up without its handshake gets app-layer parsing (HTTP, TLS… buffers); off, only its raw stream is inspected."),
      packetAlertMax: f(int(1, 65_535), "Suricata's packet-alert-max: alerts one packet may raise, in the packet's alert order; the rest are discarded and counted (bulwark_alert_queue_overflow_total)."),
      actionOrder: f({ kind: 'array', items: oneOf(['pass', 'drop', 'reject', 'alert']), maxItems: 4, minItems: 4, unique: true }, "Suricata's action-order: the order of a packet's matches (then flowbits use, priority, sid); a pass match ends the packet's alerts after it. Name each of pass, drop, reject, alert once."),
      timeouts: f(
        obj({
          new: f(dur(SEC, DAY), 'Idle timeout of flows without a completed handshake.', { prop: 'newMs' }),
          established: f(dur(SEC, 7 * DAY), 'Idle timeout of established flows.', { prop: 'establishedMs' }),
          closed: f(dur(0, DAY), 'How long closed flows are kept.', { prop: 'closedMs' }),
        }),
        'Flow idle timeouts.',
      ),
      regex: f(
        obj({
          matchLimit: f(int(1, 100_000_000), 'PCRE2 match limit of every regex (pcre keyword): a match that needs more backtracking steps is no match, counted in bulwark_regex_executions_total{result="limit"} (Suricata: 3500).'),
          depthLimit: f(int(1, 100_000_000), 'PCRE2 depth limit of every regex (Suricata\'s match-limit-recursion, 1500); the JIT does not use it.'),
          overrideMatchLimit: f(int(1, 100_000_000), 'Match limit of a pcre with Suricata\'s `O` modifier (Suricata\'s pcre.match-limit).'),
          overrideDepthLimit: f(int(1, 100_000_000), 'Depth limit of a pcre with the `O` modifier (Suricata\'s pcre.match-limit-recursion).'),
          heapLimit: f(size(64 * KiB, 1 * GiB), 'Backtracking memory of one interpreted match (the JIT uses its own stack); over it the match is no match, counted like the match limit.'),
          packetBudget: f(dur(0, 10 * SEC), 'Regex time one packet may use; its remaining regex checks are skipped and counted (0 = unbounded).', { prop: 'packetBudgetMs' }),
          secondBudget: f(dur(0, SEC), 'Regex time all packets together may use per second, so a flood of pathological payloads cannot stall inspection and the control socket (0 = unbounded).', { prop: 'secondBudgetMs' }),
        }),
        'The regex engine (PCRE2): per-match limits and the inspection budget.',
      ),
      appLayer: f(
        obj({
          maxFlowMemory: f(size(64 * KiB, 4 * GiB), 'Bytes one flow\'s app-layer parsers may hold (buffered lines and headers, bodies, decompression state); over it the flow\'s app-layer parsing stops, counted in bulwark_applayer_limits_total{limit="flow"}; raw stream inspection goes on.'),
          maxMemory: f(size(1 * MiB, 64 * GiB), 'Bytes the app-layer parsers of all flows may hold together; the flow whose growth crosses it stops its app-layer parsing, counted in bulwark_applayer_limits_total{limit="global"}.'),
          http: f(
            obj({
              requestBodyLimit: f(size(1 * KiB, 64 * MiB), 'Request body bytes kept per HTTP transaction for http.request_body and file.data to the server (dechunked, decompressed), as Suricata\'s libhtp request-body-limit (default 100 KiB). Suricata\'s 0 (unlimited) is not accepted: bodies are bounded; maxFlowMemory still applies.'),
              responseBodyLimit: f(size(1 * KiB, 64 * MiB), 'Response body bytes kept per HTTP transaction for http.response_body and file.data (dechunked, decompressed), as Suricata\'s libhtp response-body-limit (default 100 KiB). Suricata\'s 0 (unlimited) is not accepted: bodies are bounded; maxFlowMemory still applies.'),
            }),
            'HTTP parser settings (Suricata app-layer.protocols.http.libhtp.default-config).',
          ),
        }),
        'App-layer memory budget (per flow and global).',
      ),
    }),
    'Inspection engine.',
  ),
  intercept: f(
    obj({
      listen: f(bool(), 'Listen on watched ports where no local service does, so attacks reach the inspector.'),
      excludePorts: f(list(port(), 65535), 'Ports never listened on.'),
      maxConnections: f(int(1, 1_000_000), 'Concurrent intercepted connections; new ones are refused when full.'),
      idleTimeout: f(dur(SEC, HOUR), 'Intercepted connections idle longer than this are closed.', { prop: 'idleTimeoutMs' }),
      maxBytesPerConnection: f(size(1, 1 * GiB), 'Bytes read per intercepted connection before it is closed.'),
    }),
    'Port interception.',
  ),
  isolation: f(
    obj({
      autoEnd: f(bool(), 'End isolation automatically after `duration` (otherwise after 5 h if no --for is given).'),
      duration: f(dur(MIN, 30 * DAY), 'Default isolation length.', { prop: 'durationMs' }),
      profiles: f(list(str(checkProfile), 64), 'Network profiles allowed during isolation (names from databases/network-profiles.yaml).'),
      exclusions: f(list(exclusionItem, 1024), 'Exclusions applied to automatic (policy) isolation.'),
      policy: f(
        obj({
          enabled: f(bool(), 'Isolate automatically on detections matching any list below.'),
          severities: f(list(oneOf(SEVERITIES), 4), 'Severities that trigger isolation.'),
          signatureIds: f(list(int(1, 2 ** 31 - 1), 10_000), 'Signature ids that trigger isolation.'),
          detectors: f(list(oneOf(DETECTORS), 3), 'Behavioural detectors that trigger isolation.'),
        }),
        'Automatic isolation policy.',
      ),
      rstWindow: f(dur(0, 5 * MIN), 'How long outgoing RSTs may leave after severing connections.', { prop: 'rstWindowMs' }),
      resolvConf: f(list(str(checkAbsolutePath), 16), 'resolv.conf files read to restrict the DNS profiles to the host\'s resolvers (default: /etc/resolv.conf and systemd-resolved\'s upstream file).', { optional: true }),
      processes: f(
        obj({
          cgroupMount: f(str(checkAbsolutePath), 'Mount point of the cgroup v2 hierarchy; absent = found in /proc/self/mountinfo (BULWARK_CGROUP2_MOUNT overrides).', { optional: true }),
          rescan: f(dur(100, MIN), 'How often units, cgroups and executables of process exclusions are re-resolved while isolated (a restarted unit gets a new cgroup id).', { prop: 'rescanMs' }),
          agentCgroup: f(bool(), "Keep the daemon's own connections exempt by its cgroup: use its own service cgroup, or move the daemon into a child cgroup of its own when it shares one."),
        }),
        'Process exclusions and the daemon\'s own flows during isolation.',
      ),
      leaseDirs: f(list(str(checkAbsolutePath), 16), 'Directories of DHCP lease files read to restrict the DHCP client profile to the host\'s DHCP servers (default: dhclient and systemd-networkd lease directories).', { optional: true }),
    }),
    'Network isolation.',
  ),
  rules: f(
    obj({
      dir: f(str(checkPathOrEmpty), 'Directory of `bulwark rules`: sources.yaml (enabled sources), the download cache and the merged bulwark.rules, which the daemon loads after databases.rules; "" = <stateDir>/rules.'),
      disableConf: f(str(checkPathOrEmpty), 'Rules to disable, one matcher per line (suricata-update disable.conf format); "" or a missing file = none.'),
      enableConf: f(str(checkPathOrEmpty), 'Rules to enable (suricata-update enable.conf format), applied after disableConf.'),
      dropConf: f(str(checkPathOrEmpty), 'Rules whose action becomes drop, so bulwark blocks on them (suricata-update drop.conf format).'),
      modifyConf: f(str(checkPathOrEmpty), 'Rule rewrites, MATCHER "FROM" "TO" per line (suricata-update modify.conf format).'),
      ignore: f(list(str(checkNonEmpty), 256), 'Rule files skipped entirely (wildcards over the file name).'),
      updateInterval: f(dur(0, 30 * DAY), 'Run `rules update` in the daemon this often (0 = never; at least 1h when set). Cron or a systemd timer running `bulwark rules update` works as well.', { prop: 'updateIntervalMs' }),
      timeout: f(dur(SEC, HOUR), 'Deadline of one download (connect, redirects and body).', { prop: 'timeoutMs' }),
      maxDownloadSize: f(size(64 * KiB, 4 * GiB), 'Largest file a source may serve; a larger download is refused and nothing changes.'),
    }),
    'Rule sources and updates (`bulwark rules`, like suricata-update).',
  ),
  fleet: FLEET_SCHEMA,
  response: RESPONSE_SCHEMA,
  loginFailures: f(
    obj({
      enabled: f(bool(), 'Block sources of repeated sshd authentication failures (while protection is on).'),
      source: f(oneOf(['auto', 'journal', 'file']), 'Where sshd logs: auto = the journal when journalctl works, else `file`.'),
      file: f(str(checkAbsolutePath), 'sshd log file (auth.log, or the file of sshd -E), read from its end and followed across rotation.'),
      maxFailures: f(int(1, 1000), 'Failures from one address within `window` that block it (fail2ban sshd jail: 5).'),
      window: f(dur(SEC, DAY), 'Window the failures are counted in (fail2ban: 10m).', { prop: 'windowMs' }),
      maxTracked: f(int(16, 10_000_000), 'Addresses tracked at once; the least recently seen is evicted when full (counted).'),
    }),
    'sshd authentication failures as evidence (docs/response.md "Login failures").',
  ),
});

/**
 * Every leaf key path of the schema ("engine.timeouts.new", "management[].address"...): YAML keys,
 * or with `props` the Config property names ("engine.timeouts.newMs").
 */
export function schemaPaths(node: SchemaNode = CONFIG_SCHEMA, prefix = '', props = false): string[] {
  if (node.kind === 'object') {
    return Object.entries(node.fields).flatMap(([k, fd]) => {
      const name = props ? propOf(k, fd) : k;
      const p = prefix === '' ? name : `${prefix}.${name}`;
      const inner = schemaPaths(fd.node, p, props);
      return inner.length === 0 ? [p] : inner;
    });
  }
  if (node.kind === 'array' && node.items.kind === 'object') return schemaPaths(node.items, `${prefix}[]`, props);
  return [];
}
