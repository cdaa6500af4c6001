/**
 * Proves the per-user lock table: work for one user runs one at a time, different users run
 * concurrently; at most waitersMax requests wait behind a holder (exactly waitersMax are accepted,
 * one more is refused with USER_BUSY at once); a wait longer than lockWaitTimeoutMs is refused with
 * USER_BUSY; the lock is released after failing work; idle users leave the table.
 * No assertion depends on elapsed time: holders wait on promises the test resolves.
 */
import t from 'tap';
import {
  UserLockTable,
  DEFAULT_USER_LOCK_TABLE_OPTIONS,
} from '../../cache-node/user-lock-table.js';

/** A promise the test resolves by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Starts work that holds the user's lock until the returned gate opens; resolves `entered` once it holds. */
function holdLock(locks: UserLockTable, userId: string) {
  const release = gate();
  const entered = gate();
  const done = locks.run(userId, async () => {
    entered.open();
    await release.promise;
    return 'held';
  });
  return { entered: entered.promise, release: release.open, done };
}

/** Lets every queued microtask and promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

t.test('defaults: 64 waiters, 5 s lock wait', async (t) => {
  t.same(DEFAULT_USER_LOCK_TABLE_OPTIONS, { waitersMax: 64, lockWaitTimeoutMs: 5_000 });
  t.ok(Object.isFrozen(DEFAULT_USER_LOCK_TABLE_OPTIONS));
});

t.test('work for one user never overlaps, and runs in arrival order', async (t) => {
  const locks = new UserLockTable({ lockWaitTimeoutMs: 60_000 });
  let inside = 0;
  let maxInside = 0;
  const order: number[] = [];
  const runs = Array.from({ length: 10 }, (_, index) =>
    locks.run('alice', async () => {
      inside += 1;
      maxInside = Math.max(maxInside, inside);
      await settle();
      await settle();
      order.push(index);
      inside -= 1;
      return index;
    }),
  );
  t.same(
    await Promise.all(runs),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    'each run returns its own result',
  );
  t.equal(maxInside, 1, 'never two at once');
  t.same(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'first come, first served');
  t.equal(locks.busyUsers, 0);
});

t.test('different users run concurrently', async (t) => {
  const locks = new UserLockTable({ lockWaitTimeoutMs: 60_000 });
  const alice = holdLock(locks, 'alice');
  await alice.entered;
  t.equal(await locks.run('bob', async () => 'bob ran'), 'bob ran', 'bob is not blocked by alice');
  t.ok(locks.isBusy('alice'));
  t.notOk(locks.isBusy('bob'), 'bob left the table when done');
  t.equal(locks.busyUsers, 1);
  alice.release();
  t.equal(await alice.done, 'held');
  t.equal(locks.busyUsers, 0);
});

t.test(
  'at the limit: exactly waitersMax waiters are accepted, one more is refused at once',
  async (t) => {
    const waitersMax = 3;
    // The wait timeout is far beyond the test: a refusal can only come from the waiter limit.
    const locks = new UserLockTable({ waitersMax, lockWaitTimeoutMs: 600_000 });
    const holder = holdLock(locks, 'alice');
    await holder.entered;
    const ran: number[] = [];
    const waiters = Array.from({ length: waitersMax }, (_, index) =>
      locks.run('alice', async () => void ran.push(index)),
    );
    const refused = locks.run('alice', async () => void ran.push(99));
    // Refused while the holder still holds the lock: the refusal does not wait for anything.
    await t.rejects(refused, {
      name: 'ChatringError',
      code: 'USER_BUSY',
      status: 503,
      retryable: true,
    });
    t.same(ran, [], 'nothing ran yet: the holder still holds the lock');
    t.ok(locks.isBusy('alice'));
    holder.release();
    await holder.done;
    await Promise.all(waiters);
    t.same(ran, [0, 1, 2], 'all waitersMax waiters ran, the refused one never did');
    t.equal(locks.busyUsers, 0);
    t.equal(
      await locks.run('alice', async () => 'free again'),
      'free again',
      'the user is usable after the burst',
    );
  },
);

t.test('waitersMax 0: the holder runs, any waiter is refused', async (t) => {
  const locks = new UserLockTable({ waitersMax: 0, lockWaitTimeoutMs: 600_000 });
  const holder = holdLock(locks, 'alice');
  await holder.entered;
  await t.rejects(
    locks.run('alice', async () => 'never'),
    { code: 'USER_BUSY' },
  );
  holder.release();
  t.equal(await holder.done, 'held');
});

t.test(
  'a refused waiter does not take a place: after the burst the limit is whole again',
  async (t) => {
    const locks = new UserLockTable({ waitersMax: 1, lockWaitTimeoutMs: 600_000 });
    const holder = holdLock(locks, 'alice');
    await holder.entered;
    const waiter = locks.run('alice', async () => 'waited');
    await t.rejects(
      locks.run('alice', async () => 'x'),
      { code: 'USER_BUSY' },
    );
    await t.rejects(
      locks.run('alice', async () => 'y'),
      { code: 'USER_BUSY' },
      'still full, still refused',
    );
    holder.release();
    t.equal(await waiter, 'waited');
    const second = holdLock(locks, 'alice');
    await second.entered;
    const again = locks.run('alice', async () => 'one waiter again');
    second.release();
    t.equal(await again, 'one waiter again');
  },
);

t.test('a wait past lockWaitTimeoutMs is refused with USER_BUSY', async (t) => {
  const locks = new UserLockTable({ waitersMax: 4, lockWaitTimeoutMs: 50 });
  const holder = holdLock(locks, 'alice');
  await holder.entered;
  let ran = false;
  // The holder is released only after the waiter has been refused, so the refusal must be the timeout.
  await t.rejects(
    locks.run('alice', async () => {
      ran = true;
    }),
    {
      name: 'ChatringError',
      code: 'USER_BUSY',
      message: 'waited over 50 ms for the lock of alice',
    },
  );
  t.notOk(ran, 'the timed-out work never runs');
  // Two users time out at once: each refusal names its own user (one sentinel, caught per user).
  const bob = holdLock(locks, 'bob');
  await bob.entered;
  const carol = holdLock(locks, 'carol');
  await carol.entered;
  const refusals = await Promise.allSettled([
    locks.run('bob', async () => 'never'),
    locks.run('carol', async () => 'never'),
  ]);
  t.same(
    refusals.map((outcome) =>
      outcome.status === 'rejected' ? (outcome.reason as Error).message : 'ran',
    ),
    ['waited over 50 ms for the lock of bob', 'waited over 50 ms for the lock of carol'],
  );
  t.equal(locks.stats.refusedWaitTimeout, 3, 'each counted');
  bob.release();
  carol.release();
  await Promise.all([bob.done, carol.done]);
  holder.release();
  t.equal(await holder.done, 'held', 'the holder is unaffected');
  await settle();
  t.equal(locks.busyUsers, 0, 'the timed-out waiter left the table');
  t.equal(
    await locks.run('alice', async () => 'after timeout'),
    'after timeout',
    'the lock is free afterwards',
  );
});

t.test('failing work releases the lock and its error reaches the caller unchanged', async (t) => {
  const locks = new UserLockTable();
  const failure = new Error('work failed');
  await t.rejects(
    locks.run('alice', async () => {
      throw failure;
    }),
    failure,
  );
  t.equal(locks.busyUsers, 0);
  t.equal(await locks.run('alice', async () => 'next'), 'next');
});

t.test('idle users are dropped from the table', async (t) => {
  const locks = new UserLockTable();
  await Promise.all(
    Array.from({ length: 100 }, (_, index) =>
      locks.run(`user-${index % 10}`, async () => settle()),
    ),
  );
  t.equal(locks.busyUsers, 0);
  for (let index = 0; index < 10; index += 1) t.notOk(locks.isBusy(`user-${index}`));
});
