/** router/: the public HTTP front door; it forwards to a user's owner through transport/'s OwnerClient. */
export { buildRouterServer, type RouterServerDependencies } from './router-server.js';
export { startRouter, type RunningRouter } from './start-router.js';
export {
  DEFAULT_ROUTER_OPTIONS,
  resolveRouterOptions,
  type GivenRouterOptions,
  type RouterControlPlane,
  type RouterOptions,
} from './router-options.js';
export {
  ROUTER_ADMIN_PATHS,
  adminOwnerPath,
  ownerAnswerOf,
  type OwnerAnswer,
} from './owner-lookup.js';
