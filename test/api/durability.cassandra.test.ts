/**
 * On Cassandra (a real server, started by the test helper): the same suite as durability.test.ts.
 *
 * Nothing acknowledged is lost: a whole cluster stopped (SIGTERM, like Ctrl-C) and started again
 * on the same data dir serves every message; a node killed with SIGKILL is started again by the
 * launcher and serves its users from the store.
 */
import t from 'tap';
import { cassandraClusterBooter } from '../helpers/cluster-stores.js';
import { durabilitySuite } from './durability-suite.js';

await durabilitySuite(t, await cassandraClusterBooter(t, 'api_durability'));
