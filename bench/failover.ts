/**
 * bench/failover.ts — what a client sees when the node owning its users is killed (kill -9), and
 * whether anything acknowledged was lost.
 *
 * Starts a local cluster, runs a light closed-loop load through the router (sends and reads on a
 * fixed set of conversations, half of whose users the victim node owns), kills the victim with
 * SIGKILL (its pid from /control/v1/status), and measures: the time from the kill to the first
 * successful request for an affected user (from the load, and from a dedicated probe), the errors
 * and the worst latency in between, and what the cluster did (restart of the same node id, or a
 * standby promoted to its slot), from /control/v1/status polled every 100 ms. Afterwards it reads
 * every conversation back through the router for both participants and checks every acknowledged
 * send is there exactly once in both copies with the same id and sentAt: acknowledged-but-lost
 * must be 0. The baseline in the same run is the pre-kill window of the same load.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  conversationIdOf,
  orderedPair,
  type Message,
  type SendMessageResponse,
} from '../protocol/index.js';
import { BenchFlags } from './lib/bench-args.js';
import { ChatClient, type ChatAnswer } from './lib/chat-client.js';
import { ClusterProcess, type ClusterStatusView } from './lib/cluster-process.js';
import { LatencyRecorder, type LatencySummary } from './lib/latency-recorder.js';
import { machineLine } from './lib/machine.js';
import { startReport, writeReport } from './lib/result-files.js';
import { SeededRandom } from './lib/seeded-random.js';
import { TemporaryDirectory } from './lib/temporary-directory.js';
import { fixed, renderTable, type Cell } from './lib/text-table.js';
import { RingView } from '../ring/index.js';

const flags = BenchFlags.parse(
  'failover',
  'kill -9 the owner of a set of users under load; recovery time, errors, acknowledged-lost',
  {
    nodes: { description: 'cache nodes (plus 1 standby)', default: '3' },
    victim: { description: 'node id to kill', default: 'node-1' },
    pairs: {
      description: 'conversations in the load (half with a victim-owned user)',
      default: '24',
    },
    workers: { description: 'closed-loop workers', default: '8' },
    'think-ms': {
      description: "pause between a worker's requests (keeps the load light)",
      default: '20',
    },
    'before-kill-s': { description: 'load before the kill (the baseline window)', default: '4' },
    'after-recovery-s': { description: 'load after the first affected success', default: '3' },
    'max-outage-s': { description: 'give up waiting for recovery after this long', default: '30' },
    'timeout-ms': {
      description: 'client deadline per request (the router retries inside it)',
      default: '15000',
    },
    scenarios: {
      description:
        'restart (the launcher restarts the victim) and/or promotion (it does not: the standby takes over)',
      default: 'restart,promotion',
    },
    'lease-ms': {
      description: 'node lease of the cluster (empty: the launcher default)',
      default: '',
    },
    seed: { description: 'seed of user ids and content', default: '1' },
    'chatring-entry': {
      description: 'compiled chatring CLI (default dist/cli/chatring.js)',
      default: '',
    },
    'keep-data': { description: 'keep the temporary data dir (true/false)', default: 'false' },
  },
);
const settings = {
  nodes: flags.integer('nodes', 2, 64),
  victim: flags.string('victim'),
  pairs: flags.integer('pairs', 2, 10_000),
  workers: flags.integer('workers', 1, 1_024),
  thinkMs: flags.integer('think-ms', 0, 10_000),
  beforeKillS: flags.number('before-kill-s', 0.5, 600),
  afterRecoveryS: flags.number('after-recovery-s', 0, 600),
  maxOutageS: flags.number('max-outage-s', 1, 600),
  timeoutMs: flags.integer('timeout-ms', 100, 600_000),
  scenarios: flags.string('scenarios').split(',').filter(Boolean) as ScenarioName[],
  leaseMs: flags.string('lease-ms') === '' ? undefined : flags.integer('lease-ms', 100, 600_000),
  seed: flags.integer('seed', 0, 2 ** 31),
  chatringEntry: flags.string('chatring-entry'),
  keepData: flags.boolean('keep-data'),
};

for (const scenario of settings.scenarios) {
  if (scenario !== 'restart' && scenario !== 'promotion')
    throw new Error(`--scenarios: unknown "${scenario}" (restart, promotion)`);
}

interface Pair {
  low: string;
  high: string;
  conversationId: string;
  /** The victim owns at least one of the two users (a send between them touches it). */
  affected: boolean;
  lowOnVictim: boolean;
  highOnVictim: boolean;
}

interface Acknowledged {
  message: Message;
  ackedAt: number;
  worker: number;
}

interface RequestRecord {
  kind: 'send' | 'read' | 'probe';
  affected: boolean;
  startedAt: number;
  endedAt: number;
  ok: boolean;
  errorCode?: string;
}

interface StatusEvent {
  atMs: number;
  epoch: number;
  text: string;
}

interface FailoverResults {
  victim: { nodeId: string; pid: number; slots: string[]; url: string };
  outcome: 'restarted' | 'standby-promoted' | 'slot-removed' | 'unknown';
  outcomeDetail: string;
  timeline: StatusEvent[];
  firstAffectedSuccessAfterKillMs?: number;
  probeFirstSuccessAfterKillMs?: number;
  window: { beforeKill: WindowFigures; outage: WindowFigures; afterRecovery: WindowFigures };
  verification: {
    acknowledged: number;
    lost: number;
    duplicated: number;
    copyMismatches: number;
    orderViolations: number;
    unacknowledgedPresent: number;
    unacknowledgedAbsent: number;
    conversationsRead: number;
  };
}

interface WindowFigures {
  seconds: number;
  affected: LatencySummary;
  unaffected: LatencySummary;
}

type ScenarioName = 'restart' | 'promotion';

/** restart: the launcher starts the killed node again (its default). promotion: it does not, so the lease lapses and the standby takes the slot. */
const SCENARIO_ARGS: Record<ScenarioName, string[]> = {
  restart: ['--restart-members', 'true'],
  promotion: ['--restart-members', 'false'],
};

await main();

async function main(): Promise<void> {
  const report = startReport<{ scenarios: (FailoverResults & { scenario: ScenarioName })[] }>(
    'failover',
    settings,
    'the same load in the window before the kill (same run, same cluster)',
  );
  console.log(`failover benchmark — ${machineLine(report.machine)}`);
  console.log(
    `settings: ${settings.nodes} nodes + 1 standby, victim ${settings.victim}, ${settings.pairs} conversations, ${settings.workers} workers, think ${settings.thinkMs} ms, ${settings.beforeKillS}s before the kill, scenarios ${settings.scenarios.join(', ')}${settings.leaseMs === undefined ? '' : `, lease ${settings.leaseMs} ms`}`,
  );
  const scenarios: (FailoverResults & { scenario: ScenarioName })[] = [];
  for (const scenario of settings.scenarios) {
    console.log(
      `\n--- scenario ${scenario}: chatring start ${SCENARIO_ARGS[scenario].join(' ')} ---\n`,
    );
    const results = await runInFreshCluster(scenario);
    printResults(results);
    scenarios.push({ scenario, ...results });
  }
  report.notes.push(
    "affected: a request that needs the victim (a read of a user it owns, a send with either user on it). Windows: before = answered before the kill; outage = in flight at any moment from the kill to recovery (the first affected success issued after the kill, and the probe's); after = issued after recovery.",
    'The router retries NOT_OWNER, OWNER_UNAVAILABLE and connection failures inside its retry budget, so an outage shows mostly as latency, errors only past the budget.',
    'restart: the launcher starts a killed member again within ~0.25 s; back before its lease runs out, it keeps its slot. promotion (--restart-members false): the lease lapses and the standby takes the slot, cold.',
  );
  console.log('');
  for (const note of report.notes) console.log(`note: ${note}`);
  const path = writeReport({ ...report, results: { scenarios } });
  console.log(`\nwrote ${path}`);
  // Timings never fail a benchmark; a broken invariant does (it is a correctness bug, not a number).
  for (const { scenario, verification } of scenarios) {
    const { lost, duplicated, copyMismatches } = verification;
    if (lost + duplicated + copyMismatches > 0) {
      console.log(
        `INVARIANT VIOLATED (${scenario}): ${lost} acknowledged copies lost, ${duplicated} duplicated, ${copyMismatches} copies differ`,
      );
      process.exitCode = 1;
    }
  }
}

async function runInFreshCluster(scenario: ScenarioName): Promise<FailoverResults> {
  const temporary = new TemporaryDirectory(
    `chatring-bench-failover-${scenario}-`,
    settings.keepData,
  );
  const dataDir = temporary.path;
  let cluster: ClusterProcess | undefined;
  try {
    cluster = await ClusterProcess.start({
      dataDir,
      nodes: settings.nodes,
      standbys: 1,
      extraArgs: [
        ...SCENARIO_ARGS[scenario],
        ...(settings.leaseMs === undefined ? [] : ['--lease-ms', String(settings.leaseMs)]),
      ],
      ...(settings.chatringEntry === '' ? {} : { entry: settings.chatringEntry }),
    });
    return await runScenario(cluster);
  } finally {
    await cluster?.stop();
    temporary.dispose();
  }
}

async function runScenario(cluster: ClusterProcess): Promise<FailoverResults> {
  const statusBefore = await cluster.status();
  const victimNode = statusBefore.nodes.find((node) => node.nodeId === settings.victim);
  if (victimNode?.pid === undefined || victimNode.slots.length === 0) {
    throw new Error(
      `--victim ${settings.victim} is not a serving node with a pid (nodes: ${statusBefore.nodes.map((node) => `${node.nodeId}:${node.state}`).join(', ')})`,
    );
  }
  const victim = {
    nodeId: victimNode.nodeId,
    pid: victimNode.pid,
    slots: [...victimNode.slots],
    url: victimNode.url,
  };
  const ring = new RingView(await cluster.ring());
  const pairs = choosePairs(ring, victim.nodeId);
  const client = new ChatClient(cluster.routerUrl, {
    connections: settings.workers + 2,
    timeoutMs: settings.timeoutMs,
  });
  const probeUser =
    pairs
      .flatMap((pair) => [pair.low, pair.high])
      .find((user) => ring.ownerIdOf(user) === victim.nodeId) ?? '';

  const started = performance.now();
  const at = () => performance.now() - started;
  const records: RequestRecord[] = [];
  const acknowledged: Acknowledged[] = [];
  const unacknowledged: { senderId: string; clientMessageId: string; conversationId: string }[] =
    [];
  const random = new SeededRandom(settings.seed);
  let stopping = false;
  let killAt = Number.POSITIVE_INFINITY;
  let probeFirstSuccess: number | undefined;

  const worker = async (index: number) => {
    const own = pairs.filter((_, pairIndex) => pairIndex % settings.workers === index);
    let sequence = 0;
    while (!stopping && own.length > 0) {
      const pair = own[sequence % own.length] as Pair;
      sequence += 1;
      const outgoing = sequence % 2 === 0;
      const [senderId, recipientId] = outgoing ? [pair.low, pair.high] : [pair.high, pair.low];
      if (sequence % 3 === 0) {
        // A read of the conversation by one participant.
        const reader = outgoing ? pair.low : pair.high;
        const startedAt = at();
        const answer = await client.messages(reader, pair.conversationId, 20);
        records.push(
          record('read', outgoing ? pair.lowOnVictim : pair.highOnVictim, startedAt, at(), answer),
        );
      } else {
        const clientMessageId = `fo-${index}-${sequence}`;
        const content = `worker ${index} message ${sequence} ${random.nextUint32().toString(36)}`;
        const startedAt = at();
        const answer = await client.send({ senderId, recipientId, content, clientMessageId }, true);
        records.push(record('send', pair.affected, startedAt, at(), answer));
        if (answer.errorCode === undefined)
          acknowledged.push({
            message: (answer.body as SendMessageResponse).message,
            ackedAt: at(),
            worker: index,
          });
        else
          unacknowledged.push({ senderId, clientMessageId, conversationId: pair.conversationId });
      }
      if (settings.thinkMs > 0) await sleep(settings.thinkMs);
    }
  };

  const timeline: StatusEvent[] = [];
  let lastStatus = describeStatus(statusBefore, victim.nodeId);
  timeline.push({ atMs: 0, epoch: statusBefore.epoch, text: `before: ${lastStatus}` });
  const statusPoller = async () => {
    while (!stopping) {
      try {
        const status = await cluster.status();
        const text = describeStatus(status, victim.nodeId);
        if (text !== lastStatus) {
          timeline.push({ atMs: at() - killAt, epoch: status.epoch, text });
          lastStatus = text;
        }
      } catch (error) {
        timeline.push({
          atMs: at() - killAt,
          epoch: -1,
          text: `status failed: ${(error as Error).message}`,
        });
      }
      await sleep(100);
    }
  };

  const prober = async () => {
    while (!stopping && probeFirstSuccess === undefined) {
      const startedAt = at();
      const answer = await client.conversations(probeUser, 20);
      records.push(record('probe', true, startedAt, at(), answer));
      if (answer.errorCode === undefined) probeFirstSuccess = at() - killAt;
      else await sleep(50);
    }
  };

  const workers = Array.from({ length: settings.workers }, (_, index) => worker(index));
  await sleep(settings.beforeKillS * 1_000);
  killAt = at();
  process.kill(victim.pid, 'SIGKILL');
  console.error(`killed ${victim.nodeId} (pid ${victim.pid}) at ${(killAt / 1_000).toFixed(2)} s`);
  timeline.push({
    atMs: 0,
    epoch: statusBefore.epoch,
    text: `kill -9 ${victim.nodeId} (pid ${victim.pid})`,
  });
  const poller = statusPoller();
  const probe = prober();

  // Wait for the first success of an affected request issued after the kill.
  const deadline = killAt + settings.maxOutageS * 1_000;
  let firstAffected: number | undefined;
  while (at() < deadline) {
    const success = records.find(
      (entry) => entry.affected && entry.ok && entry.kind !== 'probe' && entry.startedAt >= killAt,
    );
    if (success !== undefined && probeFirstSuccess !== undefined) {
      firstAffected = success.endedAt - killAt;
      break;
    }
    await sleep(20);
  }
  const recoveredAt = at();
  await sleep(settings.afterRecoveryS * 1_000);
  stopping = true;
  await Promise.all([...workers, poller, probe]);
  const endedAt = at();

  const statusAfter = await cluster.status();
  const verification = await verify(client, pairs, acknowledged, unacknowledged);
  await client.close();

  // Before: answered before the kill. Outage: in flight at any moment between the kill and the
  // recovery. After: issued after the recovery.
  const windowOf = (seconds: number, belongs: (entry: RequestRecord) => boolean): WindowFigures => {
    const inWindow = records.filter((entry) => entry.kind !== 'probe' && belongs(entry));
    return {
      seconds,
      affected: summarize(inWindow.filter((entry) => entry.affected)),
      unaffected: summarize(inWindow.filter((entry) => !entry.affected)),
    };
  };
  return {
    victim,
    ...outcomeOf(statusBefore, statusAfter, victim),
    timeline,
    ...(firstAffected === undefined ? {} : { firstAffectedSuccessAfterKillMs: firstAffected }),
    ...(probeFirstSuccess === undefined ? {} : { probeFirstSuccessAfterKillMs: probeFirstSuccess }),
    window: {
      beforeKill: windowOf(killAt / 1_000, (entry) => entry.endedAt < killAt),
      outage: windowOf(
        (recoveredAt - killAt) / 1_000,
        (entry) => entry.endedAt >= killAt && entry.startedAt < recoveredAt,
      ),
      afterRecovery: windowOf(
        (endedAt - recoveredAt) / 1_000,
        (entry) => entry.startedAt >= recoveredAt,
      ),
    },
    verification,
  };
}

/** Users `fo-<seed>-<n>`, half owned by the victim; every pair has at least one victim-owned user in half the pairs. */
function choosePairs(ring: RingView, victimId: string): Pair[] {
  const owned: string[] = [];
  const others: string[] = [];
  for (
    let index = 0;
    owned.length < settings.pairs || others.length < settings.pairs * 2;
    index += 1
  ) {
    const userId = `fo${settings.seed}u${String(index).padStart(5, '0')}`;
    (ring.ownerIdOf(userId) === victimId ? owned : others).push(userId);
    if (index > 1_000_000) throw new Error('could not find users on the victim');
  }
  const pairs: Pair[] = [];
  for (let index = 0; index < settings.pairs; index += 1) {
    // Even pairs: a victim-owned user with another; odd pairs: two users the victim does not own.
    const a =
      index % 2 === 0 ? (owned[index] as string) : (others[settings.pairs + index] as string);
    const b = others[index] as string;
    const [low, high] = orderedPair(a, b);
    const lowOnVictim = ring.ownerIdOf(low) === victimId;
    const highOnVictim = ring.ownerIdOf(high) === victimId;
    pairs.push({
      low,
      high,
      conversationId: conversationIdOf(low, high),
      affected: lowOnVictim || highOnVictim,
      lowOnVictim,
      highOnVictim,
    });
  }
  return pairs;
}

function record(
  kind: RequestRecord['kind'],
  affected: boolean,
  startedAt: number,
  endedAt: number,
  answer: ChatAnswer,
): RequestRecord {
  return {
    kind,
    affected,
    startedAt,
    endedAt,
    ok: answer.errorCode === undefined,
    ...(answer.errorCode === undefined ? {} : { errorCode: answer.errorCode }),
  };
}

function summarize(entries: RequestRecord[]): LatencySummary {
  const recorder = new LatencyRecorder();
  for (const entry of entries) {
    if (entry.ok) recorder.record('all', (entry.endedAt - entry.startedAt) * 1_000);
    else recorder.recordError('all', entry.errorCode ?? 'UNKNOWN');
  }
  return recorder.summary('all');
}

function describeStatus(status: ClusterStatusView, victimId: string): string {
  const slots = status.slots.map((slot) => `${slot.slot}→${slot.nodeId}`).join(' ');
  const victim = status.nodes.find((node) => node.nodeId === victimId);
  const standbys = status.standbys.join(',') || 'none';
  return `epoch ${status.epoch}; ${slots}; ${victimId} ${victim?.state ?? 'absent'} pid ${victim?.pid ?? '-'}; standbys ${standbys}`;
}

function outcomeOf(
  before: ClusterStatusView,
  after: ClusterStatusView,
  victim: FailoverResults['victim'],
): Pick<FailoverResults, 'outcome' | 'outcomeDetail'> {
  const slot = victim.slots[0] ?? '';
  const holder = after.slots.find((assignment) => assignment.slot === slot)?.nodeId;
  const victimAfter = after.nodes.find((node) => node.nodeId === victim.nodeId);
  if (holder === victim.nodeId && victimAfter?.pid !== victim.pid) {
    return {
      outcome: 'restarted',
      outcomeDetail: `${victim.nodeId} came back as pid ${victimAfter?.pid ?? '?'} (${victimAfter?.state ?? '?'}) and kept ${slot}; epoch ${before.epoch} → ${after.epoch}`,
    };
  }
  if (holder !== undefined && holder !== victim.nodeId) {
    return {
      outcome: 'standby-promoted',
      outcomeDetail: `${holder} now serves ${slot}; ${victim.nodeId} is ${victimAfter?.state ?? 'absent'} (pid ${victimAfter?.pid ?? '?'}); epoch ${before.epoch} → ${after.epoch}`,
    };
  }
  if (holder === undefined)
    return {
      outcome: 'slot-removed',
      outcomeDetail: `${slot} left the ring; epoch ${before.epoch} → ${after.epoch}`,
    };
  return {
    outcome: 'unknown',
    outcomeDetail: `${slot} still on ${holder} with pid ${victimAfter?.pid ?? '?'}`,
  };
}

/** Reads every conversation of the load for both participants and checks each acknowledged send. */
async function verify(
  client: ChatClient,
  pairs: Pair[],
  acknowledged: Acknowledged[],
  unacknowledged: { senderId: string; clientMessageId: string; conversationId: string }[],
): Promise<FailoverResults['verification']> {
  const copies = new Map<string, Message[]>(); // `${reader}|${conversationId}` → messages
  for (const pair of pairs) {
    for (const reader of [pair.low, pair.high])
      copies.set(
        `${reader}|${pair.conversationId}`,
        await readAll(client, reader, pair.conversationId),
      );
  }
  let lost = 0;
  let duplicated = 0;
  let copyMismatches = 0;
  for (const { message } of acknowledged) {
    for (const reader of [message.senderId, message.recipientId]) {
      const found = (copies.get(`${reader}|${message.conversationId}`) ?? []).filter(
        (candidate) => candidate.messageId === message.messageId,
      );
      if (found.length === 0) lost += 1;
      if (found.length > 1) duplicated += 1;
      if (
        found.some(
          (candidate) =>
            candidate.sentAt !== message.sentAt || candidate.content !== message.content,
        )
      )
        copyMismatches += 1;
    }
  }
  // A retry must never make a second message: one per (sender, clientMessageId) in each copy.
  for (const messages of copies.values()) {
    const seen = new Set<string>();
    for (const message of messages) {
      const key = `${message.senderId}|${message.clientMessageId}`;
      if (seen.has(key)) duplicated += 1;
      seen.add(key);
    }
  }
  // Order: a sender's acknowledged messages in one conversation appear in ack order (sentAt rising).
  let orderViolations = 0;
  const lastSentAt = new Map<string, number>();
  for (const { message } of [...acknowledged].sort((a, b) => a.ackedAt - b.ackedAt)) {
    const key = `${message.senderId}|${message.conversationId}`;
    if (message.sentAt <= (lastSentAt.get(key) ?? Number.NEGATIVE_INFINITY)) orderViolations += 1;
    lastSentAt.set(key, message.sentAt);
  }
  let unacknowledgedPresent = 0;
  for (const attempt of unacknowledged) {
    const present = [...copies.entries()].some(
      ([key, messages]) =>
        key.endsWith(`|${attempt.conversationId}`) &&
        messages.some(
          (message) =>
            message.senderId === attempt.senderId &&
            message.clientMessageId === attempt.clientMessageId,
        ),
    );
    if (present) unacknowledgedPresent += 1;
  }
  return {
    acknowledged: acknowledged.length,
    lost,
    duplicated,
    copyMismatches,
    orderViolations,
    unacknowledgedPresent,
    unacknowledgedAbsent: unacknowledged.length - unacknowledgedPresent,
    conversationsRead: copies.size,
  };
}

async function readAll(
  client: ChatClient,
  reader: string,
  conversationId: string,
): Promise<Message[]> {
  const pageSize = 200;
  const messages: Message[] = [];
  for (let page = 0; page * pageSize <= 10_000; page += 1) {
    const answer = await client.messages(reader, conversationId, pageSize, page, true);
    if (answer.errorCode !== undefined)
      throw new Error(`reading ${conversationId} as ${reader} failed: ${answer.errorCode}`);
    const batch = (answer.body as { messages: Message[] }).messages;
    messages.push(...batch);
    if (batch.length < pageSize) break;
  }
  return messages;
}

function printResults(results: FailoverResults): void {
  console.log('timeline (ms after the kill; status polled every 100 ms):');
  for (const event of results.timeline)
    console.log(`  ${fixed(event.atMs, 0).padStart(7)}  ${event.text}`);
  console.log('');
  console.log(`outcome: ${results.outcome} — ${results.outcomeDetail}`);
  console.log(
    `first successful request for an affected user, issued after the kill: ${results.firstAffectedSuccessAfterKillMs === undefined ? 'none' : `${fixed(results.firstAffectedSuccessAfterKillMs, 0)} ms after the kill`}`,
  );
  console.log(
    `probe (GET conversations of a victim-owned user): first success ${results.probeFirstSuccessAfterKillMs === undefined ? 'never' : `${fixed(results.probeFirstSuccessAfterKillMs, 0)} ms after the kill`}\n`,
  );
  const headers = [
    'window',
    'seconds',
    'users',
    'ok',
    'errors',
    'p50 ms',
    'p99 ms',
    'max ms',
    'error codes',
  ];
  const rows: Cell[][] = [];
  for (const [name, window] of Object.entries(results.window)) {
    for (const [users, summary] of [
      ['affected', window.affected],
      ['unaffected', window.unaffected],
    ] as const) {
      rows.push([
        name,
        fixed(window.seconds, 2),
        users,
        summary.ok,
        summary.errors,
        fixed(summary.p50Ms, 1),
        fixed(summary.p99Ms, 1),
        fixed(summary.maxMs, 1),
        JSON.stringify(summary.errorsByCode),
      ]);
    }
  }
  console.log(renderTable(headers, rows));
  const v = results.verification;
  console.log(
    `\nverification: ${v.acknowledged} acknowledged sends, read back from ${v.conversationsRead} mailbox copies: lost ${v.lost}, duplicated ${v.duplicated}, copy mismatches ${v.copyMismatches}, order violations ${v.orderViolations}; unacknowledged sends ${v.unacknowledgedPresent + v.unacknowledgedAbsent} (${v.unacknowledgedPresent} landed, ${v.unacknowledgedAbsent} not)`,
  );
}
