/** router/: the public HTTP front door and the client that forwards to a user's owner. */
export {
  buildRouterServer,
  installErrorHandlers,
  type RouterServerDependencies,
} from './router-server.js';
export {
  OwnerClient,
  DEFAULT_OWNER_CLIENT_OPTIONS,
  type OwnerClientOptions,
  type OwnerRequest,
  type OwnerResponse,
} from './owner-client.js';
export {
  startRouter,
  type RouterOptions,
  type RouterControlPlane,
  type RunningRouter,
} from './start-router.js';
