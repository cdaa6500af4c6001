/**
 * The store conformance suite on the Cassandra store (against a real Cassandra), plus what only
 * it promises: options are validated and name the bad key; two stores (two cache node processes)
 * fence each other through the mailbox LWT; bucket widths cannot change under existing data; and a
 * Cassandra that cannot be reached surfaces as STORE_UNAVAILABLE, never as a hang or a raw driver
 * error.
 */
import t from 'tap';
import net from 'node:net';
import { conversationIdOf } from '../../protocol/index.js';
import {
  openCassandraStore,
  parseCassandraOptions,
  StoreVersionConflictError,
} from '../../store-adapter/index.js';
import { cassandraTestKeyspace } from '../helpers/cassandra.js';
import { freshUser, makeMessage, messageCommit, runStoreConformance } from './store-conformance.js';

t.test('options: defaults are filled in and the result is frozen, deeply', async (t) => {
  const options = parseCassandraOptions({ contactPoints: '10.0.0.1:9042, 10.0.0.2:9043' });
  t.same(
    options.contactPoints,
    ['10.0.0.1:9042', '10.0.0.2:9043'],
    'a comma-separated string is accepted',
  );
  t.equal(options.keyspace, 'chatring');
  t.equal(options.localDataCenter, 'datacenter1');
  t.equal(options.readConsistency, 'QUORUM');
  t.equal(options.serialConsistency, 'SERIAL');
  t.equal(options.messageBucketMs, 30 * 24 * 60 * 60 * 1000);
  t.ok(
    Object.isFrozen(options) &&
      Object.isFrozen(options.replication) &&
      Object.isFrozen(options.contactPoints),
  );
  const networked = parseCassandraOptions({
    localDataCenter: 'eu-west',
    replication: { class: 'NetworkTopologyStrategy', dataCenters: { 'eu-west': 3, 'us-east': 3 } },
    tls: { caFile: '/etc/ssl/cassandra-ca.pem' },
    username: 'chatring',
    password: 'secret',
  });
  t.same(networked.tls, { rejectUnauthorized: true, caFile: '/etc/ssl/cassandra-ca.pem' });
  t.ok(
    Object.isFrozen(
      networked.replication.class === 'NetworkTopologyStrategy' &&
        networked.replication.dataCenters,
    ),
  );
});

t.test('options: an unknown key or a bad value fails with an error naming the key', async (t) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ contactPoint: ['127.0.0.1:9042'] }, /"contactPoint" is unknown/],
    [{ contactPoints: [] }, /"contactPoints" must be a non-empty array/],
    [{ contactPoints: ['127.0.0.1:9042', 'nohost'] }, /"contactPoints\[1\]" must be "host:port"/],
    [{ contactPoints: ['127.0.0.1:70000'] }, /"contactPoints\[0\]"/],
    [{ keyspace: 'Chat-Ring' }, /"keyspace" must be a keyspace name/],
    [
      { replication: { class: 'SimpleStrategy', replicationFactor: 0 } },
      /"replication.replicationFactor" must be an integer/,
    ],
    [
      { replication: { class: 'SimpleStrategy', replicationFactor: 3, extra: 1 } },
      /"replication.extra" is unknown/,
    ],
    [{ replication: { class: 'EverywhereStrategy' } }, /"replication.class" must be/],
    [
      { replication: { class: 'NetworkTopologyStrategy', dataCenters: { dc1: 'three' } } },
      /"replication.dataCenters.dc1"/,
    ],
    [
      { replication: { class: 'NetworkTopologyStrategy', dataCenters: { dc1: 3 } } },
      /"localDataCenter" \("datacenter1"\) is not one of/,
    ],
    [{ readConsistency: 'ONE' }, /"readConsistency" must be one of QUORUM, LOCAL_QUORUM, ALL/],
    [{ serialConsistency: 'QUORUM' }, /"serialConsistency"/],
    [{ tls: { caFile: '' } }, /"tls.caFile" must be a non-empty string/],
    [{ tls: { verify: true } }, /"tls.verify" is unknown/],
    [{ requestTimeoutMs: 1.5 }, /"requestTimeoutMs" must be an integer/],
    [
      { requestTimeoutMs: 1000, attemptTimeoutMs: 2000 },
      /"attemptTimeoutMs" \(2000\) must not exceed "requestTimeoutMs"/,
    ],
    [{ messageBucketMs: 0 }, /"messageBucketMs"/],
    [{ versionsPerBucket: '100' }, /"versionsPerBucket" must be an integer/],
    [{ username: 'chatring' }, /"password" is required/],
  ];
  for (const [raw, message] of cases)
    t.throws(() => parseCassandraOptions(raw), message, JSON.stringify(raw));
});

const cluster = await cassandraTestKeyspace(t, 'store');

runStoreConformance(t, {
  name: 'cassandra',
  open: () => openCassandraStore(cluster.storeOptions()),
});

t.test(
  'two stores on one keyspace (two cache node processes) see and fence each other',
  async (t) => {
    const [first, second] = await Promise.all([
      openCassandraStore(cluster.storeOptions()),
      openCassandraStore(cluster.storeOptions()),
    ]);
    t.teardown(async () => {
      await Promise.all([first.close(), second.close()]);
    });
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    const outcomes = await Promise.allSettled([
      first.commit(messageCommit(alice, 1, makeMessage(alice, bob, 1))),
      second.commit(messageCommit(alice, 1, makeMessage(alice, bob, 2))),
    ]);
    const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
    t.equal(rejected.length, 1, 'exactly one of two racing writers of version 1 wins');
    t.type(rejected[0]?.reason, StoreVersionConflictError);
    t.equal(await second.mailboxVersion(alice), 1);
    t.equal(await first.mailboxVersion(alice), 1);
    t.equal(
      (await first.messagesPage(alice, conversationIdOf(alice, bob), { limit: 10 })).length,
      1,
      'only the winner is stored',
    );
  },
);

t.test('bucket widths are fixed once the keyspace exists', async (t) => {
  await t.rejects(
    openCassandraStore(cluster.storeOptions({ messageBucketMs: 60_000 })),
    /"messageBucketMs" is 60000 but keyspace/,
  );
  await t.rejects(
    openCassandraStore(cluster.storeOptions({ versionsPerBucket: 7 })),
    /"versionsPerBucket" is 7 but keyspace/,
  );
});

t.test('a Cassandra nobody answers on is STORE_UNAVAILABLE at open', async (t) => {
  const port = await unusedPort();
  await t.rejects(
    openCassandraStore({ ...cluster.storeOptions(), contactPoints: [`127.0.0.1:${port}`] }),
    {
      code: 'STORE_UNAVAILABLE',
    },
  );
});

t.test(
  'a Cassandra that goes away mid-life is STORE_UNAVAILABLE (the deadline ends each call)',
  async (t) => {
    const [target] = cluster.contactPoints;
    if (target === undefined) throw new Error('no contact point');
    const proxy = await startProxy(target);
    t.teardown(() => proxy.close());
    const store = await openCassandraStore(
      cluster.storeOptions({
        contactPoints: [`127.0.0.1:${proxy.port}`],
        requestTimeoutMs: 3_000,
        attemptTimeoutMs: 2_000,
      }),
    );
    t.teardown(() => store.close());
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    await store.commit(messageCommit(alice, 1, makeMessage(alice, bob, 1)));
    proxy.close();
    await t.rejects(store.commit(messageCommit(alice, 2, makeMessage(alice, bob, 2))), {
      code: 'STORE_UNAVAILABLE',
    });
    await t.rejects(store.mailboxVersion(alice), { code: 'STORE_UNAVAILABLE' });
  },
);

t.test('a closed store refuses with STORE_UNAVAILABLE', async (t) => {
  const store = await openCassandraStore(cluster.storeOptions());
  await store.close();
  await t.rejects(store.mailboxVersion(freshUser('a')), { code: 'STORE_UNAVAILABLE' });
  await store.close();
});

async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP proxy in front of Cassandra; close() drops every connection and stops listening. */
async function startProxy(target: string): Promise<{ port: number; close(): void }> {
  const separator = target.lastIndexOf(':');
  const host = target.slice(0, separator).replace(/^\[|\]$/g, '');
  const targetPort = Number(target.slice(separator + 1));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    close() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
