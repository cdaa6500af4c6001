/**
 * The logging pieces on their own: request ids (taken when plain, else made, unique), the level a
 * request line gets, the level option, the throttle of repeated events, redaction, the
 * launcher's readable lines, and a server's request lines (its own and its handlers', both with
 * the request id).
 */
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import t from 'tap';
import { logFormatOption, readableLogLine } from '../../cli/log-lines.js';
import { createLogger, LogThrottle, logLevelOption } from '../../transport/index.js';
import { requestIdSource } from '../../transport/logging/logger.js';
import { levelOf } from '../../transport/logging/request-log.js';
import { createHttpServer } from '../../transport/http-server.js';

/** A logger whose lines land in an array (synchronously). */
function capturedLogger(level: 'info' | 'debug' = 'info') {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return {
    logger: createLogger({ component: 'node', member: 'node-1', level, destination }),
    lines,
  };
}

t.test(
  'request ids: a plain caller id is kept, anything else is replaced by a unique one',
  async (t) => {
    const next = requestIdSource();
    t.equal(next('trace-1.a:b_c'), 'trace-1.a:b_c');
    t.equal(next('x'.repeat(64)), 'x'.repeat(64), 'at the length limit: kept');
    const made = new Set([
      next(undefined),
      next('x'.repeat(65)),
      next('has space'),
      next(['a', 'b']),
      next(''),
    ]);
    t.equal(made.size, 5, 'made ids are distinct');
    for (const id of made) t.match(id, /^[\w-]+-[0-9a-z]+$/);
    t.not(
      requestIdSource()(undefined),
      next(undefined),
      'another process (source) makes other ids',
    );
  },
);

t.test(
  'levels: failures and writes at info or above, reads debug, the background trace',
  async (t) => {
    t.equal(levelOf('GET', '/v1/users/:userId/conversations', 200), 'debug');
    t.equal(levelOf('POST', '/v1/messages', 201), 'info');
    t.equal(levelOf('GET', '/v1/users/:userId/conversations', 404), 'info');
    t.equal(levelOf('POST', '/v1/messages', 503), 'error');
    t.equal(levelOf('POST', '/control/v1/heartbeat', 200), 'trace');
    t.equal(levelOf('POST', '/control/v1/heartbeat', 403), 'info', 'a refused heartbeat shows');
    t.equal(levelOf('GET', '/healthz', 200), 'trace');
  },
);

t.test('logLevel: the known levels, else INVALID_OPTION', async (t) => {
  t.equal(logLevelOption('x', undefined), 'info');
  t.equal(logLevelOption('x', 'debug'), 'debug');
  t.equal(logLevelOption('x', 'silent'), 'silent');
  t.throws(() => logLevelOption('x', 'verbose'), { code: 'INVALID_OPTION', message: /logLevel/ });
  t.equal(logFormatOption(undefined), 'pretty');
  t.equal(logFormatOption('json'), 'json');
  t.throws(() => logFormatOption('xml'), { code: 'INVALID_OPTION' });
});

t.test('every line names its process; secrets and bodies are redacted', async (t) => {
  const { logger, lines } = capturedLogger();
  logger.info({ content: 'hello bob', token: 't0k3n', epoch: 3 }, 'something');
  logger.debug('not at info');
  t.equal(lines.length, 1);
  t.match(lines[0], {
    level: 'info',
    component: 'node',
    member: 'node-1',
    msg: 'something',
    epoch: 3,
    content: '[redacted]',
    token: '[redacted]',
  });
  t.type(lines[0]?.time, 'number');
});

t.test('LogThrottle: one line per interval per key, with the count it held back', async (t) => {
  const { logger, lines } = capturedLogger();
  let now = 0;
  const throttle = new LogThrottle(logger, 1_000, () => now);
  throttle.log('error', 'commit', { n: 1 }, 'failed');
  throttle.log('error', 'commit', { n: 2 }, 'failed');
  throttle.log('error', 'other', { n: 3 }, 'failed elsewhere');
  now = 999;
  throttle.log('error', 'commit', { n: 4 }, 'failed');
  now = 1_000;
  throttle.log('error', 'commit', { n: 5 }, 'failed');
  t.same(
    lines.map((line) => [line.n, line.suppressed]),
    [
      [1, undefined],
      [3, undefined],
      [5, 2],
    ],
  );
});

t.test('readable lines for npm start; json kept as is; plain lines pass', async (t) => {
  const json = JSON.stringify({
    level: 'info',
    time: Date.UTC(2026, 11, 2, 16, 5, 9),
    component: 'node',
    member: 'node-1',
    msg: 'ring adopted',
    epoch: 4,
    adopted: ['s1'],
  });
  t.equal(readableLogLine(json, 'pretty'), '16:05:09 INFO  ring adopted epoch=4 adopted=["s1"]');
  t.equal(readableLogLine(json, 'json'), json);
  t.equal(
    readableLogLine('node node-1 listening on http://x:1', 'pretty'),
    'node node-1 listening on http://x:1',
  );
  t.equal(readableLogLine('{not json', 'pretty'), '{not json');
});

t.test(
  "a server's lines: one per answer at its level with the request id; a 5xx carries its error",
  async (t) => {
    const { logger, lines } = capturedLogger('info');
    const app = createHttpServer({}, { logger });
    t.teardown(() => app.close());
    app.get('/v1/quiet', async () => ({ ok: true }));
    app.post('/v1/noisy', async () => ({ ok: true }));
    app.get('/v1/broken', async () => {
      throw new TypeError('a bug in a handler');
    });
    t.equal((await app.inject({ method: 'GET', url: '/v1/quiet' })).statusCode, 200);
    t.same(lines, [], 'a successful read is debug: nothing at info');
    const noisy = await app.inject({
      method: 'POST',
      url: '/v1/noisy',
      headers: { 'x-request-id': 'req-42' },
    });
    t.equal(noisy.statusCode, 200);
    t.equal((await app.inject({ method: 'GET', url: '/no/such' })).statusCode, 404);
    t.equal((await app.inject({ method: 'GET', url: '/v1/broken' })).statusCode, 500);
    t.match(lines, [
      {
        level: 'info',
        msg: 'answered',
        requestId: 'req-42',
        method: 'POST',
        route: '/v1/noisy',
        status: 200,
        member: 'node-1',
      },
      { level: 'info', msg: 'answered', method: 'GET', route: 'unmatched', status: 404 },
      {
        level: 'error',
        msg: 'answered',
        route: '/v1/broken',
        status: 500,
        err: { type: 'TypeError', message: 'a bug in a handler', stack: /TypeError/ },
      },
    ]);
    t.equal(lines.length, 3, 'one line per answer, nothing below the level');
    t.type(lines[0]?.ms, 'number');
    t.match(lines[1]?.requestId, /^[\w-]+-[0-9a-z]+$/, 'a made id on the refusal');
    t.equal(lines[1]?.err, undefined, 'a 4xx has no error attached');
  },
);

t.test(
  'stdout lines are buffered, yet none waits long: a quiet process writes within the interval, one killed outright loses at most its last interval, an exiting one loses none',
  async (t) => {
    const logger = new URL('../../dist/transport/logging/logger.js', import.meta.url).href;
    // A child that logs one line, then either idles (the timer must write it), is killed outright
    // after two intervals, or exits at once (the exit must write it).
    const run = (then: 'idle' | 'kill' | 'exit') =>
      new Promise<{ stdout: string; firstLineAfterMs: number | undefined }>((resolve, reject) => {
        const script = `
          const { createLogger, LOG_FLUSH_INTERVAL_MS } = await import(${JSON.stringify(logger)});
          const log = createLogger({ component: 'node', member: 'n1', level: 'info' });
          log.info({ then: ${JSON.stringify(then)} }, 'one line');
          if (${JSON.stringify(then)} === 'exit') process.exit(0);
          else if (${JSON.stringify(then)} === 'kill')
            setTimeout(() => process.kill(process.pid, 'SIGKILL'), 2 * LOG_FLUSH_INTERVAL_MS);
          else setTimeout(() => process.exit(0), 15_000);
        `;
        const started = performance.now();
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let stdout = '';
        let firstLineAfterMs: number | undefined;
        child.stdout.setEncoding('utf8').on('data', (text: string) => {
          firstLineAfterMs ??= performance.now() - started;
          stdout += text;
          if (then === 'idle') child.kill('SIGKILL');
        });
        child.once('error', reject);
        child.once('close', () => resolve({ stdout, firstLineAfterMs }));
      });
    for (const then of ['idle', 'kill', 'exit'] as const) {
      const { stdout, firstLineAfterMs } = await run(then);
      t.match(stdout, /"msg":"one line"/, `${then}: the line was written`);
      if (then === 'idle')
        t.ok(
          (firstLineAfterMs ?? Infinity) < 12_000,
          `idle: written by the timer, not at exit (${Math.round(firstLineAfterMs ?? -1)} ms)`,
        );
    }
  },
);
