import type { CassandraStoreOptions } from './options.js';

/**
 * Which partition a row lives in: messages by time bucket (`messageBucketMs` wide), the change
 * logs by version bucket (`versionsPerBucket` versions). Both widths are fixed once the keyspace
 * exists (schema.ts records them), so every process computes the same partitions.
 */
export class BucketLayout {
  readonly messageBucketMs: number;
  readonly versionsPerBucket: number;

  constructor(options: Pick<CassandraStoreOptions, 'messageBucketMs' | 'versionsPerBucket'>) {
    this.messageBucketMs = options.messageBucketMs;
    this.versionsPerBucket = options.versionsPerBucket;
  }

  /** The first millisecond of the time bucket that holds `sentAt`. */
  sentBucket(sentAt: number): number {
    return Math.floor(sentAt / this.messageBucketMs) * this.messageBucketMs;
  }

  /** The first version of the version bucket that holds `version`. */
  versionBucket(version: number): number {
    return Math.floor(version / this.versionsPerBucket) * this.versionsPerBucket;
  }
}
