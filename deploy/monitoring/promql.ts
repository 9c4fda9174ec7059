/**
 * Just enough PromQL reading to check the monitoring files against a live Prometheus: the
 * operand of an alert's threshold, and the series selectors an expression reads.
 */

const COMPARISONS = ['==', '!=', '>=', '<=', '>', '<'];
const OPENING = '({[';
const CLOSING = ')}]';

/**
 * The left side of an expression's last top-level comparison (`x > 0` gives `x`), or the
 * whole expression. An alert's expression returns nothing while it does not fire; its operand
 * must return data all the time.
 */
export function operand(expr: string): string {
  let depth = 0;
  let quote: string | undefined;
  let cut = -1;
  for (let i = 0; i < expr.length; i += 1) {
    const char = expr[i] ?? '';
    if (quote) {
      if (char === '\\') i += 1;
      else if (char === quote) quote = undefined;
      continue;
    }
    if (char === '"' || char === "'" || char === '`') quote = char;
    else if (OPENING.includes(char)) depth += 1;
    else if (CLOSING.includes(char)) depth -= 1;
    else if (depth === 0) {
      const comparison = COMPARISONS.find((op) => expr.startsWith(op, i));
      if (comparison) {
        cut = i;
        i += comparison.length - 1;
      }
    }
  }
  return (cut < 0 ? expr : expr.slice(0, cut)).trim();
}

/**
 * Every series selector an expression reads (`drover_x{a="b"}`, `up{job="y"}`), without range or
 * function. Histogram selectors keep their `_bucket`/`_sum`/`_count` suffix.
 */
export function selectors(expr: string): string[] {
  const found = [...expr.matchAll(/\b(drover_[a-z0-9_]+|up)\b(\{(?:[^}"]|"(?:[^"\\]|\\.)*")*\})?(?!\s*\()/g)];
  return [...new Set(found.map((match) => match[0]))];
}
