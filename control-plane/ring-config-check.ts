import {
  ChatringError,
  invalidOption,
  parseRingConfig,
  type RingConfig,
} from '../protocol/index.js';

/**
 * Rings that come from outside this process are checked by the same parser nodes use for a pushed
 * ring (protocol's parseRingConfig), so no backend can hold a ring a node would refuse. What differs
 * is whose fault a bad one is, hence the code.
 */

/**
 * A ring read back from storage (Redis, the ring file), or about to be written there. A bad one is
 * damage nobody asked for (a hand-edited key or file, a bug), so it is INTERNAL, naming where it
 * was found and what is wrong.
 */
export function checkedRing(where: string, value: unknown): RingConfig {
  try {
    return parseRingConfig(value);
  } catch (error) {
    if (!(error instanceof ChatringError)) throw error;
    throw new ChatringError('INTERNAL', `${where} is not a valid ring: ${error.message}`, {
      cause: error,
    });
  }
}

/** A ring given as an option (initialRing): INVALID_OPTION naming the option. */
export function checkedRingOption(component: string, name: string, value: unknown): RingConfig {
  try {
    return parseRingConfig(value);
  } catch (error) {
    if (!(error instanceof ChatringError)) throw error;
    throw invalidOption(component, name, `is not a valid ring: ${error.message}`);
  }
}
