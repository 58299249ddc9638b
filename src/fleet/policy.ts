/**
 * Central policy (pure): validation of policy documents, the merge fleet → groups (in the order
 * the host's config lists them; later wins) → host, locks, and how the effective policy overlays
 * the local configuration. Docs: docs/fleet.md "Policy".
 *
 * Locks: a setting locked at one level keeps that level's value; later levels cannot override it
 * and neither can the local CLI, the control socket or a local config reload (BULWARK_ERR_POLICY_LOCKED,
 * naming the policy). neverBlock is additive: every level's list and the local one are merged.
 */
import { parseConfig } from '../config/parse.js';
import type { Config, ManagementEndpoint } from '../config/types.js';
import { BulwarkError, errorMessage } from '../errors.js';
import { isPolicyKey } from './subjects.js';
import { POLICY_SETTINGS, type EffectivePolicy, type PolicyDoc, type PolicySetting, type PolicySettings } from './types.js';
import { parseObject, type Parsed } from './messages.js';

function isSetting(s: string): s is PolicySetting {
  return (POLICY_SETTINGS as readonly string[]).includes(s);
}

/**
 * Validates raw settings (from the KV or `fleet policy set`) with the configuration schema itself,
 * so a policy can only hold values a local config could. Throws BULWARK_ERR_CONFIG naming `where`.
 */
export function validateSettings(raw: Record<string, unknown>, where: string): PolicySettings {
  const unknown = Object.keys(raw).filter((k) => !isSetting(k));
  if (unknown.length > 0) throw new BulwarkError('BULWARK_ERR_CONFIG', `${where}: unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${POLICY_SETTINGS.join(', ')})`);
  const iso: Record<string, unknown> = {};
  const frag: Record<string, unknown> = {};
  if (raw.protection !== undefined) frag.protection = { enabled: raw.protection };
  if (raw.action !== undefined) {
    if (raw.action !== 'block' && raw.action !== 'alert') throw new BulwarkError('BULWARK_ERR_CONFIG', `${where}: action: expected "block" or "alert"`);
    frag.action = raw.action;
  }
  if (raw.blockDuration !== undefined) frag.blockDuration = raw.blockDuration;
  if (raw.neverBlock !== undefined) frag.neverBlock = raw.neverBlock;
  if (raw.isolationDuration !== undefined) iso.duration = raw.isolationDuration;
  if (raw.profiles !== undefined) iso.profiles = raw.profiles;
  if (raw.exclusions !== undefined) iso.exclusions = raw.exclusions;
  if (raw.isolationPolicy !== undefined) iso.policy = raw.isolationPolicy;
  if (Object.keys(iso).length > 0) frag.isolation = iso;
  if (raw.share !== undefined && raw.share !== 'fleet' && raw.share !== 'group' && raw.share !== 'none') {
    throw new BulwarkError('BULWARK_ERR_CONFIG', `${where}: share: expected "fleet", "group" or "none"`);
  }
  let c: Config;
  try {
    c = parseConfig(JSON.stringify(frag), where);
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_CONFIG', errorMessage(e), { cause: e });
  }
  const out: PolicySettings = {};
  if (raw.protection !== undefined) out.protection = c.protection.enabled;
  if (raw.action !== undefined) out.action = raw.action;
  if (raw.blockDuration !== undefined) out.blockDuration = c.blockDurationMs;
  if (raw.neverBlock !== undefined) out.neverBlock = c.neverBlock;
  if (raw.isolationDuration !== undefined) out.isolationDuration = c.isolation.durationMs;
  if (raw.profiles !== undefined) out.profiles = c.isolation.profiles;
  if (raw.exclusions !== undefined) out.exclusions = c.isolation.exclusions;
  if (raw.isolationPolicy !== undefined) out.isolationPolicy = c.isolation.policy;
  if (raw.share !== undefined) out.share = raw.share;
  return out;
}

/** A policy document body (already signature-checked) stored under `key`. */
export function parsePolicyDoc(body: string, key: string): Parsed<PolicyDoc> {
  const p = parseObject(body);
  if (!p.ok) return p;
  const o = p.value;
  if (o.v !== 1 || o.key !== key || !isPolicyKey(key)) return { ok: false, reason: 'malformed', detail: 'version or key mismatch' };
  if (typeof o.settings !== 'object' || o.settings === null || Array.isArray(o.settings)) return { ok: false, reason: 'malformed', detail: 'settings' };
  if (!Array.isArray(o.locks) || !o.locks.every((l): l is PolicySetting => typeof l === 'string' && isSetting(l))) return { ok: false, reason: 'malformed', detail: 'locks' };
  if (typeof o.updatedAt !== 'number') return { ok: false, reason: 'malformed', detail: 'updatedAt' };
  let settings: PolicySettings;
  try {
    settings = validateSettings(o.settings as Record<string, unknown>, `policy ${key}`);
  } catch (e) {
    return { ok: false, reason: 'malformed', detail: errorMessage(e) };
  }
  return { ok: true, value: { v: 1, key, settings, locks: [...new Set(o.locks)], updatedAt: o.updatedAt } };
}

/** Merges documents given in merge order (missing levels are simply absent). */
export function mergePolicies(docs: readonly PolicyDoc[]): EffectivePolicy {
  const eff: EffectivePolicy = { settings: {}, source: {}, locked: {}, keys: [] };
  const set = eff.settings as Record<string, unknown>;
  for (const d of docs) {
    eff.keys.push(d.key);
    for (const s of POLICY_SETTINGS) {
      const v = d.settings[s];
      if (v === undefined) continue;
      if (s === 'neverBlock') {
        eff.settings.neverBlock = [...new Set([...(eff.settings.neverBlock ?? []), ...(v as string[])])];
        eff.source.neverBlock = d.key;
        continue;
      }
      // A value locked by an earlier level stays.
      if (eff.locked[s] !== undefined) continue;
      set[s] = v;
      eff.source[s] = d.key;
    }
    for (const l of d.locks) eff.locked[l] ??= d.key;
  }
  return eff;
}

/** The value a local config holds for a setting (what locks compare). */
export function localValue(c: Config, s: PolicySetting): unknown {
  switch (s) {
    case 'protection':
      return c.protection.enabled;
    case 'action':
      return c.action;
    case 'blockDuration':
      return c.blockDurationMs;
    case 'neverBlock':
      return c.neverBlock;
    case 'isolationDuration':
      return c.isolation.durationMs;
    case 'profiles':
      return c.isolation.profiles;
    case 'exclusions':
      return c.isolation.exclusions;
    case 'isolationPolicy':
      return c.isolation.policy;
    case 'share':
      return c.fleet?.share;
  }
}

/**
 * Effective configuration: the local one with the policy applied. `managed` (the host has a
 * fleet section) turns the protection default on: a policy-managed host protects unless the
 * policy says off; a local-only host follows protection.enabled (default off).
 */
/** What a fleet host adds on its own: NATS servers as management endpoints, gateways and resolvers as never-block. */
export interface AutoProtect {
  neverBlock: readonly string[];
  management: readonly ManagementEndpoint[];
}

export function applyPolicy(local: Config, eff: EffectivePolicy, managed: boolean, auto: AutoProtect = { neverBlock: [], management: [] }): Config {
  const s = eff.settings;
  const c: Config = structuredClone(local);
  if (managed) c.protection = { enabled: s.protection ?? true };
  else if (s.protection !== undefined) c.protection = { enabled: s.protection };
  if (s.action !== undefined) c.action = s.action;
  if (s.blockDuration !== undefined) c.blockDurationMs = s.blockDuration;
  const nb = [...local.neverBlock, ...(s.neverBlock ?? []), ...auto.neverBlock];
  c.neverBlock = [...new Set(nb)];
  // The NATS servers are management endpoints: never blocked, and reachable while isolated (or a
  // host could never be released from the console).
  const known = new Set(c.management.map((m) => `${m.address}|${String(m.port)}`));
  for (const m of auto.management) if (!known.has(`${m.address}|${String(m.port)}`)) c.management.push({ ...m });
  if (s.isolationDuration !== undefined) c.isolation.durationMs = s.isolationDuration;
  if (s.profiles !== undefined) c.isolation.profiles = s.profiles;
  if (s.exclusions !== undefined) c.isolation.exclusions = s.exclusions;
  if (s.isolationPolicy !== undefined) c.isolation.policy = s.isolationPolicy;
  if (s.share !== undefined && c.fleet) c.fleet.share = s.share;
  return c;
}

export function lockedError(setting: PolicySetting, policyKey: string, what: string): BulwarkError {
  return new BulwarkError(
    'BULWARK_ERR_POLICY_LOCKED',
    `${what}: setting "${setting}" is locked by fleet policy "${policyKey}"; change it in that policy (bulwark fleet policy set ${policyKey} ...) or unlock it (bulwark fleet policy unlock ${policyKey} ${setting})`,
    { details: { setting, policy: policyKey } },
  );
}

/** Throws when the new local config changes a locked setting relative to the previous one. */
export function checkLocalChange(prev: Config, next: Config, eff: EffectivePolicy): void {
  for (const s of POLICY_SETTINGS) {
    const key = eff.locked[s];
    if (key === undefined) continue;
    if (JSON.stringify(localValue(prev, s)) !== JSON.stringify(localValue(next, s))) throw lockedError(s, key, 'local configuration change refused');
  }
}
