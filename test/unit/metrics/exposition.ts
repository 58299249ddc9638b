/**
 * A strict-enough Prometheus text exposition (0.0.4) checker for tests: every sample line is
 * `name{labels} value [timestamp]`, and every sample belongs to a family with HELP and TYPE lines.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,(?:${LABEL}))*,?)?\\})? (-?[0-9.eE+-]+|[Nn][Aa][Nn]|[+-]?[Ii]nf)(?: -?[0-9]+)?$`);

export function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const helps = new Set<string>();
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') throw new Error('exposition must end with a newline');
  for (const [i, line] of lines.slice(0, -1).entries()) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const m = new RegExp(`^# HELP (${NAME}) .*$`).exec(line);
      if (!m) throw new Error(`line ${i + 1}: bad HELP: ${line}`);
      helps.add(m[1]!);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
      if (!m) throw new Error(`line ${i + 1}: bad TYPE: ${line}`);
      if (types.has(m[1]!)) throw new Error(`line ${i + 1}: duplicate TYPE for ${m[1]!}`);
      types.set(m[1]!, m[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not "name{labels} value": ${line}`);
    const name = m[1]!;
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]!] = lm[2]!;
    const family = [name, name.replace(/_(bucket|sum|count|total|created)$/, '')].find((n) => types.has(n));
    if (family === undefined) throw new Error(`line ${i + 1}: sample ${name} has no TYPE line`);
    if (!helps.has(family)) throw new Error(`line ${i + 1}: family ${family} has no HELP line`);
    // Prometheus parses values with Go's ParseFloat: NaN and Inf in any letter case.
    const raw = m[3]!.toLowerCase();
    const value = raw === 'nan' ? NaN : raw.endsWith('inf') ? (raw.startsWith('-') ? -Infinity : Infinity) : Number(raw);
    if (Number.isNaN(value) && raw !== 'nan') throw new Error(`line ${i + 1}: bad value ${m[3]!}`);
    samples.push({ name, labels, value });
  }
  return { samples, types };
}
