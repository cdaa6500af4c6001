import type { ClusterStatus, Clock, RingConfig } from '../../protocol/index.js';
import { nodeProblemOf, type NodeReport } from './node-report.js';
import { NodeRates } from './node-rates.js';
import { ringPageStateOf, type NodeReading, type RingPageState } from './ring-page-state.js';
import type { WatchedChange } from './ring-change-watch.js';

/** How the ring page's figures are gathered; one place for its timings. */
export const RING_PAGE_TIMINGS = Object.freeze({
  /**
   * A state younger than this is served again: any number of open pages (each polls once a
   * second) cost the cluster one status read and one read of each node per this long.
   */
  stateReuseMs: 500,
  /** A node that has not answered its stats by then is shown unreachable. */
  nodeTimeoutMs: 1_000,
  /** How often an open page asks for the state (the page is built with this value). */
  pagePollMs: 1_000,
});

/** Headers a refresh passes on to the status route and the nodes (the operator's credential). */
export type ForwardedHeaders = Record<string, string>;

export interface RingPageSourceDependencies {
  /** The control plane's status (`ringctl status`'s document). */
  readStatus(headers: ForwardedHeaders): Promise<ClusterStatus>;
  /** One node's stats and metrics; throws when it does not answer in time. */
  readNode(url: string, headers: ForwardedHeaders): Promise<NodeReport>;
  /** The ring this router routes by. */
  ring(): RingConfig | undefined;
  changes: { running(): WatchedChange[]; finished(): WatchedChange[] };
  clock: Clock;
}

/**
 * The ring page's document, gathered at most once per `stateReuseMs` however many pages poll:
 * callers during a refresh share it, callers soon after get its result. A refresh reads the
 * control plane's status, then every node that has a URL in parallel (each bounded by the node
 * timeout, so one hung node costs a refresh that long, never more), and turns counters into rates.
 */
export class RingPageSource {
  readonly #deps: RingPageSourceDependencies;
  readonly #rates = new NodeRates();
  #latest: { atMs: number; state: RingPageState } | undefined;
  #refreshing: Promise<RingPageState> | undefined;

  constructor(deps: RingPageSourceDependencies) {
    this.#deps = deps;
  }

  state(headers: ForwardedHeaders): Promise<RingPageState> {
    const latest = this.#latest;
    if (
      latest !== undefined &&
      this.#deps.clock.monotonicNow() - latest.atMs < RING_PAGE_TIMINGS.stateReuseMs
    )
      return Promise.resolve(latest.state);
    this.#refreshing ??= this.#refresh(headers).finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(headers: ForwardedHeaders): Promise<RingPageState> {
    const { clock } = this.#deps;
    let status: ClusterStatus | undefined;
    let statusProblem = '';
    try {
      status = await this.#deps.readStatus(headers);
    } catch (error) {
      statusProblem = (error as Error).message;
    }
    const ring = this.#deps.ring();
    const urls = new Map<string, string>(
      status !== undefined
        ? status.nodes.map((node) => [node.nodeId, node.url])
        : Object.values(ring?.nodes ?? {}).map((node) => [node.nodeId, node.url]),
    );
    const readings = new Map<string, NodeReading>();
    await Promise.all(
      [...urls].map(async ([nodeId, url]) => {
        if (url === '') return;
        try {
          const report = await this.#deps.readNode(url, headers);
          const rates = this.#rates.record(nodeId, {
            atMs: clock.monotonicNow(),
            apiRequests: report.apiRequests,
            cacheHits: report.cacheHits,
            cacheMisses: report.cacheMisses,
          });
          readings.set(nodeId, { ok: true, report, rates });
        } catch (error) {
          readings.set(nodeId, { ok: false, problem: nodeProblemOf(error) });
        }
      }),
    );
    // A node that missed one reading keeps its history; one that left the cluster loses it.
    this.#rates.retainOnly(new Set(urls.keys()));
    const state = ringPageStateOf({
      nowWallMs: clock.wallNow(),
      status,
      statusProblem,
      ring,
      readings,
      running: this.#deps.changes.running(),
      finished: this.#deps.changes.finished(),
    });
    this.#latest = { atMs: clock.monotonicNow(), state };
    return state;
  }
}
