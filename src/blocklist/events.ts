/**
 * The blocklist's EVE-style events ("host blocked", "host unblocked"; docs/blocklist.md). Pure:
 * both the batch commit and the expiry processing report through it, so the format lives once.
 */
import type { BlockEntry } from './types.js';

export function blocklistEvent(event: string, e: BlockEntry, extra: Record<string, unknown>, now: number): Record<string, unknown> {
  return {
    timestamp: new Date(now).toISOString(),
    event_type: 'blocklist',
    src_ip: e.address,
    bulwark: {
      event,
      address: e.address,
      reason: e.reason,
      source: e.source,
      blocked_at: new Date(e.blockedAtMs).toISOString(),
      expires_at: new Date(e.expiresAtMs).toISOString(),
      ...(e.signatureId === undefined ? {} : { signature_id: e.signatureId }),
      ...(e.eventId === undefined ? {} : { event_id: e.eventId }),
      ...extra,
    },
  };
}
