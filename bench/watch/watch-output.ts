/** bench/watch.ts's printed tables and the notes that go with them (also into watch.json). */
import { fixed, renderTable } from '../lib/text-table.js';
import type { ByRole, Percentiles, RunResult } from './watch-results.js';

const trio = (p: Percentiles) => `${fixed(p.p50, 1)} / ${fixed(p.p99, 1)} / ${fixed(p.max, 1)}`;
const pair = (value: ByRole, decimals = 0) =>
  `${fixed(value.router, decimals)} / ${fixed(value.nodes, decimals)}`;
const routerAndNodes = (value: ByRole) => value.router + value.nodes;

export function printRuns(runs: readonly RunResult[]): void {
  console.log('\ndelivery: a message from its send to its recipient’s watcher\n');
  console.log(
    renderTable(
      [
        'watchers',
        'via',
        'held',
        'sent',
        'exactly once',
        'missed',
        'doubled',
        'wrong user',
        'start→delivered ms p50 / p99 / max',
        'ack→delivered ms p50 / p99 / max',
        'ack→delivered < 0',
      ],
      runs.map((run) => [
        run.watchers,
        run.mode,
        run.heldWatchers,
        run.sent,
        run.deliveredOnce,
        run.missed,
        run.doubled,
        run.wrongWatcher,
        trio(run.startToDeliveredMs),
        trio(run.ackToDeliveredMs),
        `${fixed((100 * run.ackToDeliveredMs.negative) / Math.max(1, run.sent), 0)}%`,
      ]),
    ),
  );
  console.log('\ncost of holding: per held watch, and CPU (router / nodes)\n');
  console.log(
    renderTable(
      [
        'watchers',
        'via',
        'resident B per watch',
        'heap B per watch',
        'client heap B per watch',
        'idle CPU ms/s: no watch → held',
        'renewals ms/s (computed)',
        'CPU ms per delivery',
      ],
      runs.map((run) => [
        run.watchers,
        run.mode,
        pair(run.bytesPerWatcher),
        pair(run.heapBytesPerWatcher),
        fixed(run.clientBytesPerWatcher.heap, 0),
        `${pair(run.idleCpuMsPerS.none)} → ${pair(run.idleCpuMsPerS.held)}`,
        run.renewalCpuMsPerS === undefined ? '—' : fixed(run.renewalCpuMsPerS, 1),
        pair(run.cpuMsPerDelivered, 2),
      ]),
    ),
  );
  const polled = runs.filter((run) => run.mode === 'router' && run.polling !== undefined);
  if (polled.length === 0) return;
  console.log('\npolling through the router for the same median freshness (router + nodes)\n');
  console.log(
    renderTable(
      [
        'watchers',
        'target ms',
        'poll ms',
        'interval ms',
        'polls/s needed',
        'CPU µs per poll',
        'CPU needed: ms/s (cores)',
        'measured: polls/s, errors, p50 ms, CPU ms/s',
        'watching: held idle + renewals ms/s',
      ],
      polled.map((run) => {
        const polling = run.polling;
        if (polling === undefined) return [];
        const measured = polling.measured;
        return [
          run.watchers,
          fixed(polling.targetMs, 1),
          fixed(polling.pollLatencyMs, 2),
          fixed(polling.intervalMs, 1),
          fixed(polling.neededRequestsPerS, 0),
          `${fixed(polling.cpuUsPerRequest, 0)} (${polling.cpuSource})`,
          `${fixed(polling.neededCpuMsPerS, 0)} (${fixed(polling.neededCpuMsPerS / 1_000, 1)})`,
          measured === undefined
            ? '—'
            : `${fixed(measured.requestsPerS, 0)}, ${measured.errors}, ${fixed(measured.latencyP50Ms, 1)}, ${fixed(routerAndNodes(measured.cpuMsPerS), 0)}`,
          fixed(routerAndNodes(run.idleCpuMsPerS.held) + (run.renewalCpuMsPerS ?? 0), 0),
        ];
      }),
    ),
  );
}

/** What the columns mean; printed after the tables and kept in watch.json. */
export const NOTES = [
  'start→delivered: from the send request’s start to the watcher’s answer that carries the message (performance.now() in this one process). ack→delivered: from the sender’s acknowledgement instead. A send commits the recipient’s copy first, which wakes the watcher at once, then the sender’s copy, then answers; so the watcher often hears before the sender does, and ack→delivered is negative (the last column: the share of sends where it was).',
  'exactly once / missed / doubled / wrong user: by message id, over acknowledged sends, after waiting up to --drain-s for the last ones. Missed, doubled or wrong user make the run exit 1.',
  'resident and heap B per watch: (all watches held − before) ÷ watches, for the router and for the serving nodes together. "Before" is after every watched user’s cursor was pinned (its mailbox loaded into its owner’s cache, which costs more than the watch: bytesPerPinnedUser in the JSON), so this is the held request alone. Heap: each member’s chatring_nodejs_heap_size_used_bytes, without a forced GC. Both are noisy (collector timing, allocator pages): some 500 B per watch at 10,000 watches, several KB at 1,000, where a figure can even come out negative; read the largest count. Router mode: the router’s figure includes one app connection per watch; client-direct: watches ride the client’s one link per node. Client heap: this process after a forced GC.',
  'idle CPU: router / nodes CPU ms a second (utime + stime, /proc) over --idle-s with nothing sent: before the watches (users pinned) and with all held. Renewals (computed, not measured): a held watch is answered empty and asked again every waitMs, which the short idle window never sees; W ÷ waitMs requests a second at the measured CPU per empty poll.',
  'CPU per delivery: router / nodes CPU over the send window (sends, wake-ups, answers, re-issued watches) less the held-idle CPU, per delivered message; the sends go client-direct, so the router’s share is the watches’ alone.',
  'polling: a poller asking every P ms is on average P/2 + (one poll’s latency) stale; P = 2 × (target − poll latency) matches the watch’s median start→delivered (through the router), which is generous to polling (the watch’s figure includes the send itself). Polls: the feed with the user’s cursor and waitMs=0, through the router, answered at once. Measured for the first watcher count: the pollers run for --poll-s on this box and reach what two shared cores allow, far below the rate needed, so the CPU needed is the polls needed × the measured CPU per poll (router + nodes beyond idle); the other counts use that per-poll cost (said so).',
];
