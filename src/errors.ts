/**
 * One error class for the whole project. The `code` is part of the contract (CLI exit codes and
 * control-socket replies are derived from it), so it is a closed literal union: add a code here
 * when a new failure kind needs distinct handling, not for every message.
 */
export type ErrorCode =
  | 'BULWARK_ERR_CONFIG' // bad configuration: exit 78
  | 'BULWARK_ERR_USAGE' // bad CLI usage or argument: exit 2
  | 'BULWARK_ERR_INVALID_ARGUMENT' // a well-formed request with a bad value (address, duration...)
  | 'BULWARK_ERR_DATABASE' // a signature database or rules file refused
  | 'BULWARK_ERR_INTEGRITY' // manifest mismatch
  | 'BULWARK_ERR_NFT' // nft failed or refused a transaction
  | 'BULWARK_ERR_CAPTURE' // libpcap failure
  | 'BULWARK_ERR_STATE' // state file unreadable or unwritable
  | 'BULWARK_ERR_PROTOCOL' // control-socket protocol violation
  | 'BULWARK_ERR_UNREACHABLE' // daemon not reachable: exit 3
  | 'BULWARK_ERR_LOCKED' // another daemon holds the lock
  | 'BULWARK_ERR_NEVER_BLOCK' // refused: address is on the never-block list
  | 'BULWARK_ERR_NOT_FOUND'
  | 'BULWARK_ERR_LIMIT' // a configured bound was hit
  | 'BULWARK_ERR_POLICY_LOCKED' // the setting is locked by a fleet policy
  | 'BULWARK_ERR_FLEET' // fleet (NATS) request failed or was refused
  | 'BULWARK_ERR_INTERNAL';

export interface BulwarkErrorOptions {
  cause?: unknown;
  /** Structured context for logs and --json output (file, line, path...). */
  details?: Record<string, unknown>;
}

export class BulwarkError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: BulwarkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BulwarkError';
    this.code = code;
    this.details = options.details;
  }
}

export function isBulwarkError(e: unknown, code?: ErrorCode): e is BulwarkError {
  return e instanceof BulwarkError && (code === undefined || e.code === code);
}

/** Message of any thrown value, for logs; keeps the chain of causes short and readable. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
