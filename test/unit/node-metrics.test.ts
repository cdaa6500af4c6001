/**
 * The cache node's metric pieces, without a cluster: the user-lock table counts locks taken, waits
 * (and times only those, by a stepped clock), and both USER_BUSY refusals, and reports each wait to
 * its observer; the measured store times every call by operation, counts failures by catalogue
 * code, and otherwise answers exactly as the store it wraps; registerNodeMetrics shows the figures
 * the node already keeps when scraped (nothing counted twice: the same numbers as the stats) and
 * the output parses as Prometheus text with no user id in any label.
 */
import t from 'tap';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { UserLockTable } from '../../cache-node/user-lock-table.js';
import { MeasuredStore, STORE_OPERATIONS } from '../../cache-node/measured-store.js';
import {
  lockWaitMetrics,
  registerNodeMetrics,
  storeCallMetrics,
  type NodeMetricSources,
} from '../../cache-node/node-metrics.js';
import { MailboxCache } from '../../cache-node/mailbox-cache.js';
import { MailboxState } from '../../cache-node/mailbox-state.js';
import { EmbeddedStore } from '../../store-adapter/index.js';
import { ChatringError } from '../../protocol/index.js';
import { parsePrometheusText, sampleSum, samplesOf } from '../../transport/metrics/index.js';
import { TemporaryDirectory } from '../../harness/index.js';
import { message, row } from './mailbox-fixtures.js';

/** A promise the test resolves by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

t.test('the lock table counts, times only real waits, and reports refusals', async (t) => {
  let nowMs = 1_000;
  const waits: [number, boolean][] = [];
  const locks = new UserLockTable(
    { waitersMax: 1, lockWaitTimeoutMs: 50 },
    { monotonicNow: () => nowMs, waited: (waitMs, acquired) => waits.push([waitMs, acquired]) },
  );
  await locks.run('alice', async () => 'free');
  t.same(locks.stats, { acquired: 1, waited: 0, refusedWaitersFull: 0, refusedWaitTimeout: 0 });
  t.same(waits, [], 'a free lock is not a wait');

  const release = gate();
  const entered = gate();
  const holder = locks.run('alice', async () => {
    entered.open();
    await release.promise;
  });
  await entered.promise;
  const waiter = locks.run('alice', async () => 'waited');
  await t.rejects(
    locks.run('alice', async () => 'never'),
    { code: 'USER_BUSY' },
  );
  t.equal(locks.stats.refusedWaitersFull, 1, 'the waiter past waitersMax');
  nowMs += 7;
  release.open();
  await holder;
  t.equal(await waiter, 'waited');
  t.same(waits, [[7, true]], 'the waiter waited 7 ms by the clock and got the lock');
  t.same(locks.stats, { acquired: 3, waited: 1, refusedWaitersFull: 1, refusedWaitTimeout: 0 });

  // A wait that times out (real 50 ms timer; the stepped clock says how long it was).
  const release2 = gate();
  const entered2 = gate();
  const holder2 = locks.run('bob', async () => {
    entered2.open();
    await release2.promise;
  });
  await entered2.promise;
  const timingOut = locks.run('bob', async () => 'never');
  nowMs += 50;
  await t.rejects(timingOut, { code: 'USER_BUSY' });
  release2.open();
  await holder2;
  t.same(waits.at(-1), [50, false], 'the timed-out wait is reported as not acquired');
  t.same(locks.stats, { acquired: 4, waited: 2, refusedWaitersFull: 1, refusedWaitTimeout: 1 });
  t.equal(locks.busyUsers, 0);
});

t.test('lockWaitMetrics: the wait histogram by outcome', async (t) => {
  const registry = new Registry();
  const observer = lockWaitMetrics(registry, () => 0);
  observer.waited(3, true);
  observer.waited(5_000, false);
  const families = parsePrometheusText(await registry.metrics());
  t.equal(families.get('chatring_user_lock_wait_seconds')?.type, 'histogram');
  t.equal(sampleSum(families, 'chatring_user_lock_wait_seconds_count', { outcome: 'acquired' }), 1);
  t.equal(sampleSum(families, 'chatring_user_lock_wait_seconds_sum', { outcome: 'timeout' }), 5);
  t.equal(
    sampleSum(families, 'chatring_user_lock_wait_seconds_bucket', {
      outcome: 'acquired',
      le: '0.005',
    }),
    1,
  );
});

t.test('the measured store times every call and counts failures by code', async (t) => {
  const directory = new TemporaryDirectory('chatring-measured-store-');
  t.teardown(() => directory.dispose());
  const inner = new EmbeddedStore({ path: join(directory.path, 'store.db') });
  const registry = new Registry();
  let nowMs = 0;
  const store = new MeasuredStore(inner, storeCallMetrics(registry), () => (nowMs += 2));
  t.teardown(() => store.close());
  t.equal(store.kind, inner.kind);

  t.equal(await store.mailboxVersion('alice'), 0);
  t.same(await store.recentConversations('alice', 10), []);
  t.equal(await store.conversation('alice', 'alice~bob'), undefined);
  t.same(await store.conversationsChangedAfter('alice', 0, 10), []);
  t.same(await store.messagesPage('alice', 'alice~bob', { limit: 10 }), []);
  t.same(await store.messagesChangedAfter('alice', 'alice~bob', 0, 10), []);
  t.equal(await store.messageByClientId('alice', 'alice', 'c-1'), undefined);
  // A commit at the wrong version: the store's own conflict, passed through unchanged.
  const error = await store
    .commit({
      kind: 'read',
      ownerId: 'alice',
      version: 5,
      commitId: 'x',
      conversation: row('alice', 'bob', 1),
    })
    .catch((caught: unknown) => caught);
  t.ok(error instanceof ChatringError, 'the same error the store threw');
  t.equal((error as ChatringError).code, 'STORE_VERSION_CONFLICT');

  const families = parsePrometheusText(await registry.metrics());
  for (const operation of STORE_OPERATIONS) {
    t.equal(
      sampleSum(families, 'chatring_store_call_duration_seconds_count', { operation }),
      1,
      `${operation} timed once`,
    );
    t.equal(
      sampleSum(families, 'chatring_store_call_duration_seconds_sum', { operation }),
      0.002,
      `${operation}: 2 ms by the stepped clock`,
    );
  }
  t.equal(sampleSum(families, 'chatring_store_call_errors_total'), 1);
  t.equal(
    sampleSum(families, 'chatring_store_call_errors_total', {
      operation: 'commit',
      code: 'STORE_VERSION_CONFLICT',
    }),
    1,
  );
  t.same(store.stats(), inner.stats(), "the store's own figures pass through");
});

t.test('registerNodeMetrics shows the figures the node keeps, read when scraped', async (t) => {
  const registry = new Registry();
  const cache = new MailboxCache({ cacheBytesMax: 1_000_000, emptyMailboxesMax: 10 }, () => false);
  const state = new MailboxState('alice', 2, [row('alice', 'bob', 2)], 200);
  state.setWindow('alice~bob', [message('bob', 'alice', 2), message('bob', 'alice', 1)], true);
  cache.put(state);
  cache.putLoaded(new MailboxState('nobody', 0, [], 200));
  const sources: NodeMetricSources = {
    service: {
      stats: {
        storeLoads: 4,
        cacheHits: 10,
        cacheMisses: 3,
        idempotencyFromMemory: 6,
        idempotencyStoreReads: 1,
      },
      pendingRepairs: 2,
      feedStats: {
        watchers: 3,
        watchersRefused: 1,
        wokenByCommit: 8,
        answeredEmpty: 5,
        released: 2,
        storeReplays: 4,
      },
    },
    cache,
    locks: {
      stats: { acquired: 9, waited: 2, refusedWaitersFull: 1, refusedWaitTimeout: 0 },
      busyUsers: 1,
    },
    handoff: {
      stats: {
        releasedUsers: 5,
        warmUsersSent: 4,
        warmUsersReceived: 0,
        warmUsersAdopted: 0,
        warmBatchesFailed: 1,
        warmUsersFailed: 1,
        lastWarmFailure: 'x',
      },
    },
    renewals: { stats: { renewalsFailed: 3, lastRenewalFailure: '' } },
    ownership: { epoch: 7, leaseRemainingMs: () => 1_500, ownedSlots: () => ['slot-0'] },
    leaseAgeMs: () => 250,
    warmBatchesSent: () => 3,
    store: { stats: () => ({ counters: { commits: 12 }, gauges: { queued: 1 } }) },
  };
  registerNodeMetrics(registry, sources);
  let families = parsePrometheusText(await registry.metrics());
  const value = (name: string, labels: Record<string, string> = {}) =>
    sampleSum(families, name, labels);
  t.equal(value('chatring_cache_hits_total'), 10);
  t.equal(value('chatring_cache_misses_total'), 3);
  t.equal(value('chatring_cache_loads_total'), 4);
  t.equal(value('chatring_idempotency_checks_total', { answered_by: 'memory' }), 6);
  t.equal(value('chatring_idempotency_checks_total', { answered_by: 'store' }), 1);
  t.equal(value('chatring_cache_users', { lru: 'mailboxes' }), 1);
  t.equal(value('chatring_cache_users', { lru: 'empty' }), 1);
  t.equal(value('chatring_cache_messages'), 2);
  t.equal(value('chatring_cache_bytes'), cache.stats().bytes);
  t.equal(value('chatring_cache_bytes_budget'), 1_000_000);
  t.equal(value('chatring_user_lock_acquisitions_total'), 9);
  t.equal(value('chatring_user_lock_waits_total'), 2);
  t.equal(value('chatring_user_lock_refusals_total', { reason: 'waiters_full' }), 1);
  t.equal(value('chatring_lease_remaining_seconds'), 1.5);
  t.equal(value('chatring_lease_age_seconds'), 0.25);
  t.equal(value('chatring_lease_renewals_failed_total'), 3);
  t.equal(value('chatring_ring_epoch'), 7);
  t.equal(value('chatring_node_slots'), 1);
  t.equal(value('chatring_handoff_users_total', { event: 'released' }), 5);
  t.equal(value('chatring_handoff_warm_batches_total', { outcome: 'sent' }), 2);
  t.equal(value('chatring_handoff_warm_batches_total', { outcome: 'failed' }), 1);
  t.equal(value('chatring_repair_queue_depth'), 2);
  t.equal(value('chatring_feed_watchers'), 3);
  t.equal(value('chatring_feed_held_answers_total', { outcome: 'commit' }), 8);
  t.equal(value('chatring_feed_held_answers_total', { outcome: 'empty' }), 5);
  t.equal(value('chatring_feed_held_answers_total', { outcome: 'released' }), 2);
  t.equal(value('chatring_feed_held_answers_total', { outcome: 'refused' }), 1);
  t.equal(value('chatring_feed_store_replays_total'), 4);
  t.equal(value('chatring_store_figure_total', { figure: 'commits' }), 12);
  t.equal(value('chatring_store_figure', { figure: 'queued' }), 1);

  // Read again when scraped again: the sources' new figures, not a second count.
  sources.service.stats.cacheHits = 11;
  families = parsePrometheusText(await registry.metrics());
  t.equal(value('chatring_cache_hits_total'), 11);
  for (const sample of samplesOf(families))
    for (const labelValue of Object.values(sample.labels))
      t.notOk(['alice', 'bob', 'nobody'].includes(labelValue), `${sample.name}: no user id`);
});
