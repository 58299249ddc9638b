/** Rule text → verify on a payload, for the keyword tests (the importer and the verifier together). */
import assert from 'node:assert/strict';
import { parseRule } from '../../../../src/signatures/rules.js';
import { resolvePorts } from '../../../../src/signatures/ports.js';
import { latin1 } from '../../../../src/signatures/content.js';
import { verifySignature } from '../../../../src/signatures/verify.js';
import { defaultConfig } from '../../../../src/config/types.js';
import type { Skip } from '../../../../src/signatures/parsed.js';
import type { Signature, VerifyContext } from '../../../../src/signatures/types.js';

const vars = defaultConfig().databases.vars;

export function rule(opts: string): Signature {
  const r = parseRule(`alert tcp any any -> any 80 (msg:"t"; ${opts} sid:1;)`, 't.rules', 1, { vars });
  assert.ok(!('reason' in r), `skipped: ${'reason' in r ? r.message : ''}`);
  return { ...r.sig, ports: resolvePorts(r.portSpec, [{ from: 80, to: 80 }]), fastPatternIndex: -1 };
}

export function skipped(opts: string): Skip {
  const r = parseRule(`alert tcp any any -> any 80 (msg:"t"; ${opts} sid:1;)`, 't.rules', 1, { vars });
  assert.ok('reason' in r, 'expected a skip');
  return r;
}

export function matches(s: Signature, payload: string | Uint8Array, ctx: Partial<VerifyContext> = {}): boolean {
  const data = typeof payload === 'string' ? latin1(payload) : payload;
  return verifySignature(s, data, data.length, { flowbits: new Set(), ...ctx });
}
