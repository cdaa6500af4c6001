/**
 * Prometheus metrics on a real local cluster (router, 3 nodes, a standby: separate processes). After
 * a known workload through the router, every process's `GET /metrics` parses as Prometheus text
 * (HELP and TYPE on every family, names by convention) and the counters moved by exactly the
 * workload: N sends are N router send requests with status 201 and N send requests over the nodes,
 * the deliveries between owners on their own route (one per send whose two users have different
 * owners), 2N store commits; M reads (conversation lists, then messages, each by its own route)
 * are M read requests on the router and on the nodes, and the nodes' cache hits plus misses grew
 * by M (one at a time, each read is exactly one hit or one miss). The ring figures agree with the ring, the control plane is up, every serving
 * node holds a lease, and no label value anywhere is a user id. The cluster is started with a
 * metrics token (CHATRING_METRICS_TOKEN): a scrape without it is refused on the router and on a
 * node. A second cluster started with `--metrics false` serves no /metrics at all.
 */
import t from 'tap';
import { request } from 'undici';
import { ApiClient, eventually, uniqueUser } from '../../harness/index.js';
import { conversationIdOf, orderedPair } from '../../protocol/index.js';
import { RingView } from '../../ring/index.js';
import {
  parsePrometheusText,
  sampleSum,
  samplesOf,
  type MetricFamily,
} from '../../transport/metrics/index.js';
import { bootCluster } from '../helpers/local-cluster.js';

const METRICS_TOKEN = 'metrics-token-for-the-cluster-test';
const SENDS = 12;
/** Reads of conversation lists, then as many reads of one conversation's messages. */
const LIST_READS = 5;
const MESSAGE_READS = 4;
const READS = LIST_READS + MESSAGE_READS;

type Scrape = Map<string, MetricFamily>;

async function scrape(baseUrl: string, token?: string): Promise<Scrape> {
  const response = await request(`${baseUrl}/metrics`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  const text = await response.body.text();
  if (response.statusCode !== 200)
    throw new Error(`${baseUrl}/metrics answered ${response.statusCode}: ${text}`);
  if (!/^text\/plain; version=0\.0\.4/.test(String(response.headers['content-type'])))
    throw new Error(`content type ${String(response.headers['content-type'])}`);
  return parsePrometheusText(text);
}

/** A counter's total over several scrapes (one per node), for the given labels. */
function total(scrapes: readonly Scrape[], name: string, labels: Record<string, string> = {}) {
  return scrapes.reduce((sum, families) => sum + sampleSum(families, name, labels), 0);
}

/**
 * What every exposition must satisfy beyond parsing: HELP and TYPE on every family, Prometheus'
 * naming conventions, finite values, and no user id in any label value. Returns the breaches.
 */
function conventionBreaches(families: Scrape, userIds: ReadonlySet<string>): string[] {
  const breaches: string[] = [];
  for (const family of families.values()) {
    if (family.help === '') breaches.push(`${family.name}: no HELP`);
    if (family.type === 'untyped') breaches.push(`${family.name}: no TYPE`);
    if (!/^chatring_[a-z0-9_]+$/.test(family.name))
      breaches.push(`${family.name}: not chatring_ and snake_case`);
    if (family.type === 'counter' && !family.name.endsWith('_total'))
      breaches.push(`${family.name}: a counter not ending in _total`);
    for (const sample of family.samples) {
      // The event-loop lag's figures are NaN until its first sample: the one allowed exception.
      const lagBeforeSample =
        Number.isNaN(sample.value) && sample.name.startsWith('chatring_nodejs_eventloop_lag');
      if (!Number.isFinite(sample.value) && !lagBeforeSample)
        breaches.push(`${sample.name}: ${sample.value}`);
      for (const value of Object.values(sample.labels))
        if ([...userIds].some((id) => value.includes(id)))
          breaches.push(`${sample.name}: a user id in a label (${value})`);
    }
  }
  return breaches;
}

t.test('counters move by the workload, on the router and every node', async (t) => {
  const cluster = await bootCluster(t, { env: { CHATRING_METRICS_TOKEN: METRICS_TOKEN } });
  // The standby joins the ring by its first heartbeat (a new epoch): wait for that, so the ring
  // stays as it is for the whole test.
  const ring = new RingView(
    await eventually('the standby in the ring', async () => {
      const config = await cluster.ring();
      const reachable = Object.values(config.nodes).filter((node) => node.url !== '');
      return config.standbys.length === 1 && reachable.length === 4 ? config : undefined;
    }),
  );
  const nodeUrls = Object.values(ring.config.nodes)
    .map((node) => node.url)
    .filter((url) => url !== '');
  t.equal(nodeUrls.length, 4, 'scraping 4 nodes (3 serving, the standby)');
  const routerUrl = cluster.url;
  const scrapeNodes = () => Promise.all(nodeUrls.map((url) => scrape(url, METRICS_TOKEN)));

  // The metrics token is required once configured, on the router and on the nodes.
  for (const url of [routerUrl, nodeUrls[0] ?? '']) {
    const anonymous = await request(`${url}/metrics`);
    await anonymous.body.dump();
    t.equal(anonymous.statusCode, 401, `${url}: no token, no metrics`);
  }

  const api = new ApiClient(routerUrl);
  t.teardown(() => api.close());
  const pairs = Array.from({ length: SENDS }, () => [uniqueUser('mx'), uniqueUser('my')] as const);
  const userIds = new Set(pairs.flat());
  const routerBefore = await scrape(routerUrl, METRICS_TOKEN);
  const nodesBefore = await scrapeNodes();
  for (const [sender, recipient] of pairs) {
    const sent = await api.send(sender, recipient, 'metrics test');
    t.equal(sent.status, 201, 'sent');
  }
  const routerAfterSends = await scrape(routerUrl, METRICS_TOKEN);
  const nodesAfterSends = await scrapeNodes();
  // Reads one at a time: each is exactly one cache hit or one miss on its owner.
  for (const [, recipient] of pairs.slice(0, LIST_READS))
    t.equal((await api.conversations(recipient)).status, 200, 'conversations read');
  for (const [sender, recipient] of pairs.slice(0, MESSAGE_READS))
    t.equal(
      (await api.messages(sender, conversationIdOf(sender, recipient))).status,
      200,
      'messages read',
    );
  const routerAfter = await scrape(routerUrl, METRICS_TOKEN);
  const nodesAfter = await scrapeNodes();

  const delta = (after: Scrape[], before: Scrape[], name: string, labels = {}) =>
    total(after, name, labels) - total(before, name, labels);
  const sendRoute = { route: '/v1/messages', method: 'POST' };
  const listRoute = { route: '/v1/users/:userId/conversations', method: 'GET' };
  const messagesRoute = {
    route: '/v1/users/:userId/conversations/:conversationId/messages',
    method: 'GET',
  };

  // The router: N sends (201), M reads (200), each timed once.
  t.equal(
    delta([routerAfter], [routerBefore], 'chatring_http_requests_total', {
      ...sendRoute,
      status: '201',
    }),
    SENDS,
  );
  t.equal(
    delta([routerAfter], [routerBefore], 'chatring_http_request_duration_seconds_count', sendRoute),
    SENDS,
  );
  t.equal(
    delta([routerAfter], [routerAfterSends], 'chatring_http_requests_total', {
      ...listRoute,
      status: '200',
    }),
    LIST_READS,
  );
  t.equal(
    delta([routerAfter], [routerAfterSends], 'chatring_http_requests_total', {
      ...messagesRoute,
      status: '200',
    }),
    MESSAGE_READS,
  );
  t.equal(
    delta([routerAfter], [routerBefore], 'chatring_http_requests_total', { status: '503' }),
    0,
    'nothing refused',
  );

  // The nodes: N sends over the coordinators, deliveries on their own route, 2N commits.
  const deliveries = pairs.filter(([a, b]) => {
    const [lower, higher] = orderedPair(a, b);
    return ring.ownerIdOf(lower) !== ring.ownerIdOf(higher);
  }).length;
  t.equal(
    delta(nodesAfterSends, nodesBefore, 'chatring_http_requests_total', {
      ...sendRoute,
      status: '201',
    }),
    SENDS,
    'the nodes served the N sends',
  );
  t.equal(
    delta(nodesAfterSends, nodesBefore, 'chatring_http_requests_total', {
      route: '/internal/v1/deliver',
      status: '200',
    }),
    deliveries,
    `${deliveries} deliveries between owners, on their own route`,
  );
  t.equal(
    delta(nodesAfterSends, nodesBefore, 'chatring_store_call_duration_seconds_count', {
      operation: 'commit',
    }),
    2 * SENDS,
    'two commits per send (both copies)',
  );
  t.equal(delta(nodesAfter, nodesBefore, 'chatring_store_call_errors_total'), 0, 'no store error');

  // The reads: each one cache hit or miss on its owner.
  const hits = delta(nodesAfter, nodesAfterSends, 'chatring_cache_hits_total');
  const misses = delta(nodesAfter, nodesAfterSends, 'chatring_cache_misses_total');
  t.equal(hits + misses, READS, `hits ${hits} + misses ${misses} = the reads`);
  t.equal(
    delta(nodesAfter, nodesAfterSends, 'chatring_http_requests_total', {
      ...listRoute,
      status: '200',
    }),
    LIST_READS,
  );
  t.equal(
    delta(nodesAfter, nodesAfterSends, 'chatring_http_requests_total', {
      ...messagesRoute,
      status: '200',
    }),
    MESSAGE_READS,
  );

  // Ring, control plane, leases.
  t.equal(sampleSum(routerAfter, 'chatring_ring_epoch'), ring.epoch);
  t.equal(sampleSum(routerAfter, 'chatring_ring_owners'), 3);
  t.equal(sampleSum(routerAfter, 'chatring_ring_slots'), 3);
  t.equal(sampleSum(routerAfter, 'chatring_control_plane_up', { backend: 'in-process' }), 1);
  t.equal(total(nodesAfter, 'chatring_node_slots'), 3, 'three slots served');
  for (const [index, families] of nodesAfter.entries()) {
    t.equal(sampleSum(families, 'chatring_ring_epoch'), ring.epoch, `node ${index}: epoch`);
    if (sampleSum(families, 'chatring_node_slots') > 0)
      t.ok(sampleSum(families, 'chatring_lease_remaining_seconds') > 0, `node ${index}: leased`);
    t.ok(sampleSum(families, 'chatring_cache_bytes_budget') > 0, `node ${index}: budget`);
  }
  t.ok(total(nodesAfter, 'chatring_cache_users', { lru: 'mailboxes' }) > 0, 'users cached');
  t.ok(
    total(nodesAfter, 'chatring_cache_messages') >= MESSAGE_READS,
    'the windows the message reads loaded are counted',
  );

  t.same(conventionBreaches(routerAfter, userIds), [], 'router: conventions, no user id');
  for (const [index, families] of nodesAfter.entries())
    t.same(conventionBreaches(families, userIds), [], `node ${index}: conventions, no user id`);
  t.ok(samplesOf(routerAfter).length > 50, 'the router exposes its default process metrics too');
  t.ok(routerAfter.has('chatring_owner_retries_total'), 'retries by reason');
  t.ok(nodesAfter[0]?.has('chatring_user_lock_wait_seconds'), 'lock waits');
});

t.test('--metrics false: no /metrics on the router or the nodes', async (t) => {
  const cluster = await bootCluster(t, {
    nodes: 1,
    standbys: 0,
    extraArgs: ['--metrics', 'false'],
  });
  const ring = await cluster.ring();
  for (const url of [cluster.url, ...Object.values(ring.nodes).map((node) => node.url)]) {
    const response = await request(`${url}/metrics`);
    await response.body.dump();
    t.equal(response.statusCode, 404, `${url}: no metrics route`);
  }
});
