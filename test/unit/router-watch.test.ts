/**
 * The router's change-feed route, with a stand-in owner client (no nodes): the router checks the
 * query at its door, relays the watch with the owner allowed to hold it for waitMs (and marked
 * held), and a router that stops answers its held watches at once with the retryable
 * OWNER_UNAVAILABLE, instead of keeping its close waiting for them.
 */
import t from 'tap';
import type { AddressInfo } from 'node:net';
import { Agent, request as undiciRequest } from 'undici';
import { buildRouterServer } from '../../router/router-server.js';
import { MemberSigner, type OwnerClient, type OwnerRequest } from '../../transport/index.js';

t.test('watches are relayed with their hold; a stopping router answers them', async (t) => {
  const relayed: OwnerRequest[] = [];
  const owners = {
    relay: (_userId: string, ownerRequest: OwnerRequest) => {
      relayed.push(ownerRequest);
      // waitMs=0 is answered at once; a held watch waits for ever (the owner never answers).
      return ownerRequest.holdMs === 0
        ? Promise.resolve({ statusCode: 200, bytes: Buffer.from('{"changes":[],"cursor":"c"}') })
        : new Promise(() => undefined);
    },
  } as unknown as OwnerClient;
  const member = new MemberSigner('router-1', Buffer.alloc(32, 7));
  const app = buildRouterServer({
    owners,
    ring: () => undefined,
    access: { members: member.verifier(), appTokens: undefined, operatorTokens: undefined },
    http: {},
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  // Our own connections, closed before the router's close waits for idle keep-alive ones.
  const agent = new Agent();
  const request = (path: string) => undiciRequest(`${base}${path}`, { dispatcher: agent });
  t.teardown(async () => {
    if (!agent.closed) await agent.close();
    await app.close();
  });

  const refused = await request('/v1/users/bob/changes?waitMs=30001');
  t.equal(refused.statusCode, 400, 'the door checks waitMs');
  t.match(await refused.body.json(), { error: { code: 'INVALID_QUERY' } });
  t.equal(relayed.length, 0, 'a refused query reaches no owner');

  const now = await request('/v1/users/bob/changes');
  t.equal(now.statusCode, 200);
  t.same(await now.body.json(), { changes: [], cursor: 'c' }, "the owner's bytes, relayed");
  t.equal(relayed[0]?.holdMs, 0);

  const held = request('/v1/users/bob/changes?waitMs=30000');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(relayed[1]?.holdMs, 30_000, 'the owner may hold it for its waitMs');
  const closing = app.close();
  const answer = await held;
  t.equal(answer.statusCode, 503, 'a stopping router answers the held watch');
  t.match(await answer.body.json(), { error: { code: 'OWNER_UNAVAILABLE' } });
  await agent.close();
  await closing;
});
