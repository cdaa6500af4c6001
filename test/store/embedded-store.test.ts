/** The store conformance suite on the embedded (SQLite) store, plus what only it promises. */
import t from 'tap';
import { join } from 'node:path';
import { EmbeddedStore } from '../../store-adapter/index.js';
import { runStoreConformance, freshUser, makeMessage, messageCommit } from './store-conformance.js';

const directory = t.testdir();

runStoreConformance(t, {
  name: 'embedded',
  open: async () => new EmbeddedStore({ path: join(directory, 'conformance.sqlite') }),
});

t.test(
  'two handles on one file (two processes of a local cluster) see each other and fence each other',
  async (t) => {
    const path = join(directory, 'shared.sqlite');
    const first = new EmbeddedStore({ path });
    const second = new EmbeddedStore({ path });
    t.teardown(async () => {
      await first.close();
      await second.close();
    });
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    await first.commit(messageCommit(alice, 1, makeMessage(alice, bob, 1)));
    t.equal(await second.mailboxVersion(alice), 1);
    await t.rejects(second.commit(messageCommit(alice, 1, makeMessage(alice, bob, 2))), {
      code: 'STORE_VERSION_CONFLICT',
    });
  },
);
