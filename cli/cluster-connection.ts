import {
  changeFailure,
  HttpControlPlaneClient,
  RedisControlPlane,
  RingChangeOrchestrator,
  parseChange,
  type ChangePreview,
  type ChangeProgress,
  type ChangeResult,
  type ClusterStatus,
} from '../control-plane/index.js';
import { ChatringError } from '../protocol/index.js';
import { RingView } from '../ring/index.js';
import { CREDENTIAL_SOURCES, MemberSigner, PeerClient } from '../transport/index.js';
import type { RedisConnectionOptions } from './flag-values.js';
import { adminOwnerPath, ownerAnswerOf, type OwnerAnswer } from '../router/index.js';

export type { OwnerAnswer } from '../router/index.js';

/** ringctl waits this long for one answer: a ring change streams progress until every node released. */
const RINGCTL_TIMEOUT_MS = 120_000;

/** How ringctl reaches a cluster: through one of its routers, or straight to its Redis control plane. */
export interface ClusterConnection {
  status(): Promise<ClusterStatus>;
  owner(userId: string): Promise<OwnerAnswer>;
  previewChange(change: unknown): Promise<ChangePreview>;
  applyChange(
    change: unknown,
    expectedEpoch: number | undefined,
    onProgress: (event: ChangeProgress) => void,
  ): Promise<ChangeResult>;
  close(): Promise<void>;
}

export interface ClusterTarget {
  routerUrl: string;
  redisUrl?: string | undefined;
  /** AUTH and TLS to that Redis. */
  redisConnection?: RedisConnectionOptions | undefined;
  /** Presented to the router's operator routes. */
  operatorToken?: string | undefined;
  /** With it ringctl signs as a member: needed with --redis (it calls nodes itself), else optional. */
  clusterSecret?: Buffer | undefined;
}

/** The member id ringctl signs with when it holds the cluster secret. */
const RINGCTL_MEMBER_ID = 'ringctl';

export async function connectToCluster(target: ClusterTarget): Promise<ClusterConnection> {
  const signer =
    target.clusterSecret === undefined
      ? undefined
      : new MemberSigner(RINGCTL_MEMBER_ID, target.clusterSecret);
  return target.redisUrl === undefined
    ? viaRouter(target.routerUrl, target.operatorToken, signer)
    : viaRedis(target.redisUrl, target.redisConnection ?? {}, signer);
}

function viaRouter(
  routerUrl: string,
  operatorToken: string | undefined,
  signer: MemberSigner | undefined,
): ClusterConnection {
  const baseUrl = routerUrl.replace(/\/$/, '');
  // The operator token when there is one (the operator's own credential), else the member signature.
  const credential =
    operatorToken === undefined ? { signer } : { bearerToken: operatorToken, signer: undefined };
  const client = new HttpControlPlaneClient(baseUrl, {
    timeoutMs: RINGCTL_TIMEOUT_MS,
    ...credential,
  });
  const router = new PeerClient('ringctl', {
    timeoutMs: RINGCTL_TIMEOUT_MS,
    connectionsPerPeer: 2,
    ...credential,
  });
  const reach = <T>(call: Promise<T>): Promise<T> =>
    call.catch((error: unknown) => {
      throw unreachable(baseUrl, error);
    });
  return {
    status: () => reach(client.status()),
    owner: (userId) =>
      reach(router.call<OwnerAnswer>(baseUrl, { method: 'GET', path: adminOwnerPath(userId) })),
    previewChange: (change) => reach(client.previewChange(change)),
    applyChange: (change, expectedEpoch, onProgress) =>
      reach(client.applyChange(change, expectedEpoch, onProgress)),
    async close() {
      await router.close();
      await client.close();
    },
  };
}

/**
 * Says which router could not be reached. PeerClient reports a peer it cannot reach (or that misses
 * the deadline) as OWNER_UNAVAILABLE with the network error as its cause; a refusal the router
 * answered (OWNER_UNAVAILABLE for a user no node serves) has no cause and passes unchanged.
 */
function unreachable(routerUrl: string, error: unknown): unknown {
  if (!(error instanceof ChatringError) || error.code !== 'OWNER_UNAVAILABLE') return error;
  if (error.cause === undefined) return error;
  return new ChatringError(
    'OWNER_UNAVAILABLE',
    `router ${routerUrl} unreachable: ${error.message}`,
    {
      cause: error.cause,
    },
  );
}

/** ringctl as a control plane client of its own: no failure detector, no subscription. */
async function viaRedis(
  redisUrl: string,
  connection: RedisConnectionOptions,
  signer: MemberSigner | undefined,
): Promise<ClusterConnection> {
  const controlPlane = await RedisControlPlane.open({
    redisUrl,
    ...connection,
    failureDetector: false,
    listenForRingChanges: false,
  });
  const orchestrator = new RingChangeOrchestrator(controlPlane, { signer });
  // A change run from here calls every node's member routes: refuse before anything moves.
  const needSigner = () => {
    if (signer === undefined)
      throw new ChatringError(
        'INVALID_OPTION',
        `ringctl --redis runs the change itself and calls nodes as a member: give the cluster secret (${CREDENTIAL_SOURCES.clusterSecret})`,
      );
  };
  return {
    status: () => controlPlane.status(),
    owner: async (userId) => ownerAnswerOf(new RingView(await controlPlane.currentRing()), userId),
    previewChange: (change) => orchestrator.preview(parseChange(change)),
    // The same failure codes the router's change route answers (changeFailure), so `--redis`
    // and the router path tell an operator the same thing.
    applyChange: async (change, expectedEpoch, onProgress) => {
      needSigner();
      return orchestrator
        .apply(parseChange(change), expectedEpoch, onProgress)
        .catch((error: unknown) => {
          throw changeFailure(error);
        });
    },
    async close() {
      await orchestrator.close();
      await controlPlane.close();
    },
  };
}
