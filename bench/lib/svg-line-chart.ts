/**
 * A small line chart as a hand-written SVG string (no dependencies): numeric x (optionally log
 * scale) and y, one polyline per series, a legend on the right. Enough for bench/ figures.
 */
export interface ChartSeries {
  label: string;
  color: string;
  /** SVG stroke-dasharray, e.g. "6 4"; solid when absent. */
  dash?: string;
  /** Draw markers only (no line). */
  markersOnly?: boolean;
  points: { x: number; y: number }[];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  /** Ticks on the x axis (default: the distinct x values). */
  xTicks?: number[];
  series: ChartSeries[];
  /** Optional horizontal reference line, e.g. the ideal y. */
  referenceY?: { y: number; label: string };
}

const WIDTH = 860;
const HEIGHT = 480;
const MARGIN = { top: 48, right: 260, bottom: 56, left: 72 };

/**
 * Renders the whole chart as one SVG string: axes, grid, one polyline per series, legend. It stays
 * one function because each part reads the same scales and layout constants; split, every part
 * would take them all as arguments.
 */
export function renderLineChart(options: LineChartOptions): string {
  const points = options.series.flatMap((series) => series.points);
  const xs = points.map((point) => point.x);
  const ys = [
    ...points.map((point) => point.y),
    ...(options.referenceY === undefined ? [] : [options.referenceY.y]),
  ];
  const transform = options.xLog === true ? Math.log10 : (value: number) => value;
  const [xMin, xMax] = paddedRange(xs.map(transform), 0.05);
  const [yMin, yMax] = paddedRange(ys, 0.08);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => MARGIN.left + ((transform(x) - xMin) / (xMax - xMin)) * plotWidth;
  const py = (y: number) => MARGIN.top + (1 - (y - yMin) / (yMax - yMin)) * plotHeight;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  parts.push(
    `<text x="${WIDTH / 2 - MARGIN.right / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
  );
  // Axes, grid and ticks.
  for (const tick of niceTicks(yMin, yMax, 6)) {
    const y = py(tick);
    parts.push(
      `<line x1="${MARGIN.left}" y1="${y.toFixed(1)}" x2="${MARGIN.left + plotWidth}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`,
    );
    parts.push(
      `<text x="${MARGIN.left - 8}" y="${(y + 4).toFixed(1)}" text-anchor="end">${formatTick(tick)}</text>`,
    );
  }
  for (const tick of options.xTicks ?? [...new Set(xs)].sort((a, b) => a - b)) {
    const x = px(tick);
    parts.push(
      `<line x1="${x.toFixed(1)}" y1="${MARGIN.top}" x2="${x.toFixed(1)}" y2="${MARGIN.top + plotHeight}" stroke="#f0f0f0"/>`,
    );
    parts.push(
      `<text x="${x.toFixed(1)}" y="${MARGIN.top + plotHeight + 18}" text-anchor="middle">${formatTick(tick)}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`,
  );
  parts.push(
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 14}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(18 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  if (options.referenceY !== undefined) {
    const y = py(options.referenceY.y);
    parts.push(
      `<line x1="${MARGIN.left}" y1="${y.toFixed(1)}" x2="${MARGIN.left + plotWidth}" y2="${y.toFixed(1)}" stroke="#999" stroke-dasharray="2 3"/>`,
    );
    parts.push(
      `<text x="${MARGIN.left + plotWidth - 4}" y="${(y - 5).toFixed(1)}" text-anchor="end" fill="#666">${escapeXml(options.referenceY.label)}</text>`,
    );
  }
  // Series and legend.
  options.series.forEach((series, index) => {
    const coordinates = [...series.points]
      .sort((a, b) => a.x - b.x)
      .map((point) => `${px(point.x).toFixed(1)},${py(point.y).toFixed(1)}`);
    const dash = series.dash === undefined ? '' : ` stroke-dasharray="${series.dash}"`;
    if (series.markersOnly !== true && coordinates.length > 1) {
      parts.push(
        `<polyline points="${coordinates.join(' ')}" fill="none" stroke="${series.color}" stroke-width="2"${dash}/>`,
      );
    }
    for (const coordinate of coordinates) {
      const [x, y] = coordinate.split(',');
      const fill = series.markersOnly === true ? 'white' : series.color;
      parts.push(
        `<circle cx="${x}" cy="${y}" r="${series.markersOnly === true ? 5 : 3}" fill="${fill}" stroke="${series.color}" stroke-width="2"/>`,
      );
    }
    const legendY = MARGIN.top + 8 + index * 20;
    const legendX = MARGIN.left + plotWidth + 16;
    if (series.markersOnly === true) {
      parts.push(
        `<circle cx="${legendX + 14}" cy="${legendY}" r="5" fill="white" stroke="${series.color}" stroke-width="2"/>`,
      );
    } else {
      parts.push(
        `<line x1="${legendX}" y1="${legendY}" x2="${legendX + 28}" y2="${legendY}" stroke="${series.color}" stroke-width="2"${dash}/>`,
      );
    }
    parts.push(`<text x="${legendX + 36}" y="${legendY + 4}">${escapeXml(series.label)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function paddedRange(values: number[], padding: number): [number, number] {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || Math.abs(max) || 1;
  return [min - span * padding, max + span * padding];
}

function niceTicks(min: number, max: number, count: number): number[] {
  const rough = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step =
    [1, 2, 2.5, 5, 10]
      .map((factor) => factor * magnitude)
      .find((candidate) => candidate >= rough) ?? rough;
  const ticks: number[] = [];
  for (let tick = Math.ceil(min / step) * step; tick <= max + step * 1e-9; tick += step)
    ticks.push(Number(tick.toPrecision(12)));
  return ticks;
}

function formatTick(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}
