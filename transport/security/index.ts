export {
  MEMBER_SIGNATURE_HEADER,
  MemberSigner,
  MemberVerifier,
  type PendingMemberSignature,
} from './member-signature.js';
export { TokenSet, hashToken, BEARER_TOKEN_PATTERN } from './token-set.js';
export {
  accessOf,
  checkLinkCredential,
  authenticatedMember,
  installAccessControl,
  type AccessPolicy,
  type LinkCaller,
  type Principal,
  type RouteAccess,
} from './access-control.js';
export {
  CREDENTIAL_SOURCES,
  isLoopback,
  processSecurity,
  type Credentials,
  type ProcessSecurity,
} from './process-credentials.js';
