/**
 * kill -9 of the coordinator between the two copies' commits of a send, on the embedded store: the
 * client's retry of the same send yields exactly one message in both mailboxes
 * (kill-between-commits-suite.ts; the Cassandra sibling adds the kills between intent and rows).
 */
import t from 'tap';
import { bootEmbeddedCluster } from '../helpers/cluster-stores.js';
import { KILL_BETWEEN_COPIES, killBetweenCommitsSuite } from './kill-between-commits-suite.js';

await killBetweenCommitsSuite(t, bootEmbeddedCluster, [KILL_BETWEEN_COPIES]);
