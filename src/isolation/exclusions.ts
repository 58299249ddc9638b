/**
 * Exclusions: validation, the 50/50 limits, the device list operations, profile-rule copies, and
 * the scope rule (policy exclusions only for automatic isolation, device exclusions only for manual).
 * Pure: no I/O, every error is a BulwarkError with a message an operator can act on.
 */
import type { ExclusionRule, ExclusionDirection, ExclusionProtocol, ManagementEndpoint } from '../config/types.js';
import { BulwarkError } from '../errors.js';
import { parseCidr, cidrText, parsePorts, portsText } from './addr.js';
import type { HostNetInfo, ProfileDb, ProfileRule } from './profiles.js';
import { PROCESS_KINDS, describeSelector, selectorOf, validateProcessFields } from './processes.js';
import {
  MAX_INBOUND_EXCLUSIONS,
  MAX_OUTBOUND_EXCLUSIONS,
  type DeviceExclusion,
  type DeviceExclusionFile,
  type EffectiveRule,
  type IsolationMode,
} from './types.js';

const DIRECTIONS: readonly ExclusionDirection[] = ['inbound', 'outbound', 'both'];
const PROTOCOLS: readonly ExclusionProtocol[] = ['tcp', 'udp', 'icmp', 'any'];
const MAX_DESCRIPTION = 200;

function bad(message: string, details?: Record<string, unknown>): BulwarkError {
  return new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', message, details === undefined ? {} : { details });
}

/** Checks one remote address of a custom rule: the unspecified address and /0 are refused. */
export function validateRemoteAddress(text: string): string {
  const c = parseCidr(text);
  if (c.len === 0) {
    throw bad(`remote address "${text}" matches every address; leave the address out (any) and restrict the ports instead`);
  }
  if ((c.addr === '0.0.0.0' || c.addr === '::') && c.len === (c.family === 4 ? 32 : 128)) {
    throw bad(`remote address "${text}" is the unspecified address (0.0.0.0 and :: alone are refused)`);
  }
  return cidrText(c);
}

/**
 * Validates and normalises one exclusion rule (custom or policy). Throws BULWARK_ERR_INVALID_ARGUMENT
 * naming the field. `where` prefixes messages ("exclusion 3: ...").
 */
export function validateExclusion(input: unknown, where = 'exclusion'): ExclusionRule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw bad(`${where}: must be an object`);
  const r = input as Record<string, unknown>;
  const known = new Set(['direction', 'protocol', 'remoteAddress', 'localPorts', 'remotePorts', 'description', 'status', 'id', 'fromProfile', ...PROCESS_KINDS]);
  for (const k of Object.keys(r)) if (!known.has(k)) throw bad(`${where}: unknown field "${k}"`);
  const direction = r.direction;
  if (typeof direction !== 'string' || !DIRECTIONS.includes(direction as ExclusionDirection)) {
    throw bad(`${where}: direction must be one of ${DIRECTIONS.join(', ')}`);
  }
  const proc = validateProcessFields(r, where);
  const protocol = r.protocol ?? 'any';
  if (typeof protocol !== 'string' || !PROTOCOLS.includes(protocol as ExclusionProtocol)) {
    throw bad(`${where}: protocol must be one of ${PROTOCOLS.join(', ')}`);
  }
  let remoteAddress: string | undefined;
  if (r.remoteAddress !== undefined && r.remoteAddress !== null && r.remoteAddress !== '' && r.remoteAddress !== 'any') {
    if (typeof r.remoteAddress !== 'string') throw bad(`${where}: remoteAddress must be a string`);
    try {
      remoteAddress = validateRemoteAddress(r.remoteAddress);
    } catch (e) {
      throw bad(`${where}: ${(e as Error).message}`);
    }
  }
  const portText = (v: unknown, name: string): string => {
    if (v === undefined || v === null) return 'any';
    if (typeof v === 'number') return String(v);
    if (typeof v !== 'string') throw bad(`${where}: ${name} must be "any" or a list like "22,8000-8010"`);
    return v;
  };
  const lp = portText(r.localPorts, 'localPorts');
  const rp = portText(r.remotePorts, 'remotePorts');
  let localPorts;
  let remotePorts;
  try {
    localPorts = parsePorts(lp, 'localPorts');
    remotePorts = parsePorts(rp, 'remotePorts');
  } catch (e) {
    throw bad(`${where}: ${(e as Error).message}`);
  }
  if (protocol === 'icmp' && (localPorts !== 'any' || remotePorts !== 'any')) {
    throw bad(`${where}: ICMP has no ports; use localPorts and remotePorts "any"`);
  }
  if (proc === undefined && remoteAddress === undefined && localPorts === 'any' && remotePorts === 'any') {
    throw bad(`${where}: a rule with any address and any ports would lift isolation in its direction; give a remote address or ports`);
  }
  const description = r.description ?? '';
  if (typeof description !== 'string') throw bad(`${where}: description must be a string`);
  if (description.length > MAX_DESCRIPTION) throw bad(`${where}: description longer than ${MAX_DESCRIPTION} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(description)) throw bad(`${where}: description contains control characters`);
  const status = r.status ?? 'active';
  if (status !== 'active' && status !== 'inactive') throw bad(`${where}: status must be active or inactive`);
  const out: ExclusionRule = {
    direction: direction as ExclusionDirection,
    protocol: protocol as ExclusionProtocol,
    localPorts: portsText(localPorts),
    remotePorts: portsText(remotePorts),
    description,
    status,
  };
  if (remoteAddress !== undefined) out.remoteAddress = remoteAddress;
  if (proc) out[proc.kind] = proc.value;
  return out;
}

export function countByDirection(rules: readonly ExclusionRule[]): { inbound: number; outbound: number } {
  let inbound = 0;
  let outbound = 0;
  for (const r of rules) {
    if (r.direction !== 'outbound') inbound++;
    if (r.direction !== 'inbound') outbound++;
  }
  return { inbound, outbound };
}

/** Throws BULWARK_ERR_LIMIT when the list holds more than 50 inbound or 50 outbound rules ('both' counts for both). */
export function checkLimits(rules: readonly ExclusionRule[], list: string): void {
  const { inbound, outbound } = countByDirection(rules);
  if (inbound > MAX_INBOUND_EXCLUSIONS) {
    throw new BulwarkError('BULWARK_ERR_LIMIT', `${list}: at most ${MAX_INBOUND_EXCLUSIONS} inbound exclusions ('both' counts as inbound), this change makes ${inbound}`, {
      details: { inbound, limit: MAX_INBOUND_EXCLUSIONS },
    });
  }
  if (outbound > MAX_OUTBOUND_EXCLUSIONS) {
    throw new BulwarkError('BULWARK_ERR_LIMIT', `${list}: at most ${MAX_OUTBOUND_EXCLUSIONS} outbound exclusions ('both' counts as outbound), this change makes ${outbound}`, {
      details: { outbound, limit: MAX_OUTBOUND_EXCLUSIONS },
    });
  }
}

/** Validates the policy list from the config; errors name the index (BULWARK_ERR_CONFIG). */
export function validatePolicyExclusions(rules: readonly unknown[]): ExclusionRule[] {
  try {
    const out = rules.map((r, i) => validateExclusion(r, `isolation.exclusions[${i}]`));
    checkLimits(out, 'isolation.exclusions');
    return out;
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_CONFIG', (e as Error).message, { cause: e });
  }
}

export function emptyDeviceFile(): DeviceExclusionFile {
  return { version: 1, nextId: 1, exclusions: [], suppressedProfileRules: [] };
}

/** A device-list reference: a number ("3") for a custom rule, "NAME/N" or "profile:NAME/N" for a profile rule. */
export type ExclusionRef = { kind: 'custom'; id: number } | { kind: 'profile'; profile: string; index: number; key: string };

export function parseRef(text: string): ExclusionRef {
  const s = text.trim().replace(/^device\//, '');
  if (/^[0-9]+$/.test(s)) return { kind: 'custom', id: Number(s) };
  const m = /^(?:profile:)?([a-z0-9][a-z0-9-]*)\/([0-9]+)$/.exec(s);
  if (m) return { kind: 'profile', profile: m[1]!, index: Number(m[2]), key: `${m[1]!}/${m[2]!}` };
  throw bad(`"${text}" is not an exclusion id (a number for a custom exclusion, or PROFILE/N for a profile rule; see \`bulwark isolation exclusions\`)`);
}

function findCustom(file: DeviceExclusionFile, id: number): DeviceExclusion {
  const r = file.exclusions.find((x) => x.id === id);
  if (!r) throw new BulwarkError('BULWARK_ERR_NOT_FOUND', `no custom exclusion with id ${id}`);
  return r;
}

function findProfileRule(db: ProfileDb, ref: { profile: string; index: number; key: string }): ProfileRule {
  const p = db.profiles.get(ref.profile);
  if (!p) throw new BulwarkError('BULWARK_ERR_NOT_FOUND', `no network profile "${ref.profile}" (known: ${[...db.profiles.keys()].join(', ')})`);
  const r = p.rules[ref.index - 1];
  if (!r) throw new BulwarkError('BULWARK_ERR_NOT_FOUND', `profile ${ref.profile} has no rule ${ref.index} (it has ${p.rules.length})`);
  return r;
}

function stripDevice(r: DeviceExclusion): ExclusionRule {
  const out: ExclusionRule = { direction: r.direction, protocol: r.protocol, localPorts: r.localPorts, remotePorts: r.remotePorts, description: r.description, status: r.status };
  if (r.remoteAddress !== undefined) out.remoteAddress = r.remoteAddress;
  const sel = selectorOf(r);
  if (sel) out[sel.kind] = sel.value;
  return out;
}

export function addDeviceExclusion(file: DeviceExclusionFile, input: unknown): { file: DeviceExclusionFile; added: DeviceExclusion } {
  const rule = validateExclusion(input);
  const added: DeviceExclusion = { ...rule, id: file.nextId };
  const exclusions = [...file.exclusions, added];
  checkLimits(exclusions, 'device exclusions');
  return { file: { ...file, nextId: file.nextId + 1, exclusions }, added };
}

/**
 * Edits a custom rule in place, or copies a profile rule (with the changes) into a new custom
 * rule and suppresses the profile rule on this device. The profile itself never changes.
 */
export function editDeviceExclusion(
  file: DeviceExclusionFile,
  refText: string,
  patch: Record<string, unknown>,
  db: ProfileDb,
): { file: DeviceExclusionFile; edited: DeviceExclusion; created: boolean } {
  const ref = parseRef(refText);
  if (ref.kind === 'custom') {
    const old = findCustom(file, ref.id);
    // Giving another process selector replaces the old one rather than conflicting with it.
    const replacing = PROCESS_KINDS.some((k) => patch[k] !== undefined);
    const base = Object.fromEntries(Object.entries(stripDevice(old)).filter(([k]) => !replacing || !(PROCESS_KINDS as readonly string[]).includes(k)));
    const rule = validateExclusion({ ...base, ...patch });
    const edited: DeviceExclusion = { ...rule, id: old.id, ...(old.fromProfile === undefined ? {} : { fromProfile: old.fromProfile }) };
    const exclusions = file.exclusions.map((x) => (x.id === old.id ? edited : x));
    checkLimits(exclusions, 'device exclusions');
    return { file: { ...file, exclusions }, edited, created: false };
  }
  const pr = findProfileRule(db, ref);
  const base: Record<string, unknown> = {
    direction: pr.direction,
    protocol: pr.protocol,
    localPorts: pr.localPorts,
    remotePorts: pr.remotePorts,
    description: pr.description,
    status: 'active',
  };
  if (pr.remoteAddress !== undefined) {
    if (pr.remoteAddress.startsWith('$') && patch.remoteAddress === undefined) {
      throw bad(`profile rule ${ref.key} uses ${pr.remoteAddress} (found on the host at isolation time); give an explicit remote address for the custom copy`);
    }
    if (!pr.remoteAddress.startsWith('$')) base.remoteAddress = pr.remoteAddress;
  }
  const rule = validateExclusion({ ...base, ...patch });
  const edited: DeviceExclusion = { ...rule, id: file.nextId, fromProfile: ref.key };
  const exclusions = [...file.exclusions, edited];
  checkLimits(exclusions, 'device exclusions');
  const suppressed = file.suppressedProfileRules.includes(ref.key) ? file.suppressedProfileRules : [...file.suppressedProfileRules, ref.key];
  return { file: { ...file, nextId: file.nextId + 1, exclusions, suppressedProfileRules: suppressed }, edited, created: true };
}

export function removeDeviceExclusion(file: DeviceExclusionFile, refText: string): { file: DeviceExclusionFile; removed: DeviceExclusion } {
  const ref = parseRef(refText);
  if (ref.kind === 'profile') {
    throw bad(`network profiles are read-only; use \`bulwark isolation exclusions disable ${ref.key}\` to switch that rule off on this device`);
  }
  const removed = findCustom(file, ref.id);
  return { file: { ...file, exclusions: file.exclusions.filter((x) => x.id !== ref.id) }, removed };
}

export function setDeviceExclusionStatus(file: DeviceExclusionFile, refText: string, status: 'active' | 'inactive', db: ProfileDb): DeviceExclusionFile {
  const ref = parseRef(refText);
  if (ref.kind === 'profile') {
    findProfileRule(db, ref);
    const others = file.suppressedProfileRules.filter((k) => k !== ref.key);
    return { ...file, suppressedProfileRules: status === 'active' ? others : [...others, ref.key] };
  }
  findCustom(file, ref.id);
  return { ...file, exclusions: file.exclusions.map((x) => (x.id === ref.id ? { ...x, status } : x)) };
}

/** Validates a device file read from disk (hand edits included). */
export function validateDeviceFile(input: unknown): DeviceExclusionFile {
  if (typeof input !== 'object' || input === null) throw bad('device exclusion file: not an object');
  const f = input as Record<string, unknown>;
  if (f.version !== 1) throw bad('device exclusion file: unsupported version');
  const list = Array.isArray(f.exclusions) ? f.exclusions : [];
  const exclusions: DeviceExclusion[] = list.map((x, i) => {
    const rule = validateExclusion(x, `device exclusion ${i + 1}`);
    const raw = x as Record<string, unknown>;
    const id = typeof raw.id === 'number' && Number.isInteger(raw.id) && raw.id > 0 ? raw.id : i + 1;
    return { ...rule, id, ...(typeof raw.fromProfile === 'string' ? { fromProfile: raw.fromProfile } : {}) };
  });
  checkLimits(exclusions, 'device exclusions');
  const suppressed = Array.isArray(f.suppressedProfileRules) ? f.suppressedProfileRules.filter((s): s is string => typeof s === 'string') : [];
  const maxId = exclusions.reduce((m, x) => Math.max(m, x.id), 0);
  const nextId = typeof f.nextId === 'number' && f.nextId > maxId ? f.nextId : maxId + 1;
  return { version: 1, nextId, exclusions, suppressedProfileRules: suppressed };
}

/** Resolved management endpoints: host names already turned into addresses by the caller. */
export interface ResolvedManagement {
  endpoint: ManagementEndpoint;
  addresses: string[];
}

function toEffective(rule: ExclusionRule, id: string, source: EffectiveRule['source']): EffectiveRule {
  const process = selectorOf(rule);
  return {
    ...(process ? { process } : {}),
    id,
    source,
    direction: rule.direction,
    protocol: rule.protocol,
    remote: rule.remoteAddress === undefined ? 'any' : [rule.remoteAddress],
    localPorts: parsePorts(rule.localPorts),
    remotePorts: parsePorts(rule.remotePorts),
    description: rule.description,
  };
}

export interface ScopeInput {
  mode: IsolationMode;
  /** Profiles in force (config.isolation.profiles). */
  profiles: readonly string[];
  db: ProfileDb;
  host: HostNetInfo;
  device: DeviceExclusionFile;
  policy: readonly ExclusionRule[];
  management: readonly ResolvedManagement[];
}

function expandProfileRemote(r: ProfileRule, host: HostNetInfo): string[] | 'any' {
  if (r.remoteAddress === undefined) return 'any';
  if (r.remoteAddress === '$DNS_SERVERS') return host.dnsServers.length > 0 ? [...host.dnsServers] : 'any';
  if (r.remoteAddress === '$DHCP_SERVERS') return host.dhcpServers.length > 0 ? [...host.dhcpServers] : 'any';
  return [r.remoteAddress];
}

/**
 * The exclusions in force for one isolation. Scope rule: device exclusions (and the device's
 * suppressed profile rules) for manual isolation, policy exclusions for automatic isolation.
 * Profiles and management endpoints apply to both.
 */
export function selectRules(s: ScopeInput): EffectiveRule[] {
  const out: EffectiveRule[] = [];
  s.management.forEach((m, i) => {
    if (m.addresses.length === 0) return;
    const port = m.endpoint.port;
    out.push({
      id: `management/${i}`,
      source: 'management',
      direction: port === undefined ? 'both' : 'outbound',
      protocol: port === undefined ? 'any' : 'tcp',
      remote: m.addresses.map((a) => cidrText(parseCidr(a))),
      localPorts: 'any',
      remotePorts: port === undefined ? 'any' : [{ from: port, to: port }],
      description: m.endpoint.description ?? `management ${m.endpoint.address}`,
    });
  });
  const suppressed = new Set(s.mode === 'manual' ? s.device.suppressedProfileRules : []);
  for (const name of s.profiles) {
    const p = s.db.profiles.get(name);
    if (!p) continue;
    p.rules.forEach((r, i) => {
      const key = `${name}/${i + 1}`;
      if (suppressed.has(key)) return;
      out.push({
        id: `profile:${key}`,
        source: 'profile',
        direction: r.direction,
        protocol: r.protocol,
        remote: expandProfileRemote(r, s.host),
        localPorts: parsePorts(r.localPorts),
        remotePorts: parsePorts(r.remotePorts),
        description: r.description,
      });
    });
  }
  if (s.mode === 'manual') {
    for (const r of s.device.exclusions) if (r.status === 'active') out.push(toEffective(r, `device/${r.id}`, 'device'));
  } else {
    s.policy.forEach((r, i) => {
      if (r.status === 'active') out.push(toEffective(r, `policy/${i + 1}`, 'policy'));
    });
  }
  return out;
}

export function describeRule(r: EffectiveRule): string {
  if (r.process) return `${r.direction} ${describeSelector(r.process)}`;
  const remote = r.remote === 'any' ? 'any' : r.remote.join(',');
  return `${r.direction} ${r.protocol} remote ${remote} local ports ${portsText(r.localPorts)} remote ports ${portsText(r.remotePorts)}`;
}
