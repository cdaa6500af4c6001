/**
 * A child process for embedded-group-commit.test.ts: one more process writing the shared file.
 *   race <path> <owners,...> <rounds>: per owner (owners concurrently, one commit in flight per
 *     owner, as a cache node's per-user lock does) read the version and commit the next one,
 *     reloading after a conflict, once the test writes a line to stdin (all start together); prints one JSON line of what it committed and its stats.
 *   ack <path> <owners,...>: commits forever, owners concurrently, printing `ack <owner> <version>
 *     <peer> <clientMessageId>` once each commit resolved (is durable); the test kills it with SIGKILL.
 *     A commit that fails (its outcome unknown: the commit server died under it) is followed, as a
 *     cache node does, by reading the owner's version again, and prints `fail <owner>`.
 *   serve <path> <socket>: runs the file's commit server there, prints `listening`.
 * With COMMIT_SERVER=<socket> in the environment, race and ack commit through that commit server.
 */
import { randomUUID } from 'node:crypto';
import {
  EmbeddedCommitServer,
  EmbeddedStore,
  StoreVersionConflictError,
} from '../../store-adapter/index.js';
import { makeMessage, messageCommit } from './store-conformance.js';

const [mode, path, ownerList, roundsText] = process.argv.slice(2);
if (path === undefined || ownerList === undefined) throw new Error('usage: race|ack path owners');
if (mode === 'serve') {
  await EmbeddedCommitServer.listen({ databasePath: path, socketPath: ownerList });
  process.stdout.write('listening\n');
  await new Promise(() => {}); // until killed
}
const owners = ownerList.split(',');
const store = new EmbeddedStore({ path, commitServer: process.env.COMMIT_SERVER });
const peer = `peer-${randomUUID().slice(0, 8)}`;

if (mode === 'race') {
  const rounds = Number(roundsText);
  // Start together: say ready, wait for the test's go (a line on stdin).
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy();
  const committed: { owner: string; version: number; peer: string; clientMessageId: string }[] = [];
  let conflicts = 0;
  await Promise.all(
    owners.map(async (owner) => {
      for (let round = 0; round < rounds; round += 1) {
        for (;;) {
          const version = (await store.mailboxVersion(owner)) + 1;
          const message = makeMessage(peer, owner, Date.now() * 1000 + round);
          try {
            await store.commit(messageCommit(owner, version, message));
            committed.push({ owner, version, peer, clientMessageId: message.clientMessageId });
            break;
          } catch (error) {
            if (!(error instanceof StoreVersionConflictError)) throw error;
            conflicts += 1;
          }
        }
      }
    }),
  );
  process.stdout.write(`${JSON.stringify({ committed, conflicts, stats: store.stats() })}\n`);
  await store.close();
} else if (mode === 'ack') {
  let sentAt = 0;
  await Promise.all(
    owners.map(async (owner) => {
      for (let version = 1; ; version += 1) {
        sentAt += 1;
        const message = makeMessage(peer, owner, sentAt);
        try {
          await store.commit(messageCommit(owner, version, message));
        } catch {
          process.stdout.write(`fail ${owner}\n`);
          version = await store.mailboxVersion(owner);
          continue;
        }
        process.stdout.write(`ack ${owner} ${version} ${peer} ${message.clientMessageId}\n`);
      }
    }),
  );
} else {
  throw new Error(`unknown mode ${mode}`);
}
