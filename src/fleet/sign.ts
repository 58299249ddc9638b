/**
 * Signed envelopes: operator orders, operator decisions (fleet unblock) and policy documents are
 * signed with the operator's nkey (Ed25519) and verified by every host against the operator
 * public keys in its config (fleet.operators). Server permissions already keep host users from
 * publishing orders; the signature also keeps a compromised server account from forging one.
 */
import { readFileSync } from 'node:fs';
import { fromPublic, fromSeed, type KeyPair } from '@nats-io/nkeys';
import { BulwarkError, errorMessage } from '../errors.js';
import type { DropReason, Envelope } from './types.js';

const enc = new TextEncoder();

export interface Signer {
  readonly publicKey: string;
  sign(body: string): Envelope;
}

export function signerFromSeed(seed: string): Signer {
  let kp: KeyPair;
  try {
    kp = fromSeed(enc.encode(seed.trim()));
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_CONFIG', `not an nkey seed: ${errorMessage(e)}`, { cause: e });
  }
  const publicKey = kp.getPublicKey();
  if (!publicKey.startsWith('U')) throw new BulwarkError('BULWARK_ERR_CONFIG', `signing key must be a user nkey seed (SU…), got a key for ${publicKey.slice(0, 1)}`);
  return {
    publicKey,
    sign(body) {
      return { body, key: publicKey, sig: Buffer.from(kp.sign(enc.encode(body))).toString('base64') };
    },
  };
}

/** Reads a seed file (first line starting with SU…, the rest ignored: nsc/nk files carry comments). */
export function signerFromFile(path: string): Signer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_CONFIG', `fleet signing key ${path}: cannot read (${errorMessage(e)})`, { cause: e });
  }
  const line = text.split('\n').map((l) => l.trim()).find((l) => l.startsWith('SU'));
  if (line === undefined) throw new BulwarkError('BULWARK_ERR_CONFIG', `fleet signing key ${path}: no user nkey seed (SU…) in the file`);
  return signerFromSeed(line);
}

export type Verified = { ok: true; body: string; key: string } | { ok: false; reason: DropReason };

function isEnvelope(v: unknown): v is Envelope {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.body === 'string' && typeof o.key === 'string' && typeof o.sig === 'string';
}

/** Parses and verifies an envelope against the trusted operator keys. Never throws. */
export function verifyEnvelope(raw: Uint8Array | string, trusted: ReadonlySet<string>): Verified {
  let v: unknown;
  try {
    v = JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!isEnvelope(v)) {
    // A bare object (no envelope) is an unsigned message.
    return { ok: false, reason: typeof v === 'object' && v !== null ? 'unsigned' : 'malformed' };
  }
  if (!trusted.has(v.key)) return { ok: false, reason: 'unknown-key' };
  try {
    const sig = Buffer.from(v.sig, 'base64');
    if (sig.length !== 64 || !fromPublic(v.key).verify(enc.encode(v.body), sig)) return { ok: false, reason: 'bad-signature' };
  } catch {
    return { ok: false, reason: 'bad-signature' };
  }
  return { ok: true, body: v.body, key: v.key };
}

/** A public user nkey (U + 55 base32 characters). */
export function isUserPublicKey(s: string): boolean {
  if (!/^U[A-Z2-7]{55}$/.test(s)) return false;
  try {
    fromPublic(s);
    return true;
  } catch {
    return false;
  }
}
