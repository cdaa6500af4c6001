/**
 * The processes a test starts run without tap's process-tracking loader (test/suite/
 * plain-children.ts), whether the test passes an environment or lets them inherit its own, and
 * keep every other option and variable they were given.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';

const run = promisify(execFile);
const PRINT_ENVIRONMENT =
  'console.log(JSON.stringify({ heapLimitMiB: Math.round(require("v8").getHeapStatistics().heap_size_limit / 2 ** 20), nodeOptions: process.env.NODE_OPTIONS ?? null, tracked: Object.keys(process.env).filter((k) => k.startsWith("_TAPJS_PROCESSINFO_")), mine: process.env.MINE ?? null, loaders: process.execArgv.filter((a) => /^--(import|loader|require)/.test(a)) }))';

t.test('this test process itself runs with the loader (tap started it)', async (t) => {
  t.match(process.execArgv.join(' '), /@tapjs\/processinfo/);
});

t.test('a child inheriting the environment gets no loader and no tracking variables', async (t) => {
  const { stdout } = await run(process.execPath, ['-e', PRINT_ENVIRONMENT]);
  const { heapLimitMiB, ...child } = JSON.parse(stdout) as Record<string, unknown>;
  t.type(heapLimitMiB, 'number');
  t.same(child, { nodeOptions: null, tracked: [], mine: null, loaders: [] });
});

t.test('a child given an environment keeps its own NODE_OPTIONS and variables', async (t) => {
  const { stdout } = await run(process.execPath, ['-e', PRINT_ENVIRONMENT], {
    env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=200', MINE: 'kept' },
  });
  const { heapLimitMiB, nodeOptions, ...child } = JSON.parse(stdout) as Record<string, unknown>;
  // processinfo's hook rewrote NODE_OPTIONS (it quotes each entry): the option still took effect.
  t.match(nodeOptions, /^"?--max-old-space-size=200"?$/);
  t.ok(Number(heapLimitMiB) < 300, `the child's heap limit is ${String(heapLimitMiB)} MiB`);
  t.same(child, { tracked: [], mine: 'kept', loaders: [] });
});
