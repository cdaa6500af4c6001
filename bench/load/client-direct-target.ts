/**
 * The client-direct targets: the load goes through the ring-aware client (client/, `mode:
 * 'direct'`): it reads the ring from the router, then sends each call straight to its owner with
 * the ring epoch, as an app using the client would. The harness's clientApi turns its answers into
 * the ApiClient shape (a failure, a ChatringError, into its status and code), so the load counts
 * them like any other target's. The client parses every answer: that CPU is the load generator's.
 */
import { ChatringClient } from '../../client/index.js';
import { clientApi } from '../../harness/index.js';
import { callOperation } from '../lib/operation-call.js';
import type { LoadTarget } from './load-results.js';
import { settings } from './load-settings.js';

/** The client of a cluster whose router is at `routerUrl`. */
export function clientDirectTarget(routerUrl: string, appToken?: string): LoadTarget {
  const client = new ChatringClient({
    routerUrls: [routerUrl],
    mode: 'direct',
    connectionsPerNode: settings.concurrency,
    attemptTimeoutMs: settings.timeoutMs,
    ...(appToken === undefined ? {} : { appToken }),
  });
  // Measured, not checked: the router targets validate nothing either (success bodies unparsed),
  // and validating every answer against the OpenAPI document would tilt the comparison.
  const api = clientApi(client, { validateResponses: false });
  return {
    call: (operation) => callOperation(api, operation, settings.pageSize),
    close: () => client.close(),
  };
}
