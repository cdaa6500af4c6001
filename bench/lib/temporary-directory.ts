import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A temporary data dir that is removed when the benchmark is done with it — and also when the
 * process exits early (an error, or Ctrl-C, whose handler exits without unwinding `finally`).
 */
export class TemporaryDirectory {
  readonly path: string;
  readonly #keep: boolean;
  readonly #onExit = () => this.#remove();

  constructor(prefix: string, keep: boolean) {
    this.path = mkdtempSync(join(tmpdir(), prefix));
    this.#keep = keep;
    process.once('exit', this.#onExit);
  }

  dispose(): void {
    process.off('exit', this.#onExit);
    if (this.#keep) console.log(`data kept in ${this.path}`);
    else this.#remove();
  }

  #remove(): void {
    if (this.#keep) return;
    try {
      rmSync(this.path, { recursive: true, force: true });
    } catch {
      // a member still writing as it dies: leave the rest to the OS's tmp cleaning
    }
  }
}
