/**
 * Control-socket wire format (docs/control-protocol.md): newline-delimited JSON over a Unix
 * stream socket. One request per line, one response line per request, in order.
 *   request  {"v":1,"id":7,"cmd":"status","args":{}}
 *   response {"v":1,"id":7,"ok":true,"result":{…}}
 *            {"v":1,"id":7,"ok":false,"error":{"code":"BULWARK_ERR_…","message":"…"}}
 */
import { BulwarkError, type ErrorCode } from '../errors.js';

export const PROTOCOL_VERSION = 1;
/** A request line longer than this is refused and the connection closed (never buffered further). */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Responses may be large (block lists); the client still bounds what it buffers. */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export type RequestId = string | number | null;

export interface ControlRequest {
  v: number;
  id: RequestId;
  cmd: string;
  args: Record<string, unknown>;
}

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export type ControlResponse =
  | { v: typeof PROTOCOL_VERSION; id: RequestId; ok: true; result: unknown }
  | { v: typeof PROTOCOL_VERSION; id: RequestId; ok: false; error: ErrorBody };

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Turns a response's error body back into the BulwarkError the handler threw. */
export function errorFromBody(body: unknown): BulwarkError {
  if (!isRecord(body)) return new BulwarkError('BULWARK_ERR_PROTOCOL', 'control: malformed error reply');
  const code = typeof body.code === 'string' && body.code.startsWith('BULWARK_ERR_') ? (body.code as ErrorCode) : 'BULWARK_ERR_INTERNAL';
  const message = typeof body.message === 'string' ? body.message : 'unknown error';
  const details = isRecord(body.details) ? body.details : undefined;
  return new BulwarkError(code, message, details === undefined ? {} : { details });
}
