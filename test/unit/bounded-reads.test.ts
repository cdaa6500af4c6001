/**
 * readBounded (cache-node/bounded-reads.ts): every item read, answers in the items' order, never
 * more than the limit under way at once (the limit reached, never passed), and no read started
 * after the first failure.
 */
import t from 'tap';
import { STORE_READS_IN_FLIGHT, readBounded } from '../../cache-node/bounded-reads.js';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('answers in order, at most the limit under way, the limit reached', async (t) => {
  let underWay = 0;
  let most = 0;
  const items = Array.from({ length: 100 }, (_, index) => index);
  const answers = await readBounded(items, async (item) => {
    underWay += 1;
    most = Math.max(most, underWay);
    await tick(item % 7); // finishing out of order
    underWay -= 1;
    return item * 2;
  });
  t.same(
    answers,
    items.map((item) => item * 2),
    'every answer, in the items’ order',
  );
  t.equal(most, STORE_READS_IN_FLIGHT, `${STORE_READS_IN_FLIGHT} under way at most, and reached`);
});

t.test('fewer items than the limit: all at once; none: nothing read', async (t) => {
  let underWay = 0;
  let most = 0;
  await readBounded([1, 2, 3], async () => {
    underWay += 1;
    most = Math.max(most, underWay);
    await tick(5);
    underWay -= 1;
  });
  t.equal(most, 3);
  t.same(await readBounded([], async () => 1), []);
});

t.test('the first failure fails the whole; no read starts after it', async (t) => {
  const started: number[] = [];
  const items = Array.from({ length: 50 }, (_, index) => index);
  await t.rejects(
    readBounded(
      items,
      async (item) => {
        started.push(item);
        await tick(1);
        if (item === 3) throw new Error('store down');
      },
      4,
    ),
    { message: 'store down' },
  );
  await tick(20);
  t.ok(started.length <= 8, `only the reads under way or already queued ran (${started.length})`);
});
