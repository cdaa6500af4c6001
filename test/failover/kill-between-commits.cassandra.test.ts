/**
 * On Cassandra (a real server, started by the test helper): kill -9 of the coordinator between the
 * two copies' commits of a send, and of each copy's owner between its commit's intent and its rows
 * (the higher id's owner at the delivered copy, the coordinator at its own). Each time the client's
 * retry of the same send yields exactly one message in both mailboxes (kill-between-commits-suite.ts).
 */
import t from 'tap';
import { cassandraClusterBooter } from '../helpers/cluster-stores.js';
import {
  KILL_AFTER_COORDINATOR_COPY_INTENT,
  KILL_AFTER_DELIVERED_COPY_INTENT,
  KILL_BETWEEN_COPIES,
  killBetweenCommitsSuite,
} from './kill-between-commits-suite.js';

await killBetweenCommitsSuite(t, await cassandraClusterBooter(t, 'kill_commits'), [
  KILL_BETWEEN_COPIES,
  KILL_AFTER_DELIVERED_COPY_INTENT,
  KILL_AFTER_COORDINATOR_COPY_INTENT,
]);
