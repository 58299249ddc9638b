/**
 * The descriptive fields of a sharded scan's signatures (pure). Detection never reads a rule's
 * msg, metadata, references or EVE category/references: it only copies them into the alert.
 * With ET Open they are ~14 MB of each worker's heap (metadata alone ~10 MB: ten key/value
 * pairs a rule). So they stay on the main thread, one JSON text per `gid:sid`, and are put back
 * on the alerts that leave the merge (a few hundred, not tens of thousands of signatures); the
 * workers' copies are emptied before the ruleset is sent to them. The alert comes out with the
 * same fields and values as from a single engine.
 */
import type { Signature } from '../../signatures/types.js';
import type { Detection } from '../types.js';

/** What an alert takes from its signature's descriptive fields: msg, metadata, EVE category and references. */
type Described = [name: string, metadata: [string, string][], eveCategory: string | null, eveReferences: string[] | null];

const NONE: [string, string][] = [];
const NO_REFS: string[] = [];

function keyOf(s: Pick<Signature, 'gid' | 'id'>): string {
  return `${s.gid}:${s.id}`;
}

function describe(s: Signature): string {
  const d: Described = [s.name, s.metadata, s.eve?.category ?? null, s.eve?.references ?? null];
  return JSON.stringify(d);
}

/**
 * Takes the descriptive fields out of `signatures` (which are then sent to the workers) and
 * returns them by `gid:sid`. Signatures that share a sid (the twins of one rule) share one text;
 * should two of them differ, theirs stay where they are and nothing is put back for that sid.
 * Also empties `references` and `description`, which no alert carries.
 */
export function takeDescriptions(signatures: readonly Signature[]): Map<string, string> {
  const texts = new Map<string, string>();
  const mixed = new Set<string>();
  for (const s of signatures) {
    const k = keyOf(s);
    const t = describe(s);
    const prev = texts.get(k);
    if (prev !== undefined && prev !== t) mixed.add(k);
    else texts.set(k, t);
  }
  for (const k of mixed) texts.delete(k);
  // One EVE object per severity: the codec sends an object reachable twice once, so the
  // workers share them too.
  const eves = new Map<number, NonNullable<Signature['eve']>>();
  for (const s of signatures) {
    s.references = NO_REFS;
    s.description = '';
    if (mixed.has(keyOf(s))) continue;
    s.name = '';
    s.metadata = NONE;
    // The severity orders a packet's alerts (alert-queue.ts): it stays.
    if (s.eve === undefined) continue;
    const sev = s.eve.severity;
    let e = eves.get(sev);
    if (e === undefined) {
      e = { category: '', severity: sev, references: NO_REFS };
      eves.set(sev, e);
    }
    s.eve = e;
  }
  return texts;
}

/** Puts the descriptive fields of its signature back on a worker's signature match. */
export function restoreDescription(d: Detection, texts: ReadonlyMap<string, string>): void {
  if (d.detector !== undefined) return;
  const t = texts.get(`${d.gid ?? 1}:${d.signatureId}`);
  if (t === undefined) return;
  const [name, metadata, eveCategory, eveReferences] = JSON.parse(t) as Described;
  d.signature = name;
  if (metadata.length > 0) d.metadata = metadata;
  if (d.eve !== undefined && eveCategory !== null && eveReferences !== null) d.eve = { category: eveCategory, severity: d.eve.severity, references: eveReferences };
}
