/** The change-feed section: delivery latency and the cost of held watchers, against polling. */
import { grouped } from '../lib/figure-format.js';
import { markdownTable } from '../lib/markdown-section.js';
import { type BenchReport } from '../lib/result-files.js';
import { fixed } from '../lib/text-table.js';
import type { WatchResults } from '../watch/watch-results.js';

export function watchSection(report: BenchReport<WatchResults> | undefined): string {
  const title =
    '### Change feed: delivery latency, held watchers, and polling for the same freshness';
  if (report === undefined) return `${title}\n\nNo watch result yet: \`npm run bench:watch\`.`;
  const s = report.settings as {
    sendsPerS?: number;
    sendS?: number;
    waitMs?: number;
    nodes?: number;
  };
  const rows = report.results.runs.map((run) => [
    grouped(run.watchers),
    run.mode === 'router' ? 'router (HTTP long-poll)' : 'client-direct (links)',
    `${grouped(run.delivered)} / ${grouped(run.sent)}`,
    `${grouped(run.missed)} / ${grouped(run.doubled)}`,
    `${fixed(run.startToDeliveredMs.p50, 1)} / ${fixed(run.startToDeliveredMs.p99, 1)} / ${fixed(run.startToDeliveredMs.max, 1)}`,
    `${fixed(run.ackToDeliveredMs.p50, 1)} / ${fixed(run.ackToDeliveredMs.p99, 1)}`,
    `${grouped(run.bytesPerWatcher.router)} / ${grouped(run.bytesPerWatcher.nodes)}`,
    `${fixed(run.idleBaselineCpuMsPerS, 0)} / ${fixed(run.idleCpuMsPerS, 0)}`,
    fixed(run.cpuMsPerDelivered, 2),
    run.polling === undefined
      ? '—'
      : `every ${fixed(run.polling.intervalMs, 1)} ms: ${grouped(run.polling.neededRequestsPerS)} polls/s, ${fixed(run.polling.neededCpuMsPerS / 1_000, 1)} cores`,
  ]);
  const measuredPoll = report.results.runs.find(
    (run) => run.polling?.achievedRequestsPerS !== undefined,
  )?.polling;
  const runs = report.results.runs;
  const p50s = runs.map((run) => run.startToDeliveredMs.p50);
  const worstP99 = Math.max(...runs.map((run) => run.startToDeliveredMs.p99));
  const wrong = runs.reduce((sum, run) => sum + run.missed + run.doubled, 0);
  const largest = runs.reduce((most, run) => (run.watchers > most.watchers ? run : most));
  const atLargest = runs.filter((run) => run.watchers === largest.watchers);
  const nodeBytes = atLargest.map((run) => run.bytesPerWatcher.nodes);
  const cores = runs.flatMap((run) =>
    run.polling === undefined ? [] : [run.polling.neededCpuMsPerS / 1_000],
  );
  const summary =
    runs.length === 0
      ? ''
      : `What it shows: a change reaches its watcher ${fixed(Math.min(...p50s), 1)}–${fixed(Math.max(...p50s), 1)} ms (median) after its send starts, p99 at most ${fixed(worstP99, 1)} ms, with ${wrong === 0 ? 'nothing missed or doubled' : `**${grouped(wrong)} missed or doubled**`}. With ${grouped(largest.watchers)} watches held a node holds ${grouped(Math.min(...nodeBytes))}–${grouped(Math.max(...nodeBytes))} bytes per watch (the held request, its timer, and what the collector had not reclaimed), and the idle CPU stays where it was without them. Through the router every watch also holds an app connection (the router's bytes per watcher), so a router's watches are bounded by its \`connectionsMax\`; client-direct watches share one link per node. Polling for the same freshness would take ${cores.length === 0 ? '?' : `${fixed(Math.min(...cores), 0)}–${fixed(Math.max(...cores), 0)}`} cores; even a 1 s poll of ${grouped(largest.watchers)} users (500 ms stale on average) is ${grouped(largest.watchers)} polls a second.`;
  return [
    title,
    `A fresh ${String(s.nodes ?? 3)}-node cluster (embedded store) per row; one watcher per user holds \`GET /v1/users/:u/changes\` (waitMs ${grouped(s.waitMs ?? 0)}) and re-asks with the answer's cursor at once; a separate client sends ${String(s.sendsPerS ?? '?')} messages a second for ${String(s.sendS ?? '?')} s to random watched users. Latency is from the send's start (and from its acknowledgement: the recipient's copy commits, and wakes its watcher, before the sender's copy, so it is often negative) to the watcher's answer carrying it. Bytes per watcher: resident memory with every watch held minus before, per watcher (the router's includes one socket per watch in router mode). Idle CPU: router + nodes, ms a second, with no watcher and with all of them held. Polling: the interval that gives the watch's median freshness (a poll every P ms is P/2 stale on average), the polls a second that takes, and the cores at the CPU per poll measured in the same run${measuredPoll === undefined ? '' : ` (${fixed(measuredPoll.cpuMsPerRequest * 1_000, 0)} µs per poll through the router)`}.`,
    markdownTable(
      [
        'watchers',
        'via',
        'delivered / sent',
        'missed / doubled',
        'start → delivered p50 / p99 / max, ms',
        'ack → delivered p50 / p99, ms',
        'bytes per watcher: router / nodes',
        'idle CPU ms/s: none / held',
        'CPU ms per delivery',
        'polling for the same freshness',
      ],
      rows,
      ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
    ),
    summary,
  ].join('\n\n');
}
