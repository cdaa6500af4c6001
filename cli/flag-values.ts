import {
  ChatringError,
  HEARTBEAT_INTERVAL_MS_MAX,
  HEARTBEAT_INTERVAL_MS_MIN,
  LEASE_MS_MAX,
  LEASE_MS_MIN,
} from '../protocol/index.js';
import { resolveControlPlaneTimings, type ControlPlaneTimings } from '../control-plane/index.js';

/**
 * Flag and environment text turned into checked values. Every refusal is INVALID_OPTION and names
 * the flag the operator typed (`--nodes must be an integer from 1 to 64, got "65"`); the bounds
 * come from protocol/limits.ts, never from here.
 */

export function integerOption(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
    throw new ChatringError(
      'INVALID_OPTION',
      `${name} must be an integer from ${min} to ${max}, got "${text}"`,
    );
  return Number(text);
}

export function booleanOption(name: string, text: string): boolean {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new ChatringError('INVALID_OPTION', `${name} must be true or false, got "${text}"`);
}

/** `--redis` (else CHATRING_REDIS_URL): undefined when neither is set. */
export function redisUrlOption(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const redisUrl = flag ?? env.CHATRING_REDIS_URL;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl))
    throw new ChatringError('INVALID_OPTION', `--redis must be a redis:// URL, got "${redisUrl}"`);
  return redisUrl;
}

/**
 * `--lease-ms` and `--heartbeat-interval-ms` (undefined: the control plane's default), each within
 * its bounds, then together through the control plane's own resolver: the one rule every backend
 * and every command shares (a heartbeat shorter than the lease).
 */
export function timingOptions(
  component: string,
  text: { leaseMs?: string | undefined; heartbeatIntervalMs?: string | undefined },
): Readonly<ControlPlaneTimings> {
  return resolveControlPlaneTimings(component, {
    leaseMs:
      text.leaseMs === undefined
        ? undefined
        : integerOption('--lease-ms', text.leaseMs, LEASE_MS_MIN, LEASE_MS_MAX),
    heartbeatIntervalMs:
      text.heartbeatIntervalMs === undefined
        ? undefined
        : heartbeatIntervalOption(text.heartbeatIntervalMs),
  });
}

/** The heartbeat alone, where the lease belongs to another process (a node in local mode). */
export function heartbeatIntervalOption(text: string): number {
  return integerOption(
    '--heartbeat-interval-ms',
    text,
    HEARTBEAT_INTERVAL_MS_MIN,
    HEARTBEAT_INTERVAL_MS_MAX,
  );
}
