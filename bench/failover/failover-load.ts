/**
 * What runs during a failover scenario, on one clock: the closed-loop load on the pairs (sends and
 * reads, every request recorded), the poller of GET /control/v1/status (the timeline), and the
 * probe that reads a victim-owned user until it answers after the kill.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  AcknowledgedSend,
  ApiClient,
  ApiResponse,
  LocalCluster,
} from '../../harness/index.js';
import type { SendMessageResponse } from '../../protocol/index.js';
import { SeededRandom } from '../lib/seeded-random.js';
import { describeStatus } from './cluster-outcome.js';
import type { Pair, RequestRecord, StatusEvent } from './failover-results.js';
import { settings } from './failover-settings.js';

/** The run's clock: ms since the load started, and the kill's instant on it. */
export class RunClock {
  readonly #started = performance.now();
  killAt = Number.POSITIVE_INFINITY;

  at(): number {
    return performance.now() - this.#started;
  }

  sinceKill(): number {
    return this.at() - this.killAt;
  }
}

export interface UnacknowledgedSend {
  senderId: string;
  clientMessageId: string;
  conversationId: string;
}

/** --workers loops, each on its own share of the pairs: two sends, then a read, and so on. */
export function startFailoverLoad(client: ApiClient, pairs: Pair[], clock: RunClock) {
  const records: RequestRecord[] = [];
  const acknowledged: AcknowledgedSend[] = [];
  const unacknowledged: UnacknowledgedSend[] = [];
  const random = new SeededRandom(settings.seed);
  let stopping = false;
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
        const startedAt = clock.at();
        const answer = await client.messages(reader, pair.conversationId, {
          page: 0,
          pageSize: 20,
        });
        const affected = outgoing ? pair.lowOnVictim : pair.highOnVictim;
        records.push(record('read', affected, startedAt, clock.at(), answer));
      } else {
        const clientMessageId = `fo-${index}-${sequence}`;
        const content = `worker ${index} message ${sequence} ${random.nextUint32().toString(36)}`;
        const startedAt = clock.at();
        const answer = await client.send(senderId, recipientId, content, clientMessageId);
        records.push(record('send', pair.affected, startedAt, clock.at(), answer));
        if (answer.errorCode === undefined)
          acknowledged.push({
            message: (answer.body as SendMessageResponse).message,
            issuedAtMs: startedAt,
            acknowledgedAtMs: clock.at(),
          });
        else
          unacknowledged.push({ senderId, clientMessageId, conversationId: pair.conversationId });
      }
      if (settings.thinkMs > 0) await sleep(settings.thinkMs);
    }
  };
  const workers = Array.from({ length: settings.workers }, (_, index) => worker(index));
  return {
    records,
    acknowledged,
    unacknowledged,
    async stop() {
      stopping = true;
      await Promise.all(workers);
    },
  };
}

/** Polls the status every 100 ms and notes each change of what it shows, in ms after the kill. */
export function startStatusPoller(
  cluster: LocalCluster,
  victimId: string,
  clock: RunClock,
  timeline: StatusEvent[],
  lastStatus: string,
) {
  let stopping = false;
  let last = lastStatus;
  const polling = (async () => {
    while (!stopping) {
      try {
        const status = await cluster.status();
        const text = describeStatus(status, victimId);
        if (text !== last) {
          timeline.push({ atMs: clock.sinceKill(), epoch: status.epoch, text });
          last = text;
        }
      } catch (error) {
        timeline.push({
          atMs: clock.sinceKill(),
          epoch: -1,
          text: `status failed: ${(error as Error).message}`,
        });
      }
      await sleep(100);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await polling;
    },
  };
}

/** Reads a victim-owned user's conversations every 50 ms until it first answers. */
export function startProber(
  client: ApiClient,
  probeUser: string,
  clock: RunClock,
  records: RequestRecord[],
) {
  let stopping = false;
  let firstSuccessAfterKillMs: number | undefined;
  const probing = (async () => {
    while (!stopping && firstSuccessAfterKillMs === undefined) {
      const startedAt = clock.at();
      const answer = await client.conversations(probeUser, { pageSize: 20 });
      records.push(record('probe', true, startedAt, clock.at(), answer));
      if (answer.errorCode === undefined) firstSuccessAfterKillMs = clock.sinceKill();
      else await sleep(50);
    }
  })();
  return {
    firstSuccessAfterKillMs: () => firstSuccessAfterKillMs,
    async stop() {
      stopping = true;
      await probing;
    },
  };
}

function record(
  kind: RequestRecord['kind'],
  affected: boolean,
  startedAt: number,
  endedAt: number,
  answer: ApiResponse<unknown>,
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
