/**
 * The policy documents this host follows (fleet, its groups, itself), verified, merged, and cached
 * in stateDir/fleet-policy.json so a host that starts while NATS is unreachable keeps protecting
 * with the last known policy. The cache holds the signed envelopes and is verified again on load.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../errors.js';
import { mergePolicies, parsePolicyDoc } from './policy.js';
import { verifyEnvelope } from './sign.js';
import { policyKeysFor } from './subjects.js';
import type { DropReason, EffectivePolicy, Envelope, PolicyDoc } from './types.js';

export const POLICY_CACHE_FILE = 'fleet-policy.json';

export type PolicyUpdate = { changed: boolean; dropped?: DropReason; detail?: string };

export class PolicyStore {
  private readonly docs = new Map<string, { env: Envelope; doc: PolicyDoc }>();
  private readonly keys: string[];
  private eff: EffectivePolicy;

  constructor(
    hostId: string,
    groups: readonly string[],
    private readonly operators: ReadonlySet<string>,
    private readonly stateDir: string | undefined,
  ) {
    this.keys = policyKeysFor(hostId, groups);
    this.eff = mergePolicies([]);
  }

  /** Keys followed, in merge order. */
  get followed(): readonly string[] {
    return this.keys;
  }

  get effective(): EffectivePolicy {
    return this.eff;
  }

  documents(): PolicyDoc[] {
    return this.keys.flatMap((k) => {
      const d = this.docs.get(k);
      return d ? [d.doc] : [];
    });
  }

  /** A KV value for `key` (undefined: deleted). Invalid values are dropped and the previous one kept. */
  set(key: string, raw: Uint8Array | string | undefined): PolicyUpdate {
    if (!this.keys.includes(key)) return { changed: false, dropped: 'other-host' };
    if (raw === undefined) {
      if (!this.docs.delete(key)) return { changed: false };
      return this.remerge();
    }
    const v = verifyEnvelope(raw, this.operators);
    if (!v.ok) return { changed: false, dropped: v.reason };
    const p = parsePolicyDoc(v.body, key);
    if (!p.ok) return { changed: false, dropped: p.reason, ...(p.detail !== undefined ? { detail: p.detail } : {}) };
    const prev = this.docs.get(key);
    if (prev?.env.body === v.body) return { changed: false };
    this.docs.set(key, { env: JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8')) as Envelope, doc: p.value });
    return this.remerge();
  }

  private remerge(): PolicyUpdate {
    const before = JSON.stringify(this.eff);
    this.eff = mergePolicies(this.documents());
    return { changed: JSON.stringify(this.eff) !== before };
  }

  /** Loads the cache; returns what was dropped (bad entries are ignored, never fatal). */
  load(): string[] {
    if (this.stateDir === undefined) return [];
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(join(this.stateDir, POLICY_CACHE_FILE), 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      return [`${POLICY_CACHE_FILE}: ${errorMessage(e)}`];
    }
    const problems: string[] = [];
    const entries = typeof raw === 'object' && raw !== null ? (raw as { policies?: unknown }).policies : undefined;
    if (typeof entries !== 'object' || entries === null) return [`${POLICY_CACHE_FILE}: no policies`];
    for (const [k, env] of Object.entries(entries as Record<string, unknown>)) {
      const r = this.set(k, JSON.stringify(env));
      if (r.dropped !== undefined) problems.push(`${k}: ${r.dropped}${r.detail !== undefined ? ` (${r.detail})` : ''}`);
    }
    return problems;
  }

  save(): void {
    if (this.stateDir === undefined) return;
    mkdirSync(this.stateDir, { recursive: true, mode: 0o750 });
    const file = join(this.stateDir, POLICY_CACHE_FILE);
    const policies = Object.fromEntries([...this.docs].map(([k, d]) => [k, d.env]));
    writeFileSync(`${file}.tmp`, JSON.stringify({ version: 1, policies }), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }
}
