import type { MemberSigner } from '../transport/index.js';
import { getJson, LOOKUP_TIMEOUT_MS_DEFAULT } from './http-json.js';

/** A cache node's own statistics route (cache-node/node-server.ts). */
export const NODE_STATS_PATH = '/internal/v1/stats';

/** The counters of a node's stats that tests and benchmarks read, 0 where the node has none. */
export interface NodeCounters {
  storeLoads: number;
  cacheHits: number;
  cacheMisses: number;
  /** Writes whose clientMessageId memory proved new, and writes that read the store's index. */
  idempotencyFromMemory: number;
  idempotencyStoreReads: number;
  cachedUsers: number;
  cachedBytes: number;
  releasedUsers: number;
  warmUsersSent: number;
  warmUsersReceived: number;
  warmUsersAdopted: number;
}

export const NODE_COUNTER_NAMES: readonly (keyof NodeCounters)[] = Object.freeze([
  'storeLoads',
  'cacheHits',
  'cacheMisses',
  'idempotencyFromMemory',
  'idempotencyStoreReads',
  'cachedUsers',
  'cachedBytes',
  'releasedUsers',
  'warmUsersSent',
  'warmUsersReceived',
  'warmUsersAdopted',
]);

/** One node's stats: what it serves, how long its lease still runs, and its counters. */
export interface NodeStatsView {
  slots: string[];
  /** Undefined when the node reports no lease (it never had one). */
  leaseRemainingMs?: number;
  counters: NodeCounters;
  /** The store's own counters by name (MailboxStore.stats: LWTs, transactions, ...); {} if none. */
  storeCounters: Record<string, number>;
}

export async function readNodeStats(
  nodeUrl: string,
  timeoutMs = LOOKUP_TIMEOUT_MS_DEFAULT,
  signer?: MemberSigner,
): Promise<NodeStatsView> {
  const document = await getJson<Record<string, unknown>>(
    `${nodeUrl}${NODE_STATS_PATH}`,
    timeoutMs,
    signer,
  );
  const section = (name: string) => (document[name] ?? {}) as Record<string, unknown>;
  // Service counters were once at the top level of the document; either place is read.
  const service = (document.service ?? document) as Record<string, unknown>;
  const cache = section('cache');
  const handoff = section('handoff');
  const slots = Array.isArray(document.slots) ? (document.slots as string[]) : [];
  return {
    slots,
    storeCounters: numbersOf(document.storeCounters),
    ...(typeof document.leaseRemainingMs === 'number'
      ? { leaseRemainingMs: document.leaseRemainingMs }
      : {}),
    counters: {
      storeLoads: count(service.storeLoads),
      cacheHits: count(service.cacheHits),
      cacheMisses: count(service.cacheMisses),
      idempotencyFromMemory: count(service.idempotencyFromMemory),
      idempotencyStoreReads: count(service.idempotencyStoreReads),
      cachedUsers: count(cache.users),
      cachedBytes: count(cache.bytes),
      releasedUsers: count(handoff.releasedUsers),
      warmUsersSent: count(handoff.warmUsersSent),
      warmUsersReceived: count(handoff.warmUsersReceived),
      warmUsersAdopted: count(handoff.warmUsersAdopted),
    },
  };
}

/** The counters of several nodes added up. */
export function sumCounters(all: Iterable<NodeCounters>): NodeCounters {
  const sum = Object.fromEntries(NODE_COUNTER_NAMES.map((name) => [name, 0])) as Record<
    keyof NodeCounters,
    number
  >;
  for (const counters of all) for (const name of NODE_COUNTER_NAMES) sum[name] += counters[name];
  return sum;
}

/** Several stores' counters added up, by name. */
export function sumStoreCounters(all: Iterable<Record<string, number>>): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const counters of all)
    for (const [name, value] of Object.entries(counters)) sum[name] = (sum[name] ?? 0) + value;
  return sum;
}

/** The finite numbers of an object, by name; {} for anything else. */
export function numbersOf(value: unknown): Record<string, number> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(
    Object.entries(value).filter(
      (entry): entry is [string, number] =>
        typeof entry[1] === 'number' && Number.isFinite(entry[1]),
    ),
  );
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
