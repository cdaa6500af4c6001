/** protocol/: wire types, the error catalogue, limits and pure validation. Everyone may import it. */
export * from './errors.js';
export * from './limits.js';
export * from './wire-types.js';
export * from './conversation-id.js';
export * from './cursor.js';
export * from './validation.js';
export * from './internal-api.js';
export * from './ring-view.js';
export * from './http-error-mapping.js';
