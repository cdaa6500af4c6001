/**
 * The embedded store's commit server (store-adapter/embedded/commit-server.ts): the one writer of a
 * file shared by several processes. The store's contract holds through it (the conformance suite);
 * processes racing through it lose and double nothing and share its transactions; killing it (or a
 * process using it) with SIGKILL loses no acknowledged commit, and the processes go on writing the
 * file themselves; a peer speaking anything else is cut off alone.
 */
import t, { type Test } from 'tap';
import { TIMEOUT_MS_MAX } from '../../protocol/index.js';
import { statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { commitServerSocketPath } from '../../cli/local-cluster.js';
import {
  EmbeddedCommitServer,
  EmbeddedStore,
  StoreVersionConflictError,
  type StoreStats,
} from '../../store-adapter/index.js';
import { COMMIT_SERVER_RETRY_MS } from '../../store-adapter/embedded/commit-client.js';
import { COMMIT_FRAME_CHARS_MAX, LineSplitter } from '../../store-adapter/embedded/commit-wire.js';
import { spawnTypeScript } from '../helpers/typescript-child.js';
import { freshUser, makeMessage, messageCommit, runStoreConformance } from './store-conformance.js';

const directory = t.testdir();
const CHILD = fileURLToPath(new URL('./embedded-writer-child.ts', import.meta.url));

function spawnChild(args: string[], commitServer?: string) {
  const env = {
    ...process.env,
    ...(commitServer === undefined ? {} : { COMMIT_SERVER: commitServer }),
  };
  return spawnTypeScript(CHILD, args, { env });
}

async function serverFor(t: Test, name: string) {
  const databasePath = join(directory, `${name}.sqlite`);
  const server = await EmbeddedCommitServer.listen({
    databasePath,
    socketPath: join(directory, `${name}.sock`),
  });
  t.teardown(() => server.close());
  return { server, databasePath };
}

t.test('the store conformance suite, every commit through a commit server', async (t) => {
  const { server, databasePath } = await serverFor(t, 'conformance');
  runStoreConformance(t, {
    name: 'embedded via commit server',
    open: async () => new EmbeddedStore({ path: databasePath, commitServer: server.socketPath }),
  });
});

t.test('the socket is the owner’s alone: whoever connects can write the file', async (t) => {
  const { server } = await serverFor(t, 'mode');
  t.equal(statSync(server.socketPath).mode & 0o777, 0o600);
});

t.test('a conflict and a re-sent commit come back as they would locally', async (t) => {
  const { server, databasePath } = await serverFor(t, 'outcomes');
  const store = new EmbeddedStore({ path: databasePath, commitServer: server.socketPath });
  t.teardown(() => store.close());
  const [alice, bob] = [freshUser('a'), freshUser('b')];
  const first = messageCommit(alice, 1, makeMessage(alice, bob, 1));
  await store.commit(first);
  await store.commit(first); // the same commitId again: a no-op success
  const error = await store.commit(messageCommit(alice, 1, makeMessage(alice, bob, 2))).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  t.ok(error instanceof StoreVersionConflictError, 'a StoreVersionConflictError, as locally');
  t.match(error, {
    code: 'STORE_VERSION_CONFLICT',
    ownerId: alice,
    expectedVersion: 0,
    storedVersion: 1,
  });
  t.match(store.stats().counters, {
    commits: 3,
    commitsViaServer: 3,
    commitsApplied: 1,
    commitsResent: 1,
    conflicts: 1,
    commitsFailed: 0,
    lockBusy: 0,
  });
  t.equal(await store.mailboxVersion(alice), 1);
});

interface RaceResult {
  committed: { owner: string; version: number; peer: string; clientMessageId: string }[];
  stats: StoreStats;
}

t.test(
  'three processes racing through one commit server: every version once, none lost, one share of each transaction',
  async (t) => {
    const { server, databasePath } = await serverFor(t, 'race');
    const owners = Array.from({ length: 8 }, () => freshUser('race'));
    const rounds = 40;
    const children = Array.from({ length: 3 }, () =>
      spawnChild(['race', databasePath, owners.join(','), String(rounds)], server.socketPath),
    );
    const outputs = children.map((child) => ({
      lines: createInterface({ input: child.stdout })[Symbol.asyncIterator](),
      exited: new Promise<number | null>((resolve) => child.on('exit', resolve)),
    }));
    for (const { lines } of outputs) t.equal((await lines.next()).value, 'ready');
    for (const child of children) child.stdin.end('go\n');
    const results = await Promise.all(
      outputs.map(async ({ lines, exited }) => {
        const line = await lines.next();
        t.equal(await exited, 0, 'the racing process finished');
        return JSON.parse(String(line.value)) as RaceResult;
      }),
    );
    const store = new EmbeddedStore({ path: databasePath });
    t.teardown(() => store.close());
    const acknowledged = new Set<string>();
    for (const { committed } of results)
      for (const { owner, version, peer, clientMessageId } of committed) {
        t.notOk(acknowledged.has(`${owner}@${version}`), `${owner}@${version} acknowledged once`);
        acknowledged.add(`${owner}@${version}`);
        t.equal((await store.messageByClientId(owner, peer, clientMessageId))?.version, version);
      }
    for (const owner of owners) t.equal(await store.mailboxVersion(owner), 3 * rounds);
    const sum = (name: string) =>
      results.reduce((total, { stats }) => total + (stats.counters[name] ?? 0), 0);
    t.equal(sum('commitsViaServer'), sum('commits'), 'every commit went through the server');
    const serverCounters = server.stats().counters;
    t.equal(sum('commits'), serverCounters.commits, 'the server saw each commit once');
    t.ok(
      Math.abs(sum('transactions') - serverCounters.transactions) < 1e-6,
      `the processes' shares add up to the server's ${serverCounters.transactions} transactions`,
    );
    t.ok(
      serverCounters.transactions < serverCounters.commits,
      `${serverCounters.commits} commits in ${serverCounters.transactions} transactions`,
    );
    t.equal(serverCounters.lockBusy, 0, 'one writer: the lock was never found held');
  },
);

t.test(
  'kill -9 of a process and then of the commit server: no acknowledged commit lost, the others write the file themselves',
  async (t) => {
    const databasePath = join(directory, 'crash.sqlite');
    const socketPath = join(directory, 'crash.sock');
    const server = spawnChild(['serve', databasePath, socketPath]);
    const serverLines = createInterface({ input: server.stdout })[Symbol.asyncIterator]();
    t.equal((await serverLines.next()).value, 'listening');
    const owners = [0, 1].map(() => Array.from({ length: 4 }, () => freshUser('crash')));
    const writers = owners.map((list) =>
      spawnChild(['ack', databasePath, list.join(',')], socketPath),
    );
    const acks: { owner: string; version: number; peer: string; clientMessageId: string }[] = [];
    let fails = 0;
    const afterServerKill = { acks: 0 };
    let serverKilled = false;
    const killed = (child: ReturnType<typeof spawnChild>) =>
      new Promise<NodeJS.Signals | null>((resolve) =>
        child.exitCode !== null || child.signalCode !== null
          ? resolve(child.signalCode)
          : child.once('exit', (_code, signal) => resolve(signal)),
      );
    await new Promise<void>((resolve) => {
      for (const writer of writers)
        createInterface({ input: writer.stdout }).on('line', (line) => {
          const [word, owner, version, peer, clientMessageId] = line.split(' ');
          if (word === 'fail') fails += 1;
          if (word !== 'ack' || owner === undefined || peer === undefined) return;
          acks.push({
            owner,
            version: Number(version),
            peer,
            clientMessageId: clientMessageId ?? '',
          });
          if (acks.length === 200) writers[0]?.kill('SIGKILL');
          if (acks.length === 400 && !serverKilled) {
            serverKilled = true;
            server.kill('SIGKILL');
          }
          if (serverKilled && writer === writers[1]) {
            afterServerKill.acks += 1;
            if (afterServerKill.acks === 200) resolve();
          }
        });
    });
    writers[1]?.kill('SIGKILL');
    t.equal(await killed(server), 'SIGKILL');
    for (const writer of writers) t.equal(await killed(writer), 'SIGKILL');
    t.comment(`${acks.length} acknowledged, ${fails} of unknown outcome when the server died`);
    t.ok(afterServerKill.acks >= 200, 'the surviving process committed on without the server');
    const store = new EmbeddedStore({ path: databasePath });
    t.teardown(() => store.close());
    let missing = 0;
    const seen = new Set<string>();
    for (const { owner, version, peer, clientMessageId } of acks) {
      t.notOk(seen.has(`${owner}@${version}`), `${owner}@${version} acknowledged once`);
      seen.add(`${owner}@${version}`);
      if ((await store.messageByClientId(owner, peer, clientMessageId))?.version !== version)
        missing += 1;
    }
    t.equal(missing, 0, `all ${acks.length} acknowledged commits are in the file`);
    for (const owner of owners.flat()) {
      const acked = Math.max(0, ...acks.filter((a) => a.owner === owner).map((a) => a.version));
      t.ok((await store.mailboxVersion(owner)) >= acked, `${owner} at least at its last ack`);
    }
  },
);

t.test('a peer that does not speak the protocol is cut off; the others are served', async (t) => {
  const { server, databasePath } = await serverFor(t, 'garbage');
  const store = new EmbeddedStore({ path: databasePath, commitServer: server.socketPath });
  t.teardown(() => store.close());
  const peer = connect(server.socketPath);
  const closed = new Promise((resolve) => peer.on('close', resolve));
  peer.on('error', () => {});
  peer.write('this is not json\n');
  await closed;
  const [alice, bob] = [freshUser('a'), freshUser('b')];
  await store.commit(messageCommit(alice, 1, makeMessage(alice, bob, 1)));
  t.equal(await store.mailboxVersion(alice), 1);
  t.equal(store.stats().counters.commitsViaServer, 1);
});

t.test(
  'an answer that is not the protocol fails the commit as of unknown outcome; the process lives on',
  async (t) => {
    const socketPath = join(directory, 'liar.sock');
    // It answers the ping as a server would (so commits are sent to it), and commits with nonsense.
    const liar = createServer((socket) => {
      const lines = new LineSplitter(COMMIT_FRAME_CHARS_MAX, (line) => {
        const { i, c } = JSON.parse(line) as { i: number; c?: unknown };
        socket.write(c === undefined ? `{"i":${i},"k":"pong"}\n` : 'nonsense\n');
      });
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => lines.push(chunk));
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => liar.listen(socketPath, resolve));
    t.teardown(() => new Promise((resolve) => liar.close(resolve)));
    const store = new EmbeddedStore({
      path: join(directory, 'liar.sqlite'),
      commitServer: socketPath,
    });
    t.teardown(() => store.close());
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    await t.rejects(store.commit(messageCommit(alice, 1, makeMessage(alice, bob, 1))), {
      message: /outcome is unknown/,
    });
    t.equal(await store.mailboxVersion(alice), 0, 'nothing was written');
    t.match(store.stats().counters, { commitsFailed: 1, commitsApplied: 0 });
  },
);

/** A stand-in commit server answering pings at once and every commit "applied" after `delayMs`
 * (never: undefined). */
async function slowServer(t: Test, name: string, delayMs: number | undefined) {
  const socketPath = join(directory, `${name}.sock`);
  const server = createServer((socket) => {
    const lines = new LineSplitter(COMMIT_FRAME_CHARS_MAX, (line) => {
      const { i, c } = JSON.parse(line) as { i: number; c?: unknown };
      if (c === undefined) socket.write(`{"i":${i},"k":"pong"}\n`);
      else if (delayMs !== undefined)
        setTimeout(() => socket.write(`{"i":${i},"k":"applied","r":[1,0,0]}\n`), delayMs);
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => lines.push(chunk));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return socketPath;
}

t.test(
  'commitServerTimeoutMs: answered inside it is a commit; unanswered, the commit fails at it and the next ones are written here',
  async (t) => {
    // Wide margins: the stand-in shares this process, so a stall of the test process (a loaded CI
    // box) runs the timeout timer before the answer already waiting on the socket is read.
    const TIMEOUT_MS = 1_000;
    const inside = new EmbeddedStore({
      path: join(directory, 'timeout-inside.sqlite'),
      commitServer: await slowServer(t, 'slow', 100),
      commitServerTimeoutMs: TIMEOUT_MS,
    });
    t.teardown(() => inside.close());
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    await inside.commit(messageCommit(alice, 1, makeMessage(alice, bob, 1)));
    t.match(inside.stats().counters, { commitsViaServer: 1, commitServerTimeouts: 0 });

    const store = new EmbeddedStore({
      path: join(directory, 'timeout-past.sqlite'),
      commitServer: await slowServer(t, 'mute', undefined),
      commitServerTimeoutMs: TIMEOUT_MS,
    });
    t.teardown(() => store.close());
    const started = performance.now();
    await t.rejects(store.commit(messageCommit(alice, 1, makeMessage(alice, bob, 2))), {
      message: /outcome is unknown/,
    });
    const elapsedMs = performance.now() - started;
    t.ok(
      elapsedMs >= TIMEOUT_MS - 20 && elapsedMs < TIMEOUT_MS + 2_000,
      `failed at the timeout: ${Math.round(elapsedMs)} ms`,
    );
    await store.commit(messageCommit(bob, 1, makeMessage(alice, bob, 3)));
    t.equal(await store.mailboxVersion(bob), 1, 'the next commit was written here');
    t.match(store.stats().counters, {
      commitServerTimeouts: 1,
      commitsViaServer: 1,
      commitsApplied: 1,
    });
  },
);

t.test(
  'a paused commit server (SIGSTOP): what was in flight fails at the timeout, once; later commits never wait for it; after SIGCONT they go through it again',
  async (t) => {
    // The first commit needs the fresh server's ping and commit (an fsync) answered inside it, and
    // every local commit of the pause must stay under it: a second leaves a loaded box room.
    const TIMEOUT_MS = 1_000;
    const databasePath = join(directory, 'paused.sqlite');
    const socketPath = join(directory, 'paused.sock');
    const server = spawnChild(['serve', databasePath, socketPath]);
    t.teardown(() => {
      server.kill('SIGCONT');
      server.kill('SIGKILL');
    });
    const serverLines = createInterface({ input: server.stdout })[Symbol.asyncIterator]();
    t.equal((await serverLines.next()).value, 'listening');
    const store = new EmbeddedStore({
      path: databasePath,
      commitServer: socketPath,
      commitServerTimeoutMs: TIMEOUT_MS,
    });
    t.teardown(() => store.close());
    const peer = freshUser('peer');
    const committed: string[] = [];
    const commitOne = async (prefix: string) => {
      const owner = freshUser(prefix);
      await store.commit(messageCommit(owner, 1, makeMessage(owner, peer, 1)));
      committed.push(owner);
    };
    await commitOne('before');
    t.match(store.stats().counters, { commitsViaServer: 1, commitServerTimeouts: 0 });

    server.kill('SIGSTOP');
    await t.rejects(commitOne('in-flight'), { message: /outcome is unknown/ });
    t.match(store.stats().counters, { commitsViaServer: 2, commitServerTimeouts: 1 });
    // Long enough for the server to be asked again more than once (a probe COMMIT_SERVER_RETRY_MS
    // after each loss, unanswered for TIMEOUT_MS): each time its socket accepts (the kernel does)
    // and its ping goes unanswered.
    const pauseEnds = performance.now() + 3 * COMMIT_SERVER_RETRY_MS + TIMEOUT_MS / 2;
    let duringPause = 0;
    let slowestMs = 0;
    while (performance.now() < pauseEnds) {
      const started = performance.now();
      await commitOne('paused');
      slowestMs = Math.max(slowestMs, performance.now() - started);
      duringPause += 1;
      await sleep(20);
    }
    t.match(
      store.stats().counters,
      { commitsViaServer: 2, commitServerTimeouts: 1 },
      `the ${duringPause} commits of the pause were written here, none sent to the paused server`,
    );
    t.ok(
      slowestMs < TIMEOUT_MS,
      `none waited for the server's timeout (slowest ${Math.round(slowestMs)} ms)`,
    );

    server.kill('SIGCONT');
    // The server is asked again within COMMIT_SERVER_RETRY_MS and takes the commits from then on.
    const resumed = performance.now();
    while (store.stats().counters.commitsViaServer === 2) {
      if (performance.now() - resumed > 10 * COMMIT_SERVER_RETRY_MS) break;
      await commitOne('resumed');
      await sleep(20);
    }
    t.ok(store.stats().counters.commitsViaServer > 2, 'commits go through the server again');
    let missing = 0;
    for (const owner of committed) if ((await store.mailboxVersion(owner)) !== 1) missing += 1;
    t.equal(missing, 0, `all ${committed.length} acknowledged commits are in the file`);
  },
);

t.test(
  'a server that never answers the opening ping is not sent a commit: the first one is written here at the timeout',
  async (t) => {
    const TIMEOUT_MS = 1_000;
    const socketPath = join(directory, 'deaf.sock');
    // Reads everything (so it sees the client hang up) and answers nothing.
    const deaf = createServer((socket) => socket.on('error', () => {}).resume());
    await new Promise<void>((resolve) => deaf.listen(socketPath, resolve));
    t.teardown(() => new Promise((resolve) => deaf.close(resolve)));
    const store = new EmbeddedStore({
      path: join(directory, 'deaf.sqlite'),
      commitServer: socketPath,
      commitServerTimeoutMs: TIMEOUT_MS,
    });
    t.teardown(() => store.close());
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    const started = performance.now();
    await store.commit(messageCommit(alice, 1, makeMessage(alice, bob, 1)));
    const elapsedMs = performance.now() - started;
    t.ok(
      elapsedMs >= TIMEOUT_MS - 20 && elapsedMs < TIMEOUT_MS + 2_000,
      `waited for the ping up to the timeout, then wrote here: ${Math.round(elapsedMs)} ms`,
    );
    t.equal(await store.mailboxVersion(alice), 1);
    t.match(store.stats().counters, {
      commitsViaServer: 0,
      commitServerTimeouts: 0,
      commitsApplied: 1,
    });
    const next = performance.now();
    await store.commit(messageCommit(bob, 1, makeMessage(alice, bob, 2)));
    t.ok(
      performance.now() - next < TIMEOUT_MS,
      'the next commit does not wait for the server again',
    );
  },
);

t.test('commitServer and commitServerTimeoutMs are checked at their limits', async (t) => {
  const path = join(directory, 'option-limits.sqlite');
  for (const commitServerTimeoutMs of [0, TIMEOUT_MS_MAX + 1, 1.5])
    t.throws(() => new EmbeddedStore({ path, commitServerTimeoutMs }), { code: 'INVALID_OPTION' });
  t.throws(() => new EmbeddedStore({ path, commitServer: '' }), { code: 'INVALID_OPTION' });
  for (const commitServerTimeoutMs of [1, TIMEOUT_MS_MAX]) {
    const store = new EmbeddedStore({ path, commitServer: 'x.sock', commitServerTimeoutMs });
    await store.close();
  }
  t.pass('1 and TIMEOUT_MS_MAX accepted');
});

t.test('a frame is refused past COMMIT_FRAME_CHARS_MAX, not at it', async (t) => {
  const lines: string[] = [];
  const splitter = new LineSplitter(COMMIT_FRAME_CHARS_MAX, (line) => lines.push(line));
  t.ok(splitter.push('a'.repeat(COMMIT_FRAME_CHARS_MAX)), 'an unfinished line at the limit');
  t.ok(splitter.push('\nb'), 'ended: it is delivered whole');
  t.same(lines, ['a'.repeat(COMMIT_FRAME_CHARS_MAX)]);
  const over = new LineSplitter(COMMIT_FRAME_CHARS_MAX, () => {});
  t.notOk(over.push('a'.repeat(COMMIT_FRAME_CHARS_MAX + 1)), 'one past the limit: refused');
  const split = new LineSplitter(100, (line) => lines.push(line));
  t.ok(split.push('{"i":1'));
  t.ok(split.push('}\n{"i":2}\n{"i"'));
  t.same(lines.slice(1), ['{"i":1}', '{"i":2}'], 'lines across chunks');
});

t.test(
  'a data directory too long for a Unix socket puts the socket in the temporary directory',
  async (t) => {
    t.equal(commitServerSocketPath('/data/chatring'), '/data/chatring/commit-server.sock');
    const long = `/data/${'d'.repeat(120)}`;
    const path = commitServerSocketPath(long);
    t.notOk(path.startsWith(long));
    t.ok(Buffer.byteLength(path) <= 100, path);
    t.equal(commitServerSocketPath(long), path, 'the same directory, the same socket');
  },
);
