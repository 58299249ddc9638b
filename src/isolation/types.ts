/**
 * Isolation model shared by the pure logic (exclusions, ruleset, deadline), the manager and the CLI.
 * Kernel layout (inside `table inet bulwark`, see src/blocklist/types.ts and docs/isolation.md):
 *   set iso_on   { type nf_proto; flags timeout }  — ipv4/ipv6 elements whose timeout is the time left
 *   set iso_rst  { type nf_proto; flags timeout }  — short window in which outgoing RSTs may leave
 *   sets iso_xin4/6, iso_xout4/6 { remote addr . l4proto . local port . remote port; flags interval }
 *   counters iso_dropped_in/out/fwd; chains iso_in/iso_out/iso_fwd
 */
import type { ExclusionDirection, ExclusionProtocol, ExclusionRule } from '../config/types.js';
import type { ProcessSelector } from './processes.js';

export interface PortRange {
  from: number;
  to: number;
}

/** 'any' or a non-empty list of ranges (a single port is from === to). */
export type PortSpec = 'any' | PortRange[];

export type RuleSource = 'profile' | 'device' | 'policy' | 'management';

/** A validated, normalised exclusion as it is enforced. */
export interface EffectiveRule {
  /** Stable id shown by the CLI: "profile:dns-client/1", "device/3", "policy/2", "management/0". */
  id: string;
  source: RuleSource;
  direction: ExclusionDirection;
  protocol: ExclusionProtocol;
  /** Normalised addresses/CIDRs ("198.51.100.7", "2001:db8::/64"), or 'any'. */
  remote: string[] | 'any';
  localPorts: PortSpec;
  remotePorts: PortSpec;
  description: string;
  /** A process exclusion (unit, cgroup, user, group, executable): remote and ports are then 'any'. */
  process?: ProcessSelector;
}

/** A device-scope custom exclusion as stored in stateDir/isolation-exclusions.json. */
export interface DeviceExclusion extends ExclusionRule {
  id: number;
  /** Set when the rule was created by editing a profile rule ("dns-client/1"). */
  fromProfile?: string;
}

export interface DeviceExclusionFile {
  version: 1;
  nextId: number;
  exclusions: DeviceExclusion[];
  /** Profile rules ("dns-client/1") replaced by an edited copy or switched off on this device. */
  suppressedProfileRules: string[];
}

export type IsolationMode = 'manual' | 'automatic';

/** stateDir/isolation.json: the absolute deadline survives daemon restarts and reboots. */
export interface IsolationState {
  version: 1;
  active: boolean;
  mode: IsolationMode;
  reason: string;
  /** Event that triggered automatic isolation. */
  event?: { eventId: string; signatureId: number; signature: string; severity: string; detector?: string; srcIp: string };
  startedAtMs: number;
  endsAtMs: number;
  /** Who asked: cli, detection, restore. */
  startedBy: string;
  severed: number;
  conntrackRemoved: number;
  /** Last addresses management host names resolved to (used when resolution fails). */
  managementAddresses: Record<string, string[]>;
  /** The exclusions applied to the kernel (what `isolation exclusions` shows while isolated). */
  rules?: EffectiveRule[];
  endedAtMs?: number;
  endedBy?: 'cli' | 'cli-offline' | 'expired' | 'control';
}

/** Elements expected in each exclusion set: nft text to write, and canonical keys to compare with the kernel. */
export type ExpectedElements = Record<IsoSetName, { texts: string[]; keys: string[] }>;

export type IsoSetName = 'iso_xin4' | 'iso_xin6' | 'iso_xout4' | 'iso_xout6';
export const ISO_SETS: readonly IsoSetName[] = ['iso_xin4', 'iso_xin6', 'iso_xout4', 'iso_xout6'];
export const ISO_COUNTERS = ['iso_dropped_in', 'iso_dropped_out', 'iso_dropped_fwd'] as const;
export type IsoCounterName = (typeof ISO_COUNTERS)[number];

/** ct mark put on the daemon's own flows (chosen to be unlikely to collide; documented in docs/isolation.md). */
export const AGENT_CT_MARK = 0x4277;
/** ct mark put on the flows of excluded processes (units, cgroups, users, groups, executables). */
export const PROCESS_CT_MARK = 0x4278;
/**
 * Bit set in both marks above. Severing keeps conntrack entries with this bit and deletes the rest
 * in one table walk (`conntrack -D --mark 0/0x4000`); entries kept for an exclusion get the bit
 * for that moment only and have their mark restored afterwards.
 */
export const KEEP_CT_BIT = 0x4000;

/** Limits (vendor behaviour: 50 inbound and 50 outbound custom exclusions). */
export const MAX_INBOUND_EXCLUSIONS = 50;
export const MAX_OUTBOUND_EXCLUSIONS = 50;
/** Entries in one port list; keeps the kernel set (cross product of local × remote ranges) bounded. */
export const MAX_PORT_ITEMS = 16;
/** Kernel elements one rule may expand to. */
export const MAX_ELEMENTS_PER_RULE = 512;
/** Elements in one exclusion set after making them disjoint. */
export const MAX_ELEMENTS_PER_SET = 8192;
/** Bound on --for. */
export const MIN_ISOLATION_MS = 1000;
export const MAX_ISOLATION_MS = 30 * 86_400_000;
