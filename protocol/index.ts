/** protocol/: wire types, the one error catalogue, every limit, option checks, the clock, pure validation. Everyone may import it; it imports nothing of ours. */
export * from './errors.js';
export * from './limits.js';
export * from './wire-types.js';
export * from './conversation-id.js';
export * from './cursor.js';
export * from './validation.js';
export * from './internal-api.js';
export * from './internal-validation.js';
export * from './http-error-mapping.js';
export * from './options.js';
export * from './clock.js';
export * from './time-limit.js';
export * from './http-url.js';
export * from './secret-files.js';
export * from './api-schemas.js';
export * from './openapi.js';
