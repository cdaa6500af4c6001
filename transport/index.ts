/**
 * transport/: how chatring's processes talk to each other. One HTTP server factory (body limits,
 * catalogue errors) and one peer client with one timeout and error policy, used by the router,
 * node-to-node delivery, warm handoff, the ring-change orchestrator and the control-plane client.
 * It imports protocol/ and ring/ only.
 */
export {
  PeerClient,
  DEFAULT_PEER_CLIENT_OPTIONS,
  type PeerClientOptions,
  type PeerRequest,
  type PeerResponse,
  type RawPeerResponse,
} from './peer-client.js';
export {
  OwnerClient,
  DEFAULT_OWNER_CLIENT_OPTIONS,
  type OwnerClientOptions,
  type OwnerRequest,
  type OwnerResponse,
  type RawOwnerResponse,
} from './owner-client.js';
export {
  createHttpServer,
  DEFAULT_HTTP_SERVER_OPTIONS,
  resolveHttpServerOptions,
  httpServerLoad,
  parseJsonBody,
  type HttpServerOptions,
  type HttpServerLoad,
  type HttpServerInstruments,
} from './http-server.js';
export {
  createLogger,
  logLevelOption,
  LOG_LEVELS,
  LOG_LEVEL_DEFAULT,
  LOG_LEVEL_RULE,
  REQUEST_ID_HEADER,
  type Logger,
  type LogLevel,
} from './logging/logger.js';
export { serveMemberLinks, type LinkRoute, type LinkRoutes } from './link/link-server.js';
export { MemberLinks, linkCredentials, type MemberLinksOptions } from './link/link-client.js';
export {
  MEMBER_LINK_PATH,
  MEMBER_LINK_PROTOCOL,
  type LinkAnswer,
  type LinkRequest,
} from './link/link-frames.js';
export { LogThrottle } from './logging/log-throttle.js';
export * from './security/index.js';
