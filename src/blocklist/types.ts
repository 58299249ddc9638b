/**
 * The blocklist and the nftables adapter: the contract used by the engine wiring (block on
 * detection), the CLI, and src/isolation (same table, same adapter).
 *
 * Kernel layout (one table, both families), see ARCHITECTURE.md and docs/nftables.md:
 *   table inet bulwark
 *     sets blocked4/blocked6 (flags interval,timeout), allow4/allow6 (flags interval)  — owned by src/blocklist
 *     chain bypass        — operator-owned; created if missing, never flushed or rewritten
 *     chain input/forward/output (base chains, priority filter - 10, policy accept) — owned by src/blocklist:
 *         lo accept → jump bypass → blocked and not allowed: drop → jump iso_in / iso_out / iso_fwd
 *     chains iso_in / iso_out / iso_fwd and every set named iso_*  — owned by src/isolation
 *         (created empty by the blocklist install; isolation fills them in its own transactions)
 */

/** One nftables JSON command object, e.g. { add: { element: {...} } } (libnftables-json(5)). */
export type NftCommand = Record<string, unknown>;

export interface Nft {
  /** Applies the commands as ONE atomic transaction (`nft -j -f -`). Rejects with BULWARK_ERR_NFT; nothing changed then. */
  apply(commands: NftCommand[]): Promise<void>;
  /** Applies a native-syntax script atomically (`nft -f -`), for things the JSON API expresses badly. */
  applyText(script: string): Promise<void>;
  /**
   * `nft -j list …args`, parsed; e.g. list(['table', 'inet', 'bulwark']). Rejects with BULWARK_ERR_NFT (e.g. no such table).
   * `terse` (nft -t) omits set elements. Note (nft 1.0.6): listing a table, chain or rule fetches every set element of
   * the table anyway (~0.45 s at 100k blocks); `list sets inet` with terse and `list chains inet` stay ~4 ms.
   */
  list(args: string[], opts?: { terse?: boolean }): Promise<NftListOutput>;
}

export interface NftListOutput {
  nftables: Record<string, unknown>[];
}

export const TABLE_FAMILY = 'inet';
export const TABLE_NAME = 'bulwark';

export interface BlockOptions {
  /** Default: config blockDurationMs. */
  durationMs?: number;
  reason: string;
  signatureId?: number;
  eventId?: string;
  /** Who asked: detection (engine), cli, restore, fleet (a shared decision: src/fleet). */
  source: 'detection' | 'cli' | 'restore' | 'fleet';
  /** When the detection happened (ms epoch); used for bulwark_block_latency_seconds. */
  detectedAtMs?: number;
}

export interface BlockEntry {
  /** Normalised address or CIDR (e.g. "198.51.100.7", "2001:db8::/64"). */
  address: string;
  family: 4 | 6;
  reason: string;
  signatureId?: number;
  eventId?: string;
  source: BlockOptions['source'];
  blockedAtMs: number;
  expiresAtMs: number;
}

/**
 * blocked: new entry committed · extended: already blocked, expiry = max(old, now + duration) ·
 * covered: inside an already-blocked wider CIDR (entry = that CIDR, unchanged) — see docs/blocklist.md.
 */
export type BlockResult =
  | { status: 'blocked' | 'extended' | 'covered'; entry: BlockEntry }
  | { status: 'refused'; reason: 'never-block' | 'rate-limit' | 'alert-mode' | 'dry-run'; address: string };

export interface Blocklist {
  /** Batched and deduplicated; resolves once committed in the kernel (or refused). Invalid address → BULWARK_ERR_INVALID_ARGUMENT. */
  block(address: string, opts: BlockOptions): Promise<BlockResult>;
  /** Removes entries; returns those actually removed. */
  unblock(addresses: string[] | 'all', reason: string): Promise<BlockEntry[]>;
  list(): BlockEntry[];
  /** True if the address is on the never-block list (loopback, own addresses, management, configured). */
  isNeverBlocked(address: string): boolean;
}
