/** Automatic isolation policy: which alerts isolate the host (pure). */
import type { IsolationPolicy } from '../config/types.js';
import type { AlertEvent } from '../engine/types.js';

/**
 * True when the alert matches the policy: policy enabled and the alert's severity, signature id or
 * detector is listed. Default policy (config): disabled; when enabled without lists, severity critical.
 */
export function alertMatchesPolicy(policy: IsolationPolicy, alert: AlertEvent): boolean {
  if (!policy.enabled) return false;
  if (policy.severities.includes(alert.bulwark.severity)) return true;
  if (policy.signatureIds.includes(alert.alert.signature_id)) return true;
  const det = alert.bulwark.detector;
  return det !== undefined && policy.detectors.includes(det);
}
