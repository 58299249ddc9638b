/**
 * Helpers for the dashboard tests: every PromQL expression of a Grafana dashboard (rows
 * included), Grafana's variables replaced by values Prometheus accepts, and the metric names an
 * expression reads.
 */
export interface PanelQuery {
  panel: string;
  row: string;
  expr: string;
}

interface Panel {
  type?: string;
  title?: string;
  panels?: Panel[];
  targets?: { expr?: string }[];
}

export function dashboardQueries(dash: { panels: Panel[] }): PanelQuery[] {
  const out: PanelQuery[] = [];
  let row = '';
  const walk = (ps: Panel[]): void => {
    for (const p of ps) {
      if (p.type === 'row') row = p.title ?? '';
      for (const t of p.targets ?? []) if (t.expr !== undefined) out.push({ panel: p.title ?? '', row, expr: t.expr });
      if (p.panels) walk(p.panels);
    }
  };
  walk(dash.panels);
  return out;
}

/** Grafana's built-in and dashboard variables → values a Prometheus query accepts. */
export function substituteGrafana(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, '5m')
    .replace(/\$__interval|\$\{__interval\}/g, '1m')
    .replace(/\$__range|\$\{__range\}/g, '1h')
    .replace(/\$\{?(job|instance)\}?/g, '.+');
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'Inf', 'NaN']);

/** Metric names read by a PromQL expression (functions, keywords, labels, durations left out). */
export function metricNames(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const out = new Set<string>();
  for (const m of s.matchAll(/(?<![A-Za-z0-9_.:])[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    if (KEYWORDS.has(word)) continue;
    if (s.slice(m.index + word.length).trimStart().startsWith('(')) continue;
    out.add(word);
  }
  return [...out];
}
