/** Formats rows as a plain text table with aligned columns; the first row is the header. */
export function textTable(rows: readonly (readonly string[])[], align: 'left' | 'right' = 'right'): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((cell, c) => (c === 0 || align === 'left' ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join('\n');
}

export function percent(value: number | null, digits = 1): string {
  return value === null || Number.isNaN(value) ? '-' : `${(100 * value).toFixed(digits)}%`;
}

/** A signed change in percentage points, e.g. "-1.7 pp". */
export function points(value: number | null): string {
  return value === null ? '-' : `${value >= 0 ? '+' : ''}${(100 * value).toFixed(1)} pp`;
}

export function bytes(count: number): string {
  if (count < 1024) return `${count} B`;
  if (count < 1024 ** 2) return `${(count / 1024).toFixed(1)} KiB`;
  return `${(count / 1024 ** 2).toFixed(1)} MiB`;
}

export function duration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(1)} µs`;
  return ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
