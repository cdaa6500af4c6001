/** router/: the public HTTP front door; it forwards to a user's owner through transport/'s OwnerClient. */
export { buildRouterServer, type RouterServerDependencies } from './router-server.js';
export {
  startRouter,
  type RouterOptions,
  type RouterControlPlane,
  type RunningRouter,
} from './start-router.js';
