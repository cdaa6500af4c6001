/**
 * Nothing acknowledged is lost: a whole cluster stopped (SIGTERM, like Ctrl-C) and started again
 * on the same data dir serves every message; a node killed with SIGKILL is started again by the
 * launcher and serves its users from the store.
 */
import t from 'tap';
import { bootEmbeddedCluster } from '../helpers/cluster-stores.js';
import { durabilitySuite } from './durability-suite.js';

await durabilitySuite(t, bootEmbeddedCluster);
