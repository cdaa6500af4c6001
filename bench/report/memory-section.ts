/** The memory section: heap per cached user and message against the cache's estimate. */
import { figure, type MemoryResults } from '../lib/bench-results.js';
import { grouped, times } from '../lib/figure-format.js';
import { markdownTable } from '../lib/markdown-section.js';
import { type BenchReport } from '../lib/result-files.js';

export function memorySection(report: BenchReport<MemoryResults> | undefined): string {
  if (report === undefined) return '### Memory\n\nNo memory result yet: `npm run bench:memory`.';
  const rows = report.results.rows;
  const first = rows[0];
  const perUser = first === undefined ? 0 : first.messages / first.users;
  return [
    '### Memory: heap per cached message and user',
    `A real \`MailboxCache\` filled in one process: ${grouped(first?.users ?? Number.NaN)} users × ${grouped(first?.conversations ?? Number.NaN)} conversations × ${grouped(perUser)} messages, heap measured after full GCs, against the payload (content bytes, the message as JSON) and the cache's own byte estimate (what \`--cache-bytes-max\` budgets).`,
    markdownTable(
      [
        'content',
        'charset',
        'heap per message',
        'JSON per message',
        'heap ÷ JSON',
        'heap per user',
        'heap ÷ cache estimate',
        'messages per GiB',
      ],
      rows.map((row) => [
        `${grouped(row.contentBytes)} B`,
        row.charset,
        `${grouped(figure(row.heapPerMessageBytes, 'memory heapPerMessageBytes'))} B`,
        `${grouped(row.rawJsonBytes)} B`,
        times(row.heapOverJson),
        `${grouped(figure(row.heapPerUserBytes, 'memory heapPerUserBytes'))} B`,
        times(row.heapOverEstimate),
        grouped(row.messagesPerGiB),
      ]),
      ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  ].join('\n\n');
}

// ---------------------------------------------------------------------------------------------
// failover
