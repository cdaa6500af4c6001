/**
 * The strict Prometheus text reader the metrics tests rely on: it reads what prom-client writes
 * (HELP, TYPE, labels with escapes, histograms, infinities), sums a counter over the labels left
 * out, and refuses what Prometheus would refuse (a bad name, an unterminated or badly escaped
 * label value, a value that is not a number, a histogram bucket without `le`, a second TYPE, a
 * TYPE after the family's samples), naming the line.
 */
import t from 'tap';
import { Counter, Histogram, Registry } from 'prom-client';
import {
  parsePrometheusText,
  sampleSum,
  samplesOf,
} from '../../transport/metrics/prometheus-text.js';

t.test('reads what prom-client writes, escapes and histograms included', async (t) => {
  const registry = new Registry();
  const counter = new Counter({
    name: 'demo_requests_total',
    help: 'Requests "quoted" \\ with a backslash\nand a newline.',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  counter.inc({ route: '/v1/users/:userId', status: '200' }, 3);
  counter.inc({ route: 'a "quoted" \\ value\nwith a newline', status: '500' });
  const histogram = new Histogram({
    name: 'demo_duration_seconds',
    help: 'Durations.',
    labelNames: ['route'],
    buckets: [0.1, 1],
    registers: [registry],
  });
  histogram.observe({ route: '/x' }, 0.05);
  histogram.observe({ route: '/x' }, 5);

  const families = parsePrometheusText(await registry.metrics());
  t.equal(families.get('demo_requests_total')?.type, 'counter');
  t.equal(
    families.get('demo_requests_total')?.help,
    'Requests "quoted" \\ with a backslash\nand a newline.',
  );
  t.equal(sampleSum(families, 'demo_requests_total'), 4);
  t.equal(sampleSum(families, 'demo_requests_total', { status: '200' }), 3);
  t.equal(
    sampleSum(families, 'demo_requests_total', { route: 'a "quoted" \\ value\nwith a newline' }),
    1,
  );
  const duration = families.get('demo_duration_seconds');
  t.equal(duration?.type, 'histogram');
  t.same(
    duration?.samples.map((sample) => [sample.name, sample.labels.le, sample.value]),
    [
      ['demo_duration_seconds_bucket', '0.1', 1],
      ['demo_duration_seconds_bucket', '1', 1],
      ['demo_duration_seconds_bucket', '+Inf', 2],
      ['demo_duration_seconds_sum', undefined, 5.05],
      ['demo_duration_seconds_count', undefined, 2],
    ],
  );
  t.equal(samplesOf(families).length, 7);
});

t.test('values: integers, floats, exponents, infinities, NaN, an optional timestamp', async (t) => {
  const families = parsePrometheusText(
    [
      '# TYPE a gauge',
      'a 1',
      'b{x="1"} -2.5e-3',
      'c +Inf',
      'd -Inf',
      'e NaN 1700000000000',
      'f{x="1",} .5',
    ].join('\n'),
  );
  t.same(
    samplesOf(families).map((sample) => sample.value),
    [1, -0.0025, Infinity, -Infinity, NaN, 0.5],
  );
});

t.test('refuses what Prometheus refuses, naming the line', async (t) => {
  const refusals: [string, RegExp][] = [
    ['1abc 1', /line 1: no metric name/],
    ['a{x="1} 1', /unterminated label value/],
    ['a{x="\\t"} 1', /invalid escape/],
    ['a{x=1} 1', /malformed label/],
    ['a{x="1"y="2"} 1', /not separated/],
    ['a{x="1",x="2"} 1', /label x twice/],
    ['a one', /not a number/],
    ['a Nan', /not a number/],
    ['a', /not "name\{labels\} value"/],
    ['a 1 2 3', /not "name\{labels\} value"/],
    ['a 1 soon', /timestamp/],
    ['# TYPE a histogram\na_bucket 1', /line 2: a histogram bucket without le/],
    ['# TYPE a counter\n# TYPE a counter', /line 2: a TYPE after/],
    ['a 1\n# TYPE a gauge', /line 2: a TYPE after/],
    ['# TYPE a widget', /unknown type/],
    ['# HELP a one\n# HELP a two', /second HELP/],
  ];
  for (const [text, message] of refusals)
    t.throws(() => parsePrometheusText(text), message, JSON.stringify(text));
});
