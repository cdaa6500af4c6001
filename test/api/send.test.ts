/**
 * Sending through a real local cluster (router + 3 nodes + standby, separate processes): idempotent
 * retries, ordering, concurrency between two users, and every bad input refused with its code and
 * nothing stored.
 */
import t from 'tap';
import { bootEmbeddedCluster } from '../helpers/cluster-stores.js';
import { sendSuite } from './send-suite.js';

await sendSuite(t, bootEmbeddedCluster);
