/**
 * The application-layer protocols the engine knows, in probing order. A protocol folder adds
 * its `AppProtocol` here and nothing else: the framework probes and parses with it, and the rule
 * loader (src/signatures) takes its rule protocols, buffers and keywords from this list, so
 * `alert <proto>` rules using them load.
 */
import type { AppBufferSpec, AppKeywordSpec, AppProtocol } from './types.js';
import { httpProtocol } from './http/protocol.js';

export const APP_PROTOCOLS: readonly AppProtocol[] = [httpProtocol];

/** The protocol whose `ruleProtocols` include `proto` (`alert http` → http), if registered. */
export function appProtocolForRule(proto: string): AppProtocol | undefined {
  return APP_PROTOCOLS.find((p) => p.ruleProtocols.includes(proto));
}

/** Buffer by sticky name or alias across protocols, with its protocol. */
export function findAppBuffer(name: string): { protocol: AppProtocol; spec: AppBufferSpec } | undefined {
  for (const p of APP_PROTOCOLS) {
    for (const s of p.buffers) if (s.name === name || s.aliases.includes(name)) return { protocol: p, spec: s };
  }
  return undefined;
}

/** Non-buffer keyword by name or alias across protocols. */
export function findAppKeyword(name: string): { protocol: AppProtocol; spec: AppKeywordSpec } | undefined {
  for (const p of APP_PROTOCOLS) {
    for (const k of p.keywords) if (k.name === name || k.aliases.includes(name)) return { protocol: p, spec: k };
  }
  return undefined;
}
