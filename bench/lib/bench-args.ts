import { parseArgs } from 'node:util';

/**
 * Flag parsing shared by the benchmarks: every flag is `--name value`, unknown flags are refused,
 * and every number is checked against its range with a message that names the flag.
 */
export interface FlagSpec {
  /** Shown by --help. */
  description: string;
  default: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export class BenchFlags<Specs extends FlagSpecs> {
  readonly #values: Record<string, string>;

  private constructor(values: Record<string, string>) {
    this.#values = values;
  }

  /** Parses argv; prints usage and exits 0 on --help. Throws on an unknown flag. */
  static parse<Specs extends FlagSpecs>(
    program: string,
    summary: string,
    specs: Specs,
    argv = process.argv.slice(2),
  ): BenchFlags<Specs> {
    const options: Record<string, { type: 'string' } | { type: 'boolean' }> = {
      help: { type: 'boolean' },
    };
    for (const name of Object.keys(specs)) options[name] = { type: 'string' };
    const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
    if (values.help === true) {
      console.log(`${program}: ${summary}\n`);
      for (const [name, spec] of Object.entries(specs))
        console.log(`  --${name.padEnd(22)} ${spec.description} (default ${spec.default})`);
      process.exit(0);
    }
    const resolved: Record<string, string> = {};
    for (const [name, spec] of Object.entries(specs)) {
      const value = values[name];
      resolved[name] = typeof value === 'string' ? value : spec.default;
    }
    return new BenchFlags<Specs>(resolved);
  }

  string(name: keyof Specs & string): string {
    const value = this.#values[name];
    if (value === undefined) throw new Error(`--${name}: no such flag`);
    return value;
  }

  integer(name: keyof Specs & string, min: number, max: number): number {
    const text = this.string(name).replaceAll('_', '');
    const value = Number(text);
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new Error(
        `--${name} must be an integer from ${min} to ${max}, got "${this.string(name)}"`,
      );
    }
    return value;
  }

  number(name: keyof Specs & string, min: number, max: number): number {
    const value = Number(this.string(name));
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new Error(
        `--${name} must be a number from ${min} to ${max}, got "${this.string(name)}"`,
      );
    }
    return value;
  }

  /** A comma-separated list of integers, each in range. */
  integerList(name: keyof Specs & string, min: number, max: number): number[] {
    const items = this.string(name)
      .split(',')
      .filter((item) => item !== '');
    const values = items.map((item) => Number(item));
    if (
      values.length === 0 ||
      values.some((value, index) => !/^\d+$/.test(items[index] ?? '') || value < min || value > max)
    ) {
      throw new Error(
        `--${name} must be a comma-separated list of integers from ${min} to ${max}, got "${this.string(name)}"`,
      );
    }
    return values;
  }

  boolean(name: keyof Specs & string): boolean {
    const value = this.string(name);
    if (value !== 'true' && value !== 'false')
      throw new Error(`--${name} must be true or false, got "${value}"`);
    return value === 'true';
  }

  /** Every flag as given or defaulted: written into each result file as the run's settings. */
  all(): Record<string, string> {
    return { ...this.#values };
  }
}
