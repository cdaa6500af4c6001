import {
  TIMEOUT_MS_MAX,
  integerRule,
  requireOption,
  resolveOptions,
  type GivenOptions,
  type OptionRules,
} from '../../protocol/index.js';

/** The largest group-commit batch allowed: one transaction stays a few milliseconds at most. */
export const GROUP_COMMIT_MAX_COMMITS_MAX = 1024;
/** The longest a commit may be held back to join a batch. */
export const GROUP_COMMIT_WAIT_MS_MAX = 10;

export interface EmbeddedStoreOptions {
  /** Path of the database file; its folder is created if missing. Required (no default). */
  path: string;
  /**
   * SQLite's `synchronous` setting. `FULL` fsyncs every commit, so an acknowledged message survives
   * a power cut, not only a process crash.
   * @default 'FULL'
   */
  synchronous: 'FULL' | 'NORMAL';
  /**
   * How long a writer waits for another process's write transaction (the write lock), and how long
   * a read waits for a lock it needs. Waiting for the write lock does not block the event loop.
   * @default 5000
   */
  busyTimeoutMs: number;
  /**
   * Group commit: at most this many commits go to the store in one transaction (one fsync).
   * 1 turns group commit off (a transaction per commit).
   * @default 64
   */
  groupCommitMaxCommits: number;
  /**
   * Group commit: how long the first commit of a batch waits for others to join it. 0 waits for
   * nothing beyond the current event-loop turn: a batch is the commits that arrived in the turn,
   * plus those that queued while the previous transaction was being written or waited for the lock.
   * @default 0
   */
  groupCommitWaitMs: number;
  /**
   * The socket of the file's commit server (commit-server.ts; `chatring start` runs one for its
   * nodes): commits go there, to be batched with every other process's, instead of taking the
   * file's write lock here. Unreachable, this process writes on its own. Undefined: no server.
   */
  commitServer?: string;
  /**
   * How long a commit (or the ping that opens a connection) sent to the commit server may go
   * unanswered (a writer paused or wedged): then the connection is dropped, what it carried fails as
   * of unknown outcome, and this process writes the file itself until the server answers a ping
   * again (asked once a second: commit-client.ts). The same bound as the Cassandra store's request
   * timeout.
   * @default 3000
   */
  commitServerTimeoutMs: number;
}

export const DEFAULT_EMBEDDED_STORE_OPTIONS: Readonly<Omit<EmbeddedStoreOptions, 'path'>> =
  Object.freeze({
    synchronous: 'FULL',
    busyTimeoutMs: 5000,
    groupCommitMaxCommits: 64,
    groupCommitWaitMs: 0,
    commitServerTimeoutMs: 3_000,
  });

/** `synchronous` and `busyTimeoutMs` go into PRAGMA statements as text, so they are checked first. */
const OPTION_RULES: OptionRules<EmbeddedStoreOptions> = {
  path: { kind: 'string', pattern: /^.+$/s, describe: 'a file path' },
  synchronous: { kind: 'string', pattern: /^(FULL|NORMAL)$/, describe: 'FULL or NORMAL' },
  busyTimeoutMs: integerRule(0, TIMEOUT_MS_MAX),
  groupCommitMaxCommits: integerRule(1, GROUP_COMMIT_MAX_COMMITS_MAX),
  groupCommitWaitMs: integerRule(0, GROUP_COMMIT_WAIT_MS_MAX),
  commitServer: { kind: 'string', pattern: /^.+$/s, describe: 'a socket path' },
  commitServerTimeoutMs: integerRule(1, TIMEOUT_MS_MAX),
};

export function resolveEmbeddedStoreOptions(
  given: GivenOptions<EmbeddedStoreOptions>,
): Readonly<EmbeddedStoreOptions> {
  const defaults = DEFAULT_EMBEDDED_STORE_OPTIONS as Readonly<EmbeddedStoreOptions>;
  const options = resolveOptions('embedded store', defaults, given, OPTION_RULES);
  requireOption(options.path !== undefined, 'embedded store', 'path', 'is required');
  return options;
}
