/**
 * The shipped response policy (`response.defaultPolicy: true`), evaluated after the operator's
 * `response.policy` rules. What an operator running Suricata inline drops without fear: attacks on
 * servers from the ET categories written for them, with an attack classtype, unless ET itself
 * marks the rule informational or low-confidence. Everything else only alerts. The corpus counts
 * behind each choice are in docs/response.md ("The default policy").
 */
import type { PolicyRule } from './types.js';

/** ET/GPL categories that describe activity, not an attack on this host: never block by default. */
export const ALERT_ONLY_CATEGORIES = [
  'ET INFO',
  'ET POLICY',
  'ET HUNTING',
  'ET SCAN',
  'GPL SCAN',
  'ET GAMES',
  'ET CHAT',
  'GPL CHAT',
  'ET P2P',
  'GPL P2P',
  'ET USER_AGENTS',
  'ET JA3',
  'ET TOR',
  'ET DNS',
  'GPL DNS',
  'GPL ICMP_INFO',
  'GPL POLICY',
  'ET INAPPROPRIATE',
  'ET SCADA',
] as const;

/** ET categories of attacks on servers (the protected host is the server). */
export const SERVER_ATTACK_CATEGORIES = [
  'ET EXPLOIT',
  'ET WEB_SERVER',
  'ET WEB_SPECIFIC_APPS',
  'ET SHELLCODE',
  'ET WORM',
  'ET NETBIOS',
  'ET SQL',
  'ET FTP',
  'ET TELNET',
  'ET SMTP',
  'ET IMAP',
  'ET POP3',
  'ET RPC',
] as const;

/** Classtypes of an attack attempt or success (priority 1 in Suricata's classification.config). */
export const ATTACK_CLASSTYPES = [
  'attempted-admin',
  'attempted-user',
  'web-application-attack',
  'shellcode-detect',
  'successful-admin',
  'successful-user',
  'trojan-activity',
] as const;

export const DEFAULT_POLICY: readonly PolicyRule[] = [
  {
    name: 'bulwark-databases',
    match: { origin: ['yaml'] },
    action: 'rule',
    description: "bulwark's own databases and detectors say per signature whether it blocks (action: block|alert)",
  },
  {
    name: 'rule-drop',
    match: { ruleAction: ['block'] },
    action: 'block',
    description: 'the imported rule itself says drop or reject',
  },
  {
    name: 'et-informational',
    match: { metadata: { signature_severity: ['Informational', 'Minor'] } },
    action: 'alert',
    description: 'ET rates the rule Informational or Minor',
  },
  {
    name: 'et-low-confidence',
    match: { metadata: { confidence: ['Low'] } },
    action: 'alert',
    description: 'ET rates its confidence in the rule Low',
  },
  {
    name: 'et-alert-only',
    match: { metadata: { deployment: ['alert_only'] } },
    action: 'alert',
    description: 'ET marks the rule for alerting only',
  },
  {
    name: 'alert-only-categories',
    match: { category: [...ALERT_ONLY_CATEGORIES] },
    action: 'alert',
    description: 'informational, policy, hunting, scan and application categories (and ICS, where a wrong block stops a plant) only alert',
  },
  {
    name: 'server-attacks',
    match: { category: [...SERVER_ATTACK_CATEGORIES], classtype: [...ATTACK_CLASSTYPES] },
    action: 'block',
    description: 'an exploit, web or service attack category with an attack classtype blocks',
  },
];
