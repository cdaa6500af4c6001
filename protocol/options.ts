import { ChatringError } from './errors.js';

/**
 * Options are checked once, where they are built (undici's style): every key is known, every value
 * has its type and range, and a wrong one throws `INVALID_OPTION` with the component's and the
 * option's name. The result is the defaults overlaid with what was given, frozen. One rule table per
 * options type; its bounds come from `limits.ts`, its defaults from the component's one
 * `DEFAULT_..._OPTIONS` object.
 */

export type OptionRule =
  | { kind: 'integer'; min: number; max: number }
  | { kind: 'number'; min: number; max: number }
  | { kind: 'boolean' }
  | { kind: 'string'; pattern?: RegExp; describe?: string }
  | { kind: 'function' }
  /** Anything the component checks itself (a ring, a nested options object). */
  | { kind: 'any' };

export type OptionRules<T> = { readonly [K in keyof T]-?: OptionRule };

/** What callers may pass: any subset, where `undefined` means "the default". */
export type GivenOptions<T> = { [K in keyof T]?: T[K] | undefined };

export function integerRule(min: number, max: number = Number.MAX_SAFE_INTEGER): OptionRule {
  return { kind: 'integer', min, max };
}

export const BOOLEAN_RULE: OptionRule = Object.freeze({ kind: 'boolean' });
export const FUNCTION_RULE: OptionRule = Object.freeze({ kind: 'function' });
export const ANY_RULE: OptionRule = Object.freeze({ kind: 'any' });

/** The error every bad option throws. */
export function invalidOption(component: string, name: string, message: string): ChatringError {
  return new ChatringError('INVALID_OPTION', `${component}: option "${name}" ${message}`);
}

/**
 * Overlays `given` on `defaults`, checks every resulting value against `rules`, refuses keys the
 * rules do not name, and freezes the result. `undefined` in `given` means "use the default".
 */
export function resolveOptions<T extends object>(
  component: string,
  defaults: Readonly<T>,
  given: GivenOptions<T> | undefined,
  rules: OptionRules<T>,
): Readonly<T> {
  if (given !== undefined && (typeof given !== 'object' || given === null))
    throw new ChatringError('INVALID_OPTION', `${component}: options must be an object`);
  const merged: Record<string, unknown> = { ...defaults };
  for (const [name, value] of Object.entries(given ?? {})) {
    if (!Object.hasOwn(rules, name))
      throw invalidOption(
        component,
        name,
        `is unknown; known: ${Object.keys(rules).sort().join(', ')}`,
      );
    if (value !== undefined) merged[name] = value;
  }
  for (const [name, rule] of Object.entries(rules) as [string, OptionRule][]) {
    if (Object.hasOwn(merged, name) && merged[name] !== undefined)
      checkOption(component, name, merged[name], rule);
  }
  return Object.freeze(merged) as Readonly<T>;
}

/** Checks one value against its rule; throws INVALID_OPTION naming the option. */
export function checkOption(component: string, name: string, value: unknown, rule: OptionRule) {
  switch (rule.kind) {
    case 'integer':
    case 'number': {
      const typed = rule.kind === 'integer' ? Number.isSafeInteger(value) : Number.isFinite(value);
      if (!typed || (value as number) < rule.min || (value as number) > rule.max)
        throw invalidOption(
          component,
          name,
          `must be ${rule.kind === 'integer' ? 'an integer' : 'a number'} from ${rule.min} to ${rule.max}, got ${describe(value)}`,
        );
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean')
        throw invalidOption(component, name, `must be true or false, got ${describe(value)}`);
      return;
    case 'string':
      if (typeof value !== 'string' || (rule.pattern !== undefined && !rule.pattern.test(value)))
        throw invalidOption(
          component,
          name,
          `must be ${rule.describe ?? 'a string'}, got ${describe(value)}`,
        );
      return;
    case 'function':
      if (typeof value !== 'function')
        throw invalidOption(component, name, `must be a function, got ${describe(value)}`);
      return;
    case 'any':
      return;
  }
}

/** A relation between options that no single rule can say (heartbeat below lease, ...). */
export function requireOption(
  condition: boolean,
  component: string,
  name: string,
  message: string,
): void {
  if (!condition) throw invalidOption(component, name, message);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object')
    return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}
