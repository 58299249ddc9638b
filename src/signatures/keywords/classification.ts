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
