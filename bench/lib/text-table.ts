/** Renders rows as a fixed-width text table; numbers align right, text left. */
export type Cell = string | number;

export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
): string {
  const text = rows.map((row) => row.map((cell) => String(cell)));
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...text.map((row) => (row[column] ?? '').length)),
  );
  const isNumeric = headers.map((_, column) =>
    rows.every(
      (row) =>
        typeof row[column] === 'number' ||
        /^[-+]?[\d.,]+( ?[%x×])?$|^n\/a$|^—$/.test(String(row[column] ?? '')),
    ),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        isNumeric[column] === true
          ? cell.padStart(widths[column] ?? 0)
          : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(headers), rule, ...text.map(line)].join('\n');
}

/** Fixed decimals, without a locale (tables are compared across machines). */
export function fixed(value: number, decimals: number): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : 'n/a';
}

export function percent(ratio: number, decimals = 2): string {
  return Number.isFinite(ratio) ? `${(ratio * 100).toFixed(decimals)}%` : 'n/a';
}

/** A latency summary's row cells: ok, errors, ops/s, p50, p99, p99.9 and max in ms. */
export function latencyCells(summary: {
  ok: number;
  errors: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}): Cell[] {
  return [
    summary.ok,
    summary.errors,
    fixed(summary.opsPerSecond, 0),
    fixed(summary.p50Ms, 2),
    fixed(summary.p99Ms, 2),
    fixed(summary.p999Ms, 2),
    fixed(summary.maxMs, 1),
  ];
}
