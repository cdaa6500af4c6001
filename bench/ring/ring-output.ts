/** The ring benchmark's table and its balance chart (SVG). */
import { type ChartSeries, renderLineChart } from '../lib/svg-line-chart.js';
import { type Cell, fixed, percent, renderTable } from '../lib/text-table.js';
import { lookupSink } from './ring-figures.js';
import { type Algorithm, type RingRow } from './ring-results.js';
import { settings } from './ring-settings.js';

export function printTable(rows: RingRow[], noiseFloor: Record<string, number>): void {
  const headers = [
    'algorithm',
    'N',
    'vnodes',
    'points',
    'max/mean',
    'min/mean',
    'stddev',
    'CV',
    'noise CV',
    'add moved',
    'ideal',
    'excess',
    'rm moved',
    'ideal',
    'excess',
    'cold ns',
    'hot ns',
    'place ns',
  ];
  const body: Cell[][] = rows.map((row) => [
    row.algorithm,
    row.slots,
    row.vnodesPerSlot === undefined ? '—' : fixed(row.vnodesPerSlot, 0),
    row.ringPoints ?? '—',
    fixed(row.balance.maxOverMean, 3),
    fixed(row.balance.minOverMean, 3),
    fixed(row.balance.stddevUsers, 0),
    percent(row.balance.coefficientOfVariation),
    percent(noiseFloor[String(row.slots)] ?? Number.NaN),
    percent(row.added.movedShare),
    percent(row.added.idealShare),
    percent(row.added.excessShare),
    percent(row.removed.movedShare),
    percent(row.removed.idealShare),
    percent(row.removed.excessShare),
    fixed(row.lookup.coldNs, 0),
    fixed(row.lookup.hotNs, 0),
    fixed(row.lookup.placementNs, 0),
  ]);
  console.log(renderTable(headers, body));
  console.log('');
  if (lookupSink() === 0.5) console.log(''); // keeps the lookups' results observable
}

export function balanceChart(rows: RingRow[], noiseFloor: Record<string, number>): string {
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
  const vnodeTicks = settings.vnodes;
  const series: ChartSeries[] = [];
  settings.slots.forEach((slotCount, index) => {
    const color = colors[index % colors.length] ?? '#333';
    const of = (algorithm: Algorithm) =>
      rows.filter((row) => row.slots === slotCount && row.algorithm === algorithm);
    series.push({
      label: `RingView N=${slotCount}`,
      color,
      points: of('ringview').map((row) => ({
        x: row.vnodesPerSlot ?? 0,
        y: row.balance.maxOverMean,
      })),
    });
    const flat = (algorithm: Algorithm) => {
      const y = of(algorithm)[0]?.balance.maxOverMean ?? 1;
      return [Math.min(...vnodeTicks), Math.max(...vnodeTicks)].map((x) => ({ x, y }));
    };
    series.push({ label: `jump N=${slotCount}`, color, dash: '7 4', points: flat('jump') });
    series.push({
      label: `rendezvous N=${slotCount}`,
      color,
      dash: '2 3',
      points: flat('rendezvous'),
    });
    series.push({
      label: `plain hashring N=${slotCount}`,
      color,
      markersOnly: true,
      points: of('hashring-plain').map((row) => ({
        x: row.vnodesPerSlot ?? 40,
        y: row.balance.maxOverMean,
      })),
    });
  });
  const floor = Math.max(...Object.values(noiseFloor));
  return renderLineChart({
    title: `Ring balance vs virtual nodes (${settings.users.toLocaleString('en-US')} users)`,
    xLabel: 'virtual nodes per slot (log scale; hashring places 4 ring points per vnode)',
    yLabel: 'users on fullest slot / mean (1.0 = perfect)',
    xLog: true,
    xTicks: vnodeTicks,
    series,
    referenceY: {
      y: 1 + 2 * floor,
      label: `≈ random-noise level (1 + 2·CV floor, N=${Math.max(...settings.slots)})`,
    },
  });
}
