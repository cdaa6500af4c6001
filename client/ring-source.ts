import {
  ChatringError,
  PUBLIC_RING_PATH,
  SYSTEM_CLOCK,
  type Clock,
  type RingConfig,
  settleWithin,
} from '../protocol/index.js';
import { RingView, ringConfigFromPublic } from '../ring/index.js';
import type { PeerClient } from '../transport/index.js';

/**
 * Where a ring-aware client learns the ring: `GET /v1/ring` on the routers it was given. The ring
 * it holds only moves forward: a router that lags behind (an older epoch) is not believed over a
 * newer answer already held. Refreshes are coalesced — every caller that asks while one is under
 * way shares it, and one that finished less than `minIntervalMs` ago is the answer — so a burst of
 * wrong-owner answers after a ring change costs one request to a router, not one per request.
 */
export class RingSource {
  readonly routerUrls: readonly string[];
  readonly #peers: PeerClient;
  readonly #minIntervalMs: number;
  readonly #clock: Clock;
  #ring: RingView | undefined;
  #refreshing: Promise<void> | undefined;
  #refreshedAt = Number.NEGATIVE_INFINITY;
  /** The router asked first next time: the one that answered last. */
  #preferred = 0;
  /** Told of every ring adopted after the first (the owner client abandons moved calls). */
  onMoved: (ring: RingView) => void = () => undefined;

  constructor(
    routerUrls: readonly string[],
    peers: PeerClient,
    minIntervalMs: number,
    clock: Clock = SYSTEM_CLOCK,
  ) {
    this.routerUrls = routerUrls;
    this.#peers = peers;
    this.#minIntervalMs = minIntervalMs;
    this.#clock = clock;
  }

  /** The ring held now; undefined until the first refresh succeeded. */
  current(): RingView | undefined {
    return this.#ring;
  }

  /**
   * The ring, fetched first if none is held yet. A caller with a deadline (monotonic ms on this
   * source's clock) waits for the fetch until then at most, and then fails with OWNER_UNAVAILABLE;
   * the fetch goes on for whoever shares it.
   */
  async ready(deadlineAtMs = Number.POSITIVE_INFINITY): Promise<RingView> {
    if (this.#ring === undefined)
      await settleWithin(this.refresh(true), deadlineAtMs - this.#clock.monotonicNow());
    if (this.#ring === undefined)
      throw new ChatringError(
        'OWNER_UNAVAILABLE',
        `no router answered ${PUBLIC_RING_PATH} (${this.routerUrls.join(', ')}) before the call's deadline`,
      );
    return this.#ring;
  }

  /**
   * Asks the routers for the ring (each in turn until one answers) unless a refresh is under way
   * (then shares it) or finished within `minIntervalMs` (then does nothing), or `force`. Throws
   * OWNER_UNAVAILABLE, with the last router's failure as its cause, when no router answers, and a
   * refusal that is not retryable (UNAUTHENTICATED, FORBIDDEN) as it is.
   */
  refresh(force = false): Promise<void> {
    if (this.#refreshing !== undefined) return this.#refreshing;
    if (!force && this.#clock.monotonicNow() - this.#refreshedAt < this.#minIntervalMs)
      return Promise.resolve();
    this.#refreshing = this.#fetch().finally(() => {
      this.#refreshing = undefined;
      this.#refreshedAt = this.#clock.monotonicNow();
    });
    return this.#refreshing;
  }

  async #fetch(): Promise<void> {
    let lastError: unknown;
    for (let tried = 0; tried < this.routerUrls.length; tried += 1) {
      const index = (this.#preferred + tried) % this.routerUrls.length;
      const url = this.routerUrls[index] ?? unreachable();
      try {
        const config = ringConfigFromPublic(
          await this.#peers.call(url, { method: 'GET', path: PUBLIC_RING_PATH }),
        );
        this.#preferred = index;
        const held = this.#ring;
        // A node's URL can arrive after its ring was published (its first heartbeat): same epoch.
        if (
          held === undefined ||
          config.epoch > held.epoch ||
          (config.epoch === held.epoch && !sameUrls(config.nodes, held.config.nodes))
        ) {
          this.#ring = new RingView(config);
          if (held !== undefined) this.onMoved(this.#ring);
        }
        return;
      } catch (error) {
        // A refusal no other router would answer differently (an app token it does not accept).
        if (error instanceof ChatringError && !error.retryable) throw error;
        lastError = error;
      }
    }
    throw new ChatringError(
      'OWNER_UNAVAILABLE',
      `no router answered ${PUBLIC_RING_PATH} (${this.routerUrls.join(', ')}): ${(lastError as Error).message}`,
      { cause: lastError },
    );
  }
}

function sameUrls(a: RingConfig['nodes'], b: RingConfig['nodes']): boolean {
  const ids = Object.keys(a);
  return (
    ids.length === Object.keys(b).length &&
    ids.every((id) => Object.hasOwn(b, id) && a[id]?.url === b[id]?.url)
  );
}

function unreachable(): never {
  throw new ChatringError('INTERNAL', 'ring source: no ring after a successful refresh');
}
