/**
 * HotPathHistogram (transport/metrics): the request and store-call histograms observed without
 * prom-client's per-call label hashing must scrape exactly as prom-client's own Histogram does for
 * the same observations (bounds inclusive, cumulative buckets, +Inf, sum, count, one series per
 * label set), reset with the registry, and refuse what prom-client refuses.
 */
import t from 'tap';
import { Histogram, Registry } from 'prom-client';
import {
  HotPathHistogram,
  parsePrometheusText,
  type MetricFamily,
} from '../../transport/metrics/index.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
// On a bound, between bounds, below the first, past the last, zero, and a repeat.
const OBSERVED: [string, number][] = [
  ['GET', 0.001],
  ['GET', 0.0005],
  ['GET', 0.05],
  ['GET', 0.05],
  ['POST', 1],
  ['POST', 7.5],
  ['POST', 0],
];

async function families(registry: Registry): Promise<Map<string, MetricFamily>> {
  return parsePrometheusText(await registry.metrics());
}

t.test('scrapes exactly as prom-client Histogram does for the same observations', async (t) => {
  const theirs = new Registry();
  const reference = new Histogram({
    name: 'x_seconds',
    help: 'h',
    labelNames: ['method'] as const,
    buckets: BUCKETS,
    registers: [theirs],
  });
  const ours = new Registry();
  const hot = new HotPathHistogram(ours, {
    name: 'x_seconds',
    help: 'h',
    labelNames: ['method'] as const,
    buckets: BUCKETS,
  });
  for (const [method, value] of OBSERVED) {
    reference.observe({ method }, value);
    hot.child({ method }).observe(value);
  }
  const [expected, actual] = [await families(theirs), await families(ours)];
  t.same(actual.get('x_seconds'), expected.get('x_seconds'));
  const bucket = (method: string, le: string) =>
    actual
      .get('x_seconds')
      ?.samples.find(
        (sample) =>
          sample.name === 'x_seconds_bucket' &&
          sample.labels.method === method &&
          sample.labels.le === le,
      )?.value;
  t.equal(bucket('GET', '0.001'), 2, 'a value on a bound counts in it');
  t.equal(bucket('GET', '0.1'), 4, 'cumulative');
  t.equal(bucket('POST', '1'), 2);
  t.equal(bucket('POST', '+Inf'), 3, 'past the last bound: only +Inf');
  t.equal(hot.child({ method: 'GET' }), hot.child({ method: 'GET' }), 'one child per label set');
});

t.test('resets with the registry; children stay valid', async (t) => {
  const registry = new Registry();
  const hot = new HotPathHistogram(registry, {
    name: 'y_seconds',
    help: 'h',
    labelNames: ['op'] as const,
    buckets: BUCKETS,
  });
  const child = hot.child({ op: 'read' });
  child.observe(0.5);
  child.observe(Number.NaN);
  registry.resetMetrics();
  child.observe(0.002);
  const samples = (await families(registry)).get('y_seconds')?.samples ?? [];
  const of = (name: string) => samples.find((sample) => sample.name === name)?.value;
  t.equal(of('y_seconds_count'), 1, 'only what came after the reset (NaN never counts)');
  t.equal(of('y_seconds_sum'), 0.002);
});

t.test('refuses bounds out of order, a reserved label, a missing label value', async (t) => {
  const spec = { name: 'z', help: 'h', labelNames: ['op'] as const };
  t.throws(() => new HotPathHistogram(new Registry(), { ...spec, buckets: [0.1, 0.1] }), {
    message: /increase/,
  });
  t.throws(
    () =>
      new HotPathHistogram(new Registry(), {
        ...spec,
        labelNames: ['le'] as const,
        buckets: BUCKETS,
      }),
    { message: /reserved/ },
  );
  const hot = new HotPathHistogram(new Registry(), { ...spec, buckets: BUCKETS });
  t.throws(() => hot.child({} as { op: string }), { message: /"op" has no value/ });
  const registry = new Registry();
  new HotPathHistogram(registry, { ...spec, buckets: BUCKETS });
  t.throws(
    () => new HotPathHistogram(registry, { ...spec, buckets: BUCKETS }),
    /already been registered/,
    'one name per registry, as prom-client',
  );
});
