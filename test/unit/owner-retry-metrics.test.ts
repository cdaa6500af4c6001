/**
 * OwnerClient counts every retry by the reason its failed attempt gave, against a real HTTP node
 * stand-in on loopback: NOT_OWNER is `wrong_owner`, OWNER_UNAVAILABLE `unavailable`, an owner that
 * does not answer within the attempt timeout `timeout`, a ring with no node for the user
 * `no_owner`; the call that then succeeds is not a retry, and a call that gives up counts only the
 * retries it made. `chatring_owner_retries_total{reason}` shows the same numbers, every reason
 * present from the start.
 */
import t, { type Test } from 'tap';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { OwnerClient } from '../../transport/owner-client.js';
import {
  ownerRetryMetrics,
  parsePrometheusText,
  sampleSum,
  type OwnerRetryReason,
} from '../../transport/metrics/index.js';
import { ringTo } from '../helpers/one-slot-ring.js';

type Answer = 'not-owner' | 'unavailable' | 'silent' | 'ok';

/** A node stand-in that gives the answers in order (the last one from then on). */
async function scriptedNode(t: Test, answers: readonly Answer[]): Promise<string> {
  let next = 0;
  const silent: ServerResponse[] = [];
  const server = createServer((_request, response) => {
    const answer = answers[Math.min(next, answers.length - 1)];
    next += 1;
    const refuse = (status: number, code: string) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code, message: 'scripted' } }));
    };
    if (answer === 'not-owner') refuse(421, 'NOT_OWNER');
    else if (answer === 'unavailable') refuse(503, 'OWNER_UNAVAILABLE');
    else if (answer === 'silent') silent.push(response);
    else {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"ok":true}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const response of silent) response.destroy();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

t.test('each retry is counted by its failed attempt’s reason', async (t) => {
  const url = await scriptedNode(t, ['not-owner', 'unavailable', 'silent', 'ok']);
  const ring = ringTo(url);
  const registry = new Registry();
  const countRetry = ownerRetryMetrics(registry);
  const reasons: OwnerRetryReason[] = [];
  let ringShown = false;
  const client = new OwnerClient(
    // The first look-up finds no ring at all: a no_owner retry.
    () => (ringShown ? ring : ((ringShown = true), undefined)),
    async () => undefined,
    {
      attemptTimeoutMs: 200,
      retryBudgetMs: 20_000,
      onRetry: (reason) => {
        reasons.push(reason);
        countRetry(reason);
      },
    },
  );
  t.teardown(() => client.close());
  const answer = await client.relay('alice', { method: 'GET', path: '/x' });
  t.equal(answer.statusCode, 200);
  t.same(reasons, ['no_owner', 'wrong_owner', 'unavailable', 'timeout']);
  const families = parsePrometheusText(await registry.metrics());
  for (const reason of ['no_owner', 'wrong_owner', 'unavailable', 'timeout'])
    t.equal(sampleSum(families, 'chatring_owner_retries_total', { reason }), 1, reason);
});

t.test('a call that succeeds at once, or gives up, counts only the retries made', async (t) => {
  const okUrl = await scriptedNode(t, ['ok']);
  const refusingUrl = await scriptedNode(t, ['unavailable']);
  const registry = new Registry();
  const countRetry = ownerRetryMetrics(registry);
  let retries = 0;
  const onRetry = (reason: OwnerRetryReason) => {
    retries += 1;
    countRetry(reason);
  };
  const ok = new OwnerClient(
    () => ringTo(okUrl),
    async () => undefined,
    { onRetry },
  );
  t.teardown(() => ok.close());
  await ok.call('alice', { method: 'GET', path: '/x' });
  t.equal(retries, 0, 'no retry');
  let families = parsePrometheusText(await registry.metrics());
  t.equal(sampleSum(families, 'chatring_owner_retries_total'), 0);
  t.equal(
    families.get('chatring_owner_retries_total')?.samples.length,
    4,
    'every reason shown from the start',
  );

  const refusing = new OwnerClient(
    () => ringTo(refusingUrl),
    async () => undefined,
    { retryBudgetMs: 200, onRetry },
  );
  t.teardown(() => refusing.close());
  await t.rejects(refusing.call('alice', { method: 'GET', path: '/x' }), {
    code: 'OWNER_UNAVAILABLE',
  });
  t.ok(retries > 0, `retried ${retries} times`);
  families = parsePrometheusText(await registry.metrics());
  t.equal(sampleSum(families, 'chatring_owner_retries_total', { reason: 'unavailable' }), retries);
});
