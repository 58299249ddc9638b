/**
 * Contract of the SSH app-layer parser (issue 11): one `SshParser` per TCP connection reads
 * the identification lines (banners) of both sides and the cleartext binary packets up to
 * NEWKEYS (KEXINIT → HASSH), into one transaction per connection like Suricata. Everything
 * after NEWKEYS is encrypted and skipped without buffering. Semantics and sources: ./README.md.
 * Pure: no I/O, no clock, never throws on input.
 */

/** Limits, defaults in `DEFAULT_SSH_LIMITS`; hitting one is counted (`limit.<name>`). */
export interface SshLimits {
  /** Banner bytes read before the line is cut (Suricata SSH_MAX_BANNER_LEN 256): event `ssh.long_banner`, rest of line skipped. */
  maxBanner: number;
  /** Largest KEXINIT payload buffered for HASSH (Suricata SSH_MAX_REASSEMBLED_RECORD_LEN 65535); larger: event `ssh.long_kex_record`, skipped. */
  maxKexinit: number;
}

export const DEFAULT_SSH_LIMITS: Readonly<SshLimits> = Object.freeze({ maxBanner: 256, maxKexinit: 65_535 });

export type SshFailReason = 'invalid_banner' | 'invalid_record' | 'gap';

/** Per-side progress ordinals (Suricata SSHConnectionState, with KEXINIT between banner and NEWKEYS). */
export const SshProgress = {
  IN_PROGRESS: 0,
  /** Long banner: read, waiting for its line end. */
  BANNER_WAIT_EOL: 1,
  BANNER_DONE: 2,
  /** KEXINIT parsed (HASSH available). */
  KEXINIT: 3,
  /** NEWKEYS seen: the rest of this side is encrypted. */
  FINISHED: 4,
} as const;
