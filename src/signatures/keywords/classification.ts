/**
 * Suricata's classification.config (util-classification-config.c):
 *
 *   config classification: <shortname>,<short description>,<priority>
 *
 * Loaded from beside a rules file (like Suricata's default-rule-path): when present, a rule's
 * `classtype` must be one it defines (Suricata refuses the rule otherwise) and the class gives
 * the rule's default priority. Without one, the built-in table of Suricata's shipped file
 * applies (CLASSTYPE_PRIORITY in rules.ts).
 */
import { OptionError } from '../options.js';

export interface Classification {
  description: string;
  priority: number;
}

export const CLASSIFICATION_FILE = 'classification.config';

/** Bound on classes (Suricata ships ~50; ET adds a few). */
const MAX_CLASSES = 4096;

/** Parses the file; throws OptionError "file:line: …" on a malformed line. */
export function parseClassificationConfig(file: string, text: string): Map<string, Classification> {
  const out = new Map<string, Classification>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === '' || t.startsWith('#')) continue;
    const m = /^config\s+classification\s*:\s*([^,]+),([^,]*),\s*(\d+)\s*$/.exec(t);
    if (!m) throw new OptionError(`${file}:${i + 1}: expected "config classification: name,description,priority"`);
    const name = m[1]!.trim().toLowerCase();
    const priority = Number(m[3]);
    if (priority < 1 || priority > 255) throw new OptionError(`${file}:${i + 1}: priority ${priority} outside 1..255`);
    if (out.size >= MAX_CLASSES && !out.has(name)) throw new OptionError(`${file}:${i + 1}: more than ${MAX_CLASSES} classes`);
    out.set(name, { description: m[2]!.trim(), priority });
  }
  return out;
}

/**
 * The short descriptions of Suricata's shipped classification.config (etc/classification.config),
 * which its EVE writes as `alert.category` when no classification.config is given beside the rules.
 */
export const CLASSTYPE_DESCRIPTION: Readonly<Record<string, string>> = {
  'not-suspicious': 'Not Suspicious Traffic',
  unknown: 'Unknown Traffic',
  'bad-unknown': 'Potentially Bad Traffic',
  'attempted-recon': 'Attempted Information Leak',
  'successful-recon-limited': 'Information Leak',
  'successful-recon-largescale': 'Large Scale Information Leak',
  'attempted-dos': 'Attempted Denial of Service',
  'successful-dos': 'Denial of Service',
  'attempted-user': 'Attempted User Privilege Gain',
  'unsuccessful-user': 'Unsuccessful User Privilege Gain',
  'successful-user': 'Successful User Privilege Gain',
  'attempted-admin': 'Attempted Administrator Privilege Gain',
  'successful-admin': 'Successful Administrator Privilege Gain',
  'rpc-portmap-decode': 'Decode of an RPC Query',
  'shellcode-detect': 'Executable code was detected',
  'string-detect': 'A suspicious string was detected',
  'suspicious-filename-detect': 'A suspicious filename was detected',
  'suspicious-login': 'An attempted login using a suspicious username was detected',
  'system-call-detect': 'A system call was detected',
  'tcp-connection': 'A TCP connection was detected',
  'trojan-activity': 'A Network Trojan was detected',
  'unusual-client-port-connection': 'A client was using an unusual port',
  'network-scan': 'Detection of a Network Scan',
  'denial-of-service': 'Detection of a Denial of Service Attack',
  'non-standard-protocol': 'Detection of a non-standard protocol or event',
  'protocol-command-decode': 'Generic Protocol Command Decode',
  'web-application-activity': 'access to a potentially vulnerable web application',
  'web-application-attack': 'Web Application Attack',
  'misc-activity': 'Misc activity',
  'misc-attack': 'Misc Attack',
  'icmp-event': 'Generic ICMP event',
  'inappropriate-content': 'Inappropriate Content was Detected',
  'policy-violation': 'Potential Corporate Privacy Violation',
  'default-login-attempt': 'Attempt to login by a default username and password',
  'targeted-activity': 'Targeted Malicious Activity was Detected',
  'exploit-kit': 'Exploit Kit Activity Detected',
  'external-ip-check': 'Device Retrieving External IP Address Detected',
  'domain-c2': 'Domain Observed Used for C2 Detected',
  'pup-activity': 'Possibly Unwanted Program Detected',
  'credential-theft': 'Successful Credential Theft Detected',
  'social-engineering': 'Possible Social Engineering Attempted',
  'coin-mining': 'Crypto Currency Mining Activity Detected',
  'command-and-control': 'Malware Command and Control Activity Detected',
};
