/** What a scan worker does to a detection before posting it (pure). */

/**
 * Detections refer to bytes by views (an alert's payload is a window of the stream buffer):
 * structured clone would copy each view's whole ArrayBuffer. Views that do not cover their
 * buffer are replaced by a copy of just their bytes before the detection is posted.
 */
export function compactViews(v: unknown, depth = 0): unknown {
  if (v === null || typeof v !== 'object' || depth > 8) return v;
  if (ArrayBuffer.isView(v)) {
    if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) return v;
    return new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = compactViews(v[i], depth + 1);
    return v;
  }
  if (v instanceof Map || v instanceof Set || v instanceof Date) return v;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) o[k] = compactViews(o[k], depth + 1);
  return o;
}
