/**
 * What authentication costs on cached reads (issue 10: at most 5 %), measured two ways in the load
 * benchmark's own run:
 *
 * - App tokens (optional): the `router-auth` target is the `router` cluster started with
 *   CHATRING_APP_TOKENS and driven with `authorization: Bearer <token>`. Same seed, same data copy,
 *   same warm-up and operation streams, so its ratio over `router` on the reads (conversations and
 *   messages: ops/s, p50, p99, CPU per read) is the cost of checking the token.
 * - Member signatures (always on, so no target runs without them): a micro-benchmark of
 *   `MemberSigner.sign` + `MemberVerifier.begin/update/verify` in µs per request (median of many
 *   batches), set against the `router` target's CPU per read. A cached read through the router is
 *   signed once (router → owner) and verified once (on the owner); nothing else on its path is
 *   signed.
 */
import { randomBytes } from 'node:crypto';
import { MemberSigner, TokenSet, type MemberVerifier } from '../../transport/index.js';
import { conversationIdOf } from '../../protocol/index.js';
import type { ChatWorkload } from '../lib/chat-workload.js';
import type { TargetResult } from './load-results.js';

/** µs per request: the signer's part, the verifier's part, and both (medians over the samples). */
export interface SigningCost {
  method: 'GET' | 'POST';
  path: string;
  bodyBytes: number;
  signUs: number;
  verifyUs: number;
  /** The median of sign + verify per sample (not the sum of the two medians). */
  totalUs: number;
}

export interface MemberSigningCost {
  /** Timed batches per figure (after unmeasured warm-up batches), and requests per batch. */
  samples: number;
  requestsPerSample: number;
  /** A forwarded cached read: GET, no body. */
  get: SigningCost;
  /** A forwarded send: POST with a JSON body of about 300 bytes. */
  send: SigningCost;
  /** TokenSet.matches of one presented app token against one configured token (what router-auth adds). */
  appTokenCheckUs: number;
}

/** The ratio of one operation kind: router-auth over router. */
export interface OperationRatio {
  opsPerSecondRatio: number;
  p50Ratio: number;
  p99Ratio: number;
}

export interface AuthFigures {
  memberSigning: MemberSigningCost;
  /** The member-signing cost set against the router target's CPU per read (when it was measured). */
  signingShare?: {
    target: 'router';
    reads: number;
    requests: number;
    cpuSeconds: number;
    /**
     * Cluster CPU ÷ reads: all of it charged to the reads — the sends' (unless the mix is reads
     * only) and the cluster's background work (heartbeats, leases, GC; a large part at low
     * throughput) — so an upper bound on a read's own CPU.
     */
    cpuUsPerRead: number;
    /** Cluster CPU ÷ all successful requests. */
    cpuUsPerRequest: number;
    /** True when the mix has no sends: cpuUsPerRead is then the CPU of a read itself. */
    readsOnlyMix: boolean;
    /** One sign + one verify of a GET: what a cached read through the router pays. */
    signingUsPerRead: number;
    /** signingUsPerRead ÷ cpuUsPerRead: a lower bound of the share (see cpuUsPerRead). */
    shareOfCpuPerRead: number;
    /** appTokenCheckUs ÷ cpuUsPerRead: the app-token check's expected share, for the ratio below. */
    appTokenCheckShareOfCpuPerRead: number;
  };
  /** router-auth over router on the reads (when both ran). Throughput below 1 and latency above 1 are the cost. */
  appTokens?: {
    baseline: 'router';
    target: 'router-auth';
    readOpsPerSecondRatio: number;
    conversations: OperationRatio;
    messages: OperationRatio;
    /** Cluster CPU per read, router-auth over router (when both measured CPU). */
    cpuPerReadRatio?: number;
    /**
     * Mailbox cache hit ratio of each in its measured window: the figures are about cached reads
     * only as far as these are near 1 (a short warm-up on many users leaves many reads missing).
     */
    cacheHitRatio: { router: number; routerAuth: number };
    /** Errors of router-auth (a refused token would show here). */
    errors: number;
  };
}

const WARMUP_SAMPLES = 50;
const SAMPLES = 501;
const REQUESTS_PER_SAMPLE = 50;
const SEND_BODY_BYTES = 300;

/**
 * Times member signing in this process, before any target runs: wall time per batch of
 * REQUESTS_PER_SAMPLE requests, the median over SAMPLES batches. Batches are short (~0.25 ms) and
 * the kinds take turns batch by batch, so a preempted batch lands in the tail, not the median, and
 * a busy spell of the machine hits every kind alike. The secret is what the launcher generates
 * (64 hex characters); the path and body have the workload's own shapes.
 */
export function measureMemberSigning(workload: ChatWorkload, pageSize: number): MemberSigningCost {
  const secret = Buffer.from(randomBytes(32).toString('hex'), 'utf8');
  const signer = new MemberSigner('router', secret);
  const verifier = signer.verifier();
  const user = workload.byRank[0] ?? 'user000001';
  const contact = workload.contactsOf.get(user)?.[0] ?? 'user000002';
  const getPath = `/v1/users/${user}/conversations/${conversationIdOf(user, contact)}/messages?page=0&pageSize=${pageSize}`;
  const get = new SigningTimer(signer, verifier, 'GET', getPath, undefined);
  const send = new SigningTimer(
    signer,
    verifier,
    'POST',
    '/v1/messages',
    sendBodyOf(user, contact),
  );
  const token = randomBytes(24).toString('base64url');
  const tokens = TokenSet.from([token], 'bench');
  const tokenCheck: number[] = [];
  for (let sample = 0; sample < WARMUP_SAMPLES + SAMPLES; sample += 1) {
    const measured = sample >= WARMUP_SAMPLES;
    get.sample(measured);
    send.sample(measured);
    const started = performance.now();
    for (let index = 0; index < REQUESTS_PER_SAMPLE; index += 1)
      if (!tokens.matches(token)) throw new Error('bench: the app token does not match itself');
    if (measured) tokenCheck.push(perRequest(performance.now() - started));
  }
  return {
    samples: SAMPLES,
    requestsPerSample: REQUESTS_PER_SAMPLE,
    get: get.cost(),
    send: send.cost(),
    appTokenCheckUs: median(tokenCheck),
  };
}

/** A send as the router forwards it, its content padded so the JSON is SEND_BODY_BYTES long. */
function sendBodyOf(senderId: string, recipientId: string): Buffer {
  const body = (content: string) =>
    JSON.stringify({ senderId, recipientId, content, clientMessageId: 'router-auth-0-123456' });
  const overhead = Buffer.byteLength(body(''));
  return Buffer.from(body('x'.repeat(Math.max(1, SEND_BODY_BYTES - overhead))));
}

/** µs per request of a batch that took `ms`. */
function perRequest(ms: number): number {
  return (ms * 1_000) / REQUESTS_PER_SAMPLE;
}

/** Signs a batch of one kind of request, then verifies the batch, timing each half. */
class SigningTimer {
  readonly #headers = new Array<string>(REQUESTS_PER_SAMPLE).fill('');
  readonly #sign: number[] = [];
  readonly #verify: number[] = [];
  readonly #total: number[] = [];

  constructor(
    readonly signer: MemberSigner,
    readonly verifier: MemberVerifier,
    readonly method: 'GET' | 'POST',
    readonly path: string,
    readonly body: Buffer | undefined,
  ) {}

  sample(measured: boolean): void {
    const { signer, verifier, method, path, body } = this;
    const headers = this.#headers;
    const started = performance.now();
    for (let index = 0; index < REQUESTS_PER_SAMPLE; index += 1)
      headers[index] = signer.sign(method, path, body);
    const signed = performance.now();
    for (let index = 0; index < REQUESTS_PER_SAMPLE; index += 1) {
      const pending = verifier.begin(headers[index] ?? '', method, path);
      if (body !== undefined) pending.update(body);
      pending.verify(); // throws if it does not verify: the timing would be of the wrong thing
    }
    const verified = performance.now();
    if (!measured) return;
    this.#sign.push(perRequest(signed - started));
    this.#verify.push(perRequest(verified - signed));
    this.#total.push(perRequest(verified - started));
  }

  cost(): SigningCost {
    return {
      method: this.method,
      path: this.path,
      bodyBytes: this.body?.length ?? 0,
      signUs: median(this.#sign),
      verifyUs: median(this.#verify),
      totalUs: median(this.#total),
    };
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

/** The figures of load.json's `auth`: the micro-benchmark, its share, and router-auth ÷ router. */
export function authFigures(
  memberSigning: MemberSigningCost,
  targets: TargetResult[],
  mix: Record<string, number>,
): AuthFigures {
  const measured = (name: string) =>
    targets.find((target) => target.target === name && target.skipped === undefined);
  const router = measured('router');
  const routerAuth = measured('router-auth');
  const figures: AuthFigures = { memberSigning };
  if (router?.cpuSeconds !== undefined && readsOf(router) > 0) {
    const reads = readsOf(router);
    const requests = router.byOperation.all?.ok ?? reads;
    const cpuUsPerRead = (router.cpuSeconds * 1e6) / reads;
    figures.signingShare = {
      target: 'router',
      reads,
      requests,
      cpuSeconds: router.cpuSeconds,
      cpuUsPerRead,
      cpuUsPerRequest: (router.cpuSeconds * 1e6) / requests,
      readsOnlyMix: (mix.send ?? 0) === 0,
      signingUsPerRead: memberSigning.get.totalUs,
      shareOfCpuPerRead: memberSigning.get.totalUs / cpuUsPerRead,
      appTokenCheckShareOfCpuPerRead: memberSigning.appTokenCheckUs / cpuUsPerRead,
    };
  }
  if (router !== undefined && routerAuth !== undefined && readsOf(router) > 0) {
    const ratio = (kind: string): OperationRatio => {
      const over = (field: 'opsPerSecond' | 'p50Ms' | 'p99Ms') =>
        (routerAuth.byOperation[kind]?.[field] ?? Number.NaN) /
        (router.byOperation[kind]?.[field] ?? Number.NaN);
      return {
        opsPerSecondRatio: over('opsPerSecond'),
        p50Ratio: over('p50Ms'),
        p99Ratio: over('p99Ms'),
      };
    };
    const cpuPerRead = (target: TargetResult) =>
      target.cpuSeconds === undefined ? undefined : target.cpuSeconds / readsOf(target);
    const authCpu = cpuPerRead(routerAuth);
    const routerCpu = cpuPerRead(router);
    figures.appTokens = {
      baseline: 'router',
      target: 'router-auth',
      readOpsPerSecondRatio:
        readsOf(routerAuth) /
        routerAuth.measuredSeconds /
        (readsOf(router) / router.measuredSeconds),
      conversations: ratio('conversations'),
      messages: ratio('messages'),
      ...(authCpu === undefined || routerCpu === undefined
        ? {}
        : { cpuPerReadRatio: authCpu / routerCpu }),
      cacheHitRatio: {
        router: router.cache?.hitRatio ?? Number.NaN,
        routerAuth: routerAuth.cache?.hitRatio ?? Number.NaN,
      },
      errors: routerAuth.byOperation.all?.errors ?? 0,
    };
  }
  return figures;
}

/** Successful cached-read calls (conversations and messages) of a target's measured window. */
function readsOf(target: TargetResult): number {
  return (target.byOperation.conversations?.ok ?? 0) + (target.byOperation.messages?.ok ?? 0);
}
