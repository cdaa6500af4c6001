/**
 * RepairQueue's bounds: at most repairsMax half-sent messages wait at once (one more is left to the
 * client's retry), each is retried at most repairAttemptsMax times, and a repair that succeeds or a
 * closed queue leaves nothing pending; one being written is still pending.
 */
import t from 'tap';
import { RepairQueue } from '../../cache-node/repair-queue.js';
import type { Message } from '../../protocol/index.js';

const message = (clientMessageId: string): Message => ({
  messageId: `m-${clientMessageId}`,
  conversationId: 'a~b',
  senderId: 'a',
  recipientId: 'b',
  content: 'x',
  clientMessageId,
  sentAt: 1,
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

t.test('at most repairsMax pending; one more is dropped', async (t) => {
  const queue = new RepairQueue(
    { repairDelayMs: 60_000, repairAttemptsMax: 3, repairsMax: 2 },
    async () => undefined,
  );
  t.teardown(() => queue.close());
  queue.schedule('a', message('1'));
  queue.schedule('a', message('2'));
  t.equal(queue.size, 2, 'at the limit');
  queue.schedule('a', message('3'));
  t.equal(queue.size, 2, 'one past the limit is left to the client');
  queue.schedule('a', message('1'));
  t.equal(queue.size, 2, 'rescheduling a pending one does not count twice');
});

t.test('a failing repair is retried exactly repairAttemptsMax times', async (t) => {
  let calls = 0;
  const queue = new RepairQueue(
    { repairDelayMs: 1, repairAttemptsMax: 3, repairsMax: 10 },
    async () => {
      calls += 1;
      throw new Error('store still down');
    },
  );
  t.teardown(() => queue.close());
  queue.schedule('a', message('1'));
  for (let i = 0; i < 50 && queue.size > 0; i += 1) await settle();
  t.equal(calls, 3);
  t.equal(queue.size, 0, 'given up');
});

t.test('a successful repair leaves nothing pending; close cancels the rest', async (t) => {
  let calls = 0;
  const queue = new RepairQueue(
    { repairDelayMs: 1, repairAttemptsMax: 3, repairsMax: 10 },
    async () => {
      calls += 1;
    },
  );
  queue.schedule('a', message('1'));
  for (let i = 0; i < 50 && queue.size > 0; i += 1) await settle();
  t.equal(calls, 1);
  t.equal(queue.size, 0);
  const slow = new RepairQueue(
    { repairDelayMs: 60_000, repairAttemptsMax: 3, repairsMax: 10 },
    async () => undefined,
  );
  slow.schedule('a', message('2'));
  slow.close();
  t.equal(slow.size, 0);
  slow.schedule('a', message('3'));
  t.equal(slow.size, 0, 'a closed queue takes nothing');
});

t.test('a repair being written still counts as pending until its commit is done', async (t) => {
  let finish = () => {};
  let started = false;
  const queue = new RepairQueue({ repairDelayMs: 1, repairAttemptsMax: 3, repairsMax: 1 }, () => {
    started = true;
    return new Promise<void>((resolve) => (finish = resolve));
  });
  t.teardown(() => queue.close());
  queue.schedule('a', message('1'));
  for (let i = 0; i < 50 && !started; i += 1) await settle();
  t.ok(started, 'the repair has started');
  // Readers wait on this to know the copy is written: it must not drop before the commit ends.
  t.equal(queue.size, 1, 'in flight is pending');
  queue.schedule('a', message('2'));
  t.equal(queue.size, 1, 'a repair in flight counts against repairsMax');
  finish();
  await settle();
  t.equal(queue.size, 0, 'done');
});
