import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A temporary directory that is removed when its user is done with it — and also when the process
 * exits early (an error, or Ctrl-C, whose handler exits without unwinding `finally`).
 */
export class TemporaryDirectory {
  readonly path: string;
  readonly #keep: boolean;
  readonly #onExit = () => this.#remove();
  #disposed = false;

  /** `keep`: leave it in place at dispose() and say where it is (a benchmark's --keep-data). */
  constructor(prefix: string, keep = false) {
    this.path = mkdtempSync(join(tmpdir(), prefix));
    this.#keep = keep;
    process.once('exit', this.#onExit);
  }

  /** Removes it (or, kept, prints where it is); a second call does nothing. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
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
