/**
 * Reading through a real local cluster: pagination without overlap or gap, conversations by last
 * activity, the timestamp delta, the gapless cursor (including a late delivery whose sentAt is
 * older than what the client saw), unread counts and mark-read.
 */
import t from 'tap';
import { bootEmbeddedCluster } from '../helpers/cluster-stores.js';
import { readSuite } from './read-suite.js';

await readSuite(t, bootEmbeddedCluster);
