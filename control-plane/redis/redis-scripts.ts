import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The Lua scripts of the Redis control plane. Each is one atomic step: a ring change and its push
 * cannot be separated by a crash, and a lease renewal and the ring it returns cannot disagree (see
 * the top of redis-control-plane.ts).
 */

export interface LuaScript {
  lua: string;
  sha: string;
}

function luaScript(lua: string): LuaScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** KEYS: ring, seed window, lease keys of the nodes declared dead. ARGV: expected epoch, next
 * epoch, next config, channel. Replies {1, 'applied', epoch} or {0, reason, stored epoch}, where
 * the reason is an EpochConflictReason. */
export const COMPARE_AND_SET_SCRIPT = luaScript(`
local stored = redis.call('HGET', KEYS[1], 'epoch')
if not stored then return {0, 'absent', ''} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {0, 'seeding', stored} end
if stored ~= ARGV[1] then return {0, 'epoch', stored} end
for i = 3, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return {0, 'lease-renewed', stored} end
end
redis.call('HSET', KEYS[1], 'epoch', ARGV[2], 'config', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[2])
return {1, 'applied', ARGV[2]}
`);

/** KEYS: ring, seed window. ARGV: epoch, config, window ms, channel. Applies when Redis has no
 * ring (and opens the seed window), or inside the window when the offer is newer. */
export const OFFER_RING_SCRIPT = luaScript(`
local stored = redis.call('HGET', KEYS[1], 'epoch')
if stored then
  if redis.call('EXISTS', KEYS[2]) == 0 or tonumber(stored) >= tonumber(ARGV[1]) then
    return {0, stored}
  end
end
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'config', ARGV[2])
if not stored then redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3]) end
redis.call('PUBLISH', ARGV[4], ARGV[1])
return {1, ARGV[1]}
`);

/** KEYS: ring, lease key, last-seen hash. ARGV: lease ms, node id. Renews and reads the ring in
 * one step, so the ring a node learns is never older than its lease. */
export const HEARTBEAT_SCRIPT = luaScript(`
local now = redis.call('TIME')
local nowMs = string.format('%.0f', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
redis.call('SET', KEYS[2], nowMs, 'PX', ARGV[1])
redis.call('HSET', KEYS[3], ARGV[2], nowMs)
return redis.call('HMGET', KEYS[1], 'epoch', 'config')
`);

/** Runs a script by its hash, loading it when Redis does not know it. */
export async function runScript(
  redis: Redis,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    // A restarted Redis has an empty script cache; NOSCRIPT means the script did not run.
    if (!(error as Error).message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(script.lua, keys.length, ...keys, ...args);
  }
}
