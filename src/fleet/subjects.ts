/** NATS subject and key names (pure). Every name here is part of the contract: docs/fleet.md. */
import { OPERATOR_ORIGIN } from './types.js';

/** Host ids and group names: one NATS subject token, also safe in a KV key and a file name. */
export const NAME_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
const NAME_RE = new RegExp(NAME_PATTERN);

export function isName(s: string): boolean {
  return NAME_RE.test(s) && s !== OPERATOR_ORIGIN;
}

/** "198.51.100.7" → "198-51-100-7", "2001:db8::/48" → "2001:db8::_48" (one subject token). */
export function addressToken(address: string): string {
  return address.replace(/\./g, '-').replace('/', '_');
}

/** Scope token of a decision subject: "fleet" or "g-<group>". */
export function scopeToken(group: string | undefined): string {
  return group === undefined ? 'fleet' : `g-${group}`;
}

export const subjects = {
  decisionsAll: 'bulwark.decisions.>',
  /** What one scope's consumers follow. */
  decisionsScope: (scope: string): string => `bulwark.decisions.${scope}.>`,
  decision: (scope: string, address: string, origin: string): string => `bulwark.decisions.${scope}.${addressToken(address)}.${origin}`,
  ordersAll: 'bulwark.orders.>',
  orders: (hostId: string): string => `bulwark.orders.${hostId}`,
  acks: (hostId: string, orderId: string): string => `bulwark.acks.${hostId}.${orderId}`,
  acksFor: (orderId: string): string => `bulwark.acks.*.${orderId}`,
  eventsAll: 'bulwark.events.>',
  events: (hostId: string, type: string): string => `bulwark.events.${hostId}.${type.replace(/[^A-Za-z0-9_-]/g, '_') || 'event'}`,
} as const;

/** The origin token of a decision subject (last token). */
export function originOf(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}

/** Scope token of a decision subject (third token). */
export function scopeOf(subject: string): string {
  return subject.split('.')[2] ?? '';
}

export const policyKeys = {
  fleet: 'fleet',
  group: (g: string): string => `group.${g}`,
  host: (h: string): string => `host.${h}`,
} as const;

/** Policy keys that apply to a host, in merge order: fleet, its groups (config order), itself. */
export function policyKeysFor(hostId: string, groups: readonly string[]): string[] {
  return [policyKeys.fleet, ...groups.map(policyKeys.group), policyKeys.host(hostId)];
}

/** "fleet" | "group.NAME" | "host.ID" or undefined when malformed. */
export function isPolicyKey(k: string): boolean {
  if (k === 'fleet') return true;
  const m = /^(group|host)\.(.+)$/.exec(k);
  return m !== null && isName(m[2]!);
}
