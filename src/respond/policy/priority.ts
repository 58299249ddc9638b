/** Priority conditions of policy rules (`match.priority`), shared with the config schema. */

/** A priority condition: inclusive bounds. */
export interface PriorityRange {
  min: number;
  max: number;
}

/** Parses "1", "<=2", "<3", ">=2", ">1" or "1-2"; undefined when malformed. */
export function parsePriority(text: string): PriorityRange | undefined {
  const t = text.trim();
  let m = /^(<=|<|>=|>|=)?\s*(\d{1,3})$/.exec(t);
  if (m) {
    const n = Number(m[2]);
    switch (m[1]) {
      case '<=':
        return { min: 0, max: n };
      case '<':
        return { min: 0, max: n - 1 };
      case '>=':
        return { min: n, max: 255 };
      case '>':
        return { min: n + 1, max: 255 };
      default:
        return { min: n, max: n };
    }
  }
  m = /^(\d{1,3})\s*-\s*(\d{1,3})$/.exec(t);
  if (m && Number(m[1]) <= Number(m[2])) return { min: Number(m[1]), max: Number(m[2]) };
  return undefined;
}

/** Config check for `match.priority` (src/config/schema.ts). */
export function priorityProblem(text: string): string | undefined {
  return parsePriority(text) === undefined ? `"${text}" is not a priority condition ("1", "<=2", "<3", ">=2", ">1" or "1-2")` : undefined;
}
