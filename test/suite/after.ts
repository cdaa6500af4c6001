/**
 * tap's `after` step (package.json `tap.after`): runs once, after every test file. It stops the
 * local Cassandra node the test harness started on demand (recorded as started for the tests), so a
 * suite leaves no server behind. A node an operator or the bench started and the tests reused is
 * left running, and so is anything CASSANDRA_CONTACT_POINTS names: those were there before.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { CASSANDRA_STARTED_FOR_TESTS, cassandraFromEnvironment } from '../../harness/index.js';
import { repositoryRoot } from '../../harness/repository-root.js';

/** The part of scripts/cassandra/cassandra.mjs used here (it is plain JS, without types). */
interface CassandraScript {
  recordedCassandra(): { pid: number; startedFor?: string } | null;
  stopCassandra(options: { log(message: string): void }): Promise<{ stopped: boolean }>;
}

if (cassandraFromEnvironment() === undefined) {
  const scriptUrl = pathToFileURL(join(repositoryRoot(), 'scripts', 'cassandra', 'cassandra.mjs'));
  const script = (await import(scriptUrl.href)) as CassandraScript;
  const node = script.recordedCassandra();
  if (node?.startedFor === CASSANDRA_STARTED_FOR_TESTS)
    await script.stopCassandra({ log: (message) => console.log(`# ${message}`) });
}
