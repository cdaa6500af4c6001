/** The change-feed section: delivery latency and the cost of held watchers, against polling. */
import { grouped } from '../lib/figure-format.js';
import { markdownTable } from '../lib/markdown-section.js';
import { type BenchReport } from '../lib/result-files.js';
import { fixed } from '../lib/text-table.js';
import type { ByRole, RunResult, WatchResults } from '../watch/watch-results.js';

const pair = (value: ByRole, decimals = 0) =>
  `${grouped(value.router, decimals)} / ${grouped(value.nodes, decimals)}`;
const both = (value: ByRole) => value.router + value.nodes;
/** "1,234–5,678", or one figure when they are all the same (shown). */
function range(values: readonly number[], decimals: number): string {
  if (values.length === 0) return 'n/a';
  const low = grouped(Math.min(...values), decimals);
  const high = grouped(Math.max(...values), decimals);
  return low === high ? low : `${low}–${high}`;
}

export function watchSection(report: BenchReport<WatchResults> | undefined): string {
  const title = '### Change feed: delivery latency vs polling';
  if (report === undefined) return `${title}\n\nNo watch result yet: \`npm run bench:watch\`.`;
  const s = report.settings as {
    sendsPerS?: number;
    sendS?: number;
    waitMs?: number;
    nodes?: number;
    store?: string;
  };
  const runs = report.results.runs;
  const rows = runs.map((run) => [
    grouped(run.watchers),
    run.mode === 'router' ? 'router (HTTP long-poll)' : 'client-direct (links)',
    `${grouped(run.deliveredOnce)} / ${grouped(run.sent)}`,
    `${grouped(run.missed)} / ${grouped(run.doubled)}`,
    `${fixed(run.startToDeliveredMs.p50, 1)} / ${fixed(run.startToDeliveredMs.p99, 1)} / ${fixed(run.startToDeliveredMs.max, 1)}`,
    `${fixed(run.ackToDeliveredMs.p50, 1)} / ${fixed(run.ackToDeliveredMs.p99, 1)} / ${fixed(run.ackToDeliveredMs.max, 1)}`,
    pair(run.bytesPerWatcher),
    pair(run.heapBytesPerWatcher),
    grouped(run.clientBytesPerWatcher.heap),
    `${fixed(both(run.idleCpuMsPerS.none), 0)} → ${fixed(both(run.idleCpuMsPerS.held), 0)}${run.renewalCpuMsPerS === undefined ? '' : ` + ${fixed(run.renewalCpuMsPerS, 0)}`}`,
    pair(run.cpuMsPerDelivered, 2),
    pollingCell(run),
  ]);
  const measured = runs.find((run) => run.polling?.measured !== undefined);
  const wrong = runs.reduce((sum, run) => sum + run.missed + run.doubled + run.wrongWatcher, 0);
  const largest = runs.reduce<RunResult | undefined>(
    (most, run) => (most === undefined || run.watchers > most.watchers ? run : most),
    undefined,
  );
  const atLargest = runs.filter((run) => run.watchers === largest?.watchers);
  const routerRows = atLargest.filter((run) => run.mode === 'router');
  const cores = runs.flatMap((run) =>
    run.polling === undefined ? [] : [run.polling.neededCpuMsPerS / 1_000],
  );
  const summary =
    runs.length === 0 || largest === undefined
      ? ''
      : [
          `A message reaches its watcher ${range(
            runs.map((run) => run.startToDeliveredMs.p50),
            1,
          )} ms (median) after its send starts, p99 at most ${fixed(Math.max(...runs.map((run) => run.startToDeliveredMs.p99)), 1)} ms, ${wrong === 0 ? 'every acknowledged message exactly once' : `**${grouped(wrong)} missed, doubled or misdelivered**`}; measured from the acknowledgement the median is negative, because a send commits the recipient's copy (waking its watcher) before the sender's copy and the answer.`,
          `A held watch costs the nodes ${range(
            atLargest.map((run) => run.heapBytesPerWatcher.nodes),
            0,
          )} bytes of heap at ${grouped(largest.watchers)} watches (loading the user's mailbox to pin the cursor costs more: ${range(
            atLargest.map((run) => run.bytesPerPinnedUser.nodes),
            0,
          )} resident bytes per user)${
            routerRows.length === 0
              ? ''
              : `; through the router each watch also holds an app connection, ${range(
                  routerRows.map((run) => run.bytesPerWatcher.router),
                  0,
                )} resident bytes in the router, and counts against its \`connectionsMax\``
          }, while client-direct watches share one link per node.`,
          `Held idle at ${grouped(largest.watchers)} watches, router + nodes used ${range(
            atLargest.map((run) => both(run.idleCpuMsPerS.none)),
            0,
          )} ms of CPU a second without them and ${range(
            atLargest.map((run) => both(run.idleCpuMsPerS.held)),
            0,
          )} with them (a /proc tick is 10 ms: differences of a few ms a second are noise), plus ${range(
            atLargest.flatMap((run) =>
              run.renewalCpuMsPerS === undefined ? [] : [run.renewalCpuMsPerS],
            ),
            0,
          )} ms a second for renewing them every waitMs (computed); a delivery cost ${range(
            runs.map((run) => run.cpuMsPerDelivered.total),
            1,
          )} ms of CPU, its send's commits included.`,
          `Polling as fresh would take ${range(
            runs.flatMap((run) =>
              run.polling === undefined ? [] : [run.polling.neededRequestsPerS],
            ),
            0,
          )} polls a second, ${range(cores, 0)} cores at the ${measured?.polling === undefined ? '?' : fixed(measured.polling.cpuUsPerRequest, 0)} µs per poll measured here; even a 1 s poll of ${grouped(largest.watchers)} users (500 ms stale on average) is ${grouped(largest.watchers)} polls a second.`,
        ].join(' ');
  return [
    title,
    `A fresh ${String(s.nodes ?? 3)}-node cluster (${s.store ?? 'embedded'} store) per row; one watcher per user holds \`GET /v1/users/:u/changes\` (waitMs ${grouped(s.waitMs ?? 0)}) from a pinned cursor and re-asks with each answer's cursor at once; a separate client sends ${String(s.sendsPerS ?? '?')} messages a second for ${String(s.sendS ?? '?')} s to random watched users. Latency: from the send's start, and from its acknowledgement, to the watcher's answer carrying the message. Bytes per held watch: resident (and heap) with every watch held minus before (every user's mailbox already loaded), for the router / the nodes together; client: this bench's own heap per watch. Idle CPU: router + nodes, ms a second, no watch → all held, + the renewals of the held watches (computed). CPU per delivery: router / nodes. Polling: through the router with the feed and waitMs=0, every P ms with P/2 + a poll's latency = the watch's median (a poller's mean staleness), the polls a second that takes and the cores at the CPU per poll measured in the same run.`,
    markdownTable(
      [
        'watchers',
        'via',
        'exactly once / sent',
        'missed / doubled',
        'start → delivered p50 / p99 / max, ms',
        'ack → delivered p50 / p99 / max, ms',
        'resident B per held watch: router / nodes',
        'heap B per held watch: router / nodes',
        'client heap B per watch',
        'idle CPU ms/s',
        'CPU ms per delivery: router / nodes',
        'polling for the same freshness',
      ],
      rows,
      [
        'right',
        'left',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'left',
      ],
    ),
    summary,
  ].join('\n\n');
}

function pollingCell(run: RunResult): string {
  const polling = run.polling;
  if (polling === undefined) return '—';
  const measured =
    polling.measured === undefined
      ? ''
      : ` (measured: ${grouped(polling.measured.requestsPerS)} polls/s reached, ${grouped(both(polling.measured.cpuMsPerS))} ms/s)`;
  return `every ${fixed(polling.intervalMs, 1)} ms: ${grouped(polling.neededRequestsPerS)} polls/s, ${fixed(polling.neededCpuMsPerS / 1_000, 1)} cores${measured}`;
}
