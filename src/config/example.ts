/**
 * Renders the shipped example configuration (packaging/bulwark.yaml): every key with its default
 * value and its description. A unit test keeps the file equal to this output and checks it
 * parses back to defaultConfig().
 */
import { stringify } from 'yaml';
import { CONFIG_SCHEMA, propOf, type FieldDef, type SchemaNode } from './schema.js';
import { defaultConfig } from './types.js';
import { formatDurationMs, formatSize } from './units.js';

/** Commented sample entries for lists of objects, so the example shows their shape. */
export const SAMPLES: Record<string, string[]> = {
  management: ['- address: 198.51.100.5      # IP, CIDR or host name', '  port: 443', '  description: management server'],
  fleet: [
    'servers: [tls://nats1.example:4222, tls://nats2.example:4222, tls://nats3.example:4222]',
    '# hostId: web-01            # default: /etc/machine-id',
    'groups: [web]               # policy merge order: fleet → groups (in this order) → host',
    'nkey: /etc/bulwark/host.nk  # or credentials: FILE.creds, or user + password',
    'tls: { ca: /etc/bulwark/fleet-ca.pem }',
    'operators: [UD…]            # operator public nkeys whose orders and policies are accepted',
    'share: fleet                # fleet | group | none',
  ],
  policy: [
    '- name: exploits-on-our-db   # shown in events as bulwark.response.policy_rule',
    '  match: { category: ["ET EXPLOIT"], metadata: { signature_severity: [Major, Critical] } }',
    '  action: block              # block | alert | ignore | rule (the signature\'s own action)',
  ],
  exclusions: [
    '- direction: inbound          # inbound | outbound | both',
    '  protocol: tcp               # tcp | udp | icmp | any',
    '  remoteAddress: 203.0.113.0/24',
    '  localPorts: "22"',
    '  remotePorts: any',
    '  description: admin ssh',
    '  status: active              # active | inactive',
  ],
};

function scalar(node: SchemaNode, v: unknown): string {
  if (node.kind === 'duration' && typeof v === 'number') return formatDurationMs(v);
  if (node.kind === 'size' && typeof v === 'number') return formatSize(v);
  return stringify(v, { lineWidth: 0 }).trimEnd();
}

function render(node: SchemaNode, value: unknown, indent: string, out: string[]): void {
  if (node.kind !== 'object') return;
  for (const [key, f] of Object.entries<FieldDef>(node.fields)) {
    for (const line of f.doc.match(/.{1,90}(\s|$)/g) ?? [f.doc]) out.push(`${indent}# ${line.trim()}`);
    const v = (value as Record<string, unknown>)[propOf(key, f)];
    // databases.dir defaults to the installation's own directory: machine-specific, so commented.
    if (key === 'dir' && indent === '  ' && v === defaultConfig().databases.dir) {
      out.push(`${indent}# dir: /usr/lib/bulwark/databases   # default: the databases shipped with bulwark`);
    } else if (v === undefined) {
      out.push(`${indent}# ${key}:`);
      for (const line of SAMPLES[key] ?? []) out.push(`${indent}#   ${line}`);
    } else if (f.node.kind === 'object') {
      out.push(`${indent}${key}:`);
      render(f.node, v, indent + '  ', out);
    } else if (f.node.kind === 'map') {
      out.push(`${indent}${key}:`);
      for (const [k, mv] of Object.entries(v as Record<string, unknown>)) out.push(`${indent}  ${k}: ${scalar(f.node.values, mv)}`);
    } else if (f.node.kind === 'array') {
      const items = v as unknown[];
      out.push(`${indent}${key}: ${items.length === 0 ? '[]' : stringify(items, { flow: true, lineWidth: 0 }).trimEnd()}`);
      const sample = SAMPLES[key];
      if (items.length === 0 && sample) for (const line of sample) out.push(`${indent}#   ${line}`);
    } else {
      out.push(`${indent}${key}: ${scalar(f.node, v)}`);
    }
    if (indent === '') out.push('');
  }
}

export function renderExampleConfig(): string {
  const out = [
    '# bulwark configuration: /etc/bulwark/bulwark.yaml',
    '# Every key is optional: a missing key takes the default shown here, and a partial file',
    '# merges over the defaults. Durations: "500ms", "90s", "90m", "8h", "1d". Sizes: "64KiB",',
    '# "32MiB", "1GiB" or plain bytes. Reference: docs/configuration.md.',
    '# Check a file with `bulwark --config FILE status` or reload it with `bulwark reload`.',
    '',
  ];
  render(CONFIG_SCHEMA, defaultConfig(), '', out);
  return out.join('\n').trimEnd() + '\n';
}
