/** The store conformance suite on the embedded (SQLite) store, plus what only it promises. */
import t from 'tap';
import Database from 'better-sqlite3';
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

t.test(
  'a file of schema 1 (unique idempotency index) is migrated: a clientMessageId used again keeps both messages',
  async (t) => {
    const path = join(directory, 'schema-1.sqlite');
    const [alice, bob] = [freshUser('a'), freshUser('b')];
    const first = makeMessage(alice, bob, 10);
    let store = new EmbeddedStore({ path });
    await store.commit(messageCommit(bob, 1, first));
    await store.close();
    // Back to what schema 1 left: its unique index and its version.
    const database = new Database(path);
    database.exec(
      'DROP INDEX messages_by_client_id; CREATE UNIQUE INDEX messages_by_client_id ON messages (owner_id, sender_id, client_message_id); PRAGMA user_version = 1;',
    );
    database.close();
    store = new EmbeddedStore({ path });
    t.teardown(() => store.close());
    const again = { ...makeMessage(alice, bob, 20), clientMessageId: first.clientMessageId };
    await store.commit(messageCommit(bob, 2, again));
    const page = await store.messagesPage(bob, first.conversationId, { limit: 10 });
    t.same(
      page.map((message) => message.messageId),
      [again.messageId, first.messageId],
    );
    const check = new Database(path, { readonly: true });
    t.teardown(() => check.close());
    t.equal(check.pragma('user_version', { simple: true }), 2);
    const index = (check.pragma('index_list(messages)') as { name: string; unique: number }[]).find(
      (entry) => entry.name === 'messages_by_client_id',
    );
    t.equal(index?.unique, 0, 'the idempotency index is no longer unique');
  },
);
