/**
 * ChatringClient's timing options at their limits, without a cluster: each is accepted exactly at
 * its lower and upper bound and refused one step beyond either with INVALID_OPTION (naming the
 * option); a fraction is refused too. Constructing a client connects to nothing (proved below), so
 * a client built here needs no router to answer.
 */
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChatringClient } from '../../client/index.js';
import { TIMEOUT_MS_MAX } from '../../protocol/index.js';

/** No router listens on port 1: a client that tried to reach it would fail, not hang. */
const ROUTER_URLS = ['http://127.0.0.1:1'];

const LIMITS = {
  deadlineMs: { min: 0, max: TIMEOUT_MS_MAX },
  ringRefreshIntervalMs: { min: 0, max: 60_000 },
  attemptTimeoutMs: { min: 1, max: TIMEOUT_MS_MAX },
} as const;

type LimitedOption = keyof typeof LIMITS;

function build(name: LimitedOption, value: number): ChatringClient {
  return new ChatringClient({ routerUrls: ROUTER_URLS, [name]: value });
}

for (const [name, { min, max }] of Object.entries(LIMITS) as [
  LimitedOption,
  { min: number; max: number },
][]) {
  t.test(`${name}: ${min} and ${max} are accepted, one beyond either is refused`, async (t) => {
    for (const value of [min, max]) {
      const client = build(name, value);
      t.teardown(() => client.close());
      t.equal(client.options[name], value, `${value} accepted`);
    }
    for (const value of [min - 1, max + 1, min + 0.5]) {
      t.throws(
        () => build(name, value),
        { code: 'INVALID_OPTION', message: new RegExp(`"${name}"`) },
        `${value} refused`,
      );
    }
  });
}

t.test('constructing a client, even at every limit, connects to nothing', async (t) => {
  let connections = 0;
  const router = createServer((_request, response) => response.end());
  router.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => router.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => router.close(() => resolve())));
  const url = `http://127.0.0.1:${(router.address() as AddressInfo).port}`;
  for (const bound of ['min', 'max'] as const) {
    const client = new ChatringClient({
      routerUrls: [url],
      deadlineMs: LIMITS.deadlineMs[bound],
      ringRefreshIntervalMs: LIMITS.ringRefreshIntervalMs[bound],
      attemptTimeoutMs: LIMITS.attemptTimeoutMs[bound],
    });
    await client.close();
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(connections, 0, 'no connection was opened');
});
