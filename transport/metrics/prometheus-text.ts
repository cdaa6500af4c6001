/**
 * A strict reader of Prometheus' text exposition format (version 0.0.4), for tests and tools that
 * check what `GET /metrics` serves: every line is a `# HELP`, a `# TYPE`, another comment, a blank,
 * or a sample `name{label="value",...} value [timestamp]`; names, label names, escapes and values
 * are checked as Prometheus checks them, a family's TYPE comes before its samples and at most
 * once, and a histogram's samples are its `_bucket` (with `le`), `_sum` and `_count`. Anything
 * else throws, naming the line.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface MetricSample {
  /** The sample's own name (`x_bucket` for a histogram `x`). */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  samples: MetricSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly string[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
/** Suffixes whose samples belong to the family without them. */
const FAMILY_SUFFIXES: Record<string, readonly string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
};

/** Parses a whole exposition; families by name, in the order they first appear. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    const fail = (why: string): never => {
      throw new Error(`line ${index + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      readComment(line, families, fail);
      return;
    }
    const sample = readSample(line, fail);
    const family = familyOf(sample.name, families);
    if (family === undefined) {
      families.set(sample.name, {
        name: sample.name,
        type: 'untyped',
        help: '',
        samples: [sample],
      });
      return;
    }
    if (family.type === 'histogram' && sample.name === `${family.name}_bucket`) {
      if (sample.labels.le === undefined) fail('a histogram bucket without le');
    }
    family.samples.push(sample);
  });
  return families;
}

/** Every sample of every family, flat. */
export function samplesOf(families: Map<string, MetricFamily>): MetricSample[] {
  return [...families.values()].flatMap((family) => family.samples);
}

/**
 * The sum of the samples named `name` whose labels include every label of `where` (a counter's
 * total over the labels left out); 0 when there is none.
 */
export function sampleSum(
  families: Map<string, MetricFamily>,
  name: string,
  where: Record<string, string> = {},
): number {
  let sum = 0;
  for (const sample of samplesOf(families))
    if (
      sample.name === name &&
      Object.entries(where).every(([label, value]) => sample.labels[label] === value)
    )
      sum += sample.value;
  return sum;
}

function readComment(
  line: string,
  families: Map<string, MetricFamily>,
  fail: (why: string) => never,
): void {
  const match = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
  if (match === null) return; // any other comment
  const [, keyword, name = '', rest = ''] = match;
  if (!METRIC_NAME.test(name)) fail('an invalid metric name');
  const existing = families.get(name);
  if (keyword === 'HELP') {
    if (existing !== undefined && existing.help !== '') fail('a second HELP');
    if (existing === undefined)
      families.set(name, { name, type: 'untyped', help: unescapeHelp(rest), samples: [] });
    else existing.help = unescapeHelp(rest);
    return;
  }
  if (!TYPES.includes(rest)) fail(`an unknown type "${rest}"`);
  if (existing !== undefined && (existing.samples.length > 0 || existing.type !== 'untyped'))
    fail('a TYPE after the family was typed or had samples');
  if (existing === undefined)
    families.set(name, { name, type: rest as MetricType, help: '', samples: [] });
  else existing.type = rest as MetricType;
}

/** The family a sample belongs to: its own name, or that name less a histogram/summary suffix. */
function familyOf(name: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  const own = families.get(name);
  if (own !== undefined) return own;
  for (const [type, suffixes] of Object.entries(FAMILY_SUFFIXES))
    for (const suffix of suffixes) {
      if (!name.endsWith(suffix)) continue;
      const family = families.get(name.slice(0, -suffix.length));
      if (family?.type === type) return family;
    }
  return undefined;
}

function readSample(line: string, fail: (why: string) => never): MetricSample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (nameMatch === null) fail('no metric name');
  const name = nameMatch[0];
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at += 1;
    while (line[at] !== '}') {
      const labelMatch = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(at));
      if (labelMatch?.[1] === undefined) fail('a malformed label');
      const labelName = labelMatch[1];
      if (!LABEL_NAME.test(labelName)) fail('an invalid label name');
      if (labelName in labels) fail(`label ${labelName} twice`);
      at += labelMatch[0].length;
      let value = '';
      for (;;) {
        const char = line[at];
        if (char === undefined) fail('an unterminated label value');
        at += 1;
        if (char === '"') break;
        if (char !== '\\') {
          value += char;
          continue;
        }
        const escaped = line[at];
        at += 1;
        if (escaped === 'n') value += '\n';
        else if (escaped === '\\' || escaped === '"') value += escaped;
        else fail('an invalid escape in a label value');
      }
      labels[labelName] = value;
      if (line[at] === ',') at += 1;
      else if (line[at] !== '}') fail('labels not separated by ","');
    }
    at += 1;
  }
  const parts = line.slice(at).trim().split(/ +/);
  if (line[at] !== ' ' || parts.length < 1 || parts.length > 2) fail('not "name{labels} value"');
  const value = parseValue(parts[0] ?? '');
  if (value === undefined) fail('a value that is not a number');
  if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1]))
    fail('a timestamp that is not an integer');
  return { name, labels, value };
}

function parseValue(text: string): number | undefined {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_match, escaped: string) => (escaped === 'n' ? '\n' : '\\'));
}
