/**
 * Keeps the one error catalogue, its documentation and ChatringError in step: docs/errors.md has
 * exactly one table row per code of ERROR_CATALOGUE (API, operator, configuration and internal
 * codes alike), under its audience's heading, with the same HTTP status and retryability, and a
 * non-empty "when"; every ChatringError takes its status from the catalogue; errors round-trip
 * through the wire body.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ChatringError,
  ERROR_CATALOGUE,
  errorFromBody,
  isErrorCode,
  toChatringError,
  type ErrorCode,
} from '../../protocol/index.js';

/** The headings of docs/errors.md, one per audience of the catalogue. */
const AUDIENCE_BY_HEADING: Record<string, string> = {
  'Public API': 'api',
  Operators: 'operator',
  Configuration: 'config',
  'Internal (between chatring’s parts)': 'internal',
  "Internal (between chatring's parts)": 'internal',
};

const docsPath = fileURLToPath(new URL('../../docs/errors.md', import.meta.url));
const codes = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

interface DocumentedError {
  audience: string | undefined;
  code: string;
  status: number;
  retryable: boolean;
  when: string;
}

/** Rows of the markdown table whose first cell is a code: `| \`CODE\` | 400 | no | when |`. */
function documentedErrors(markdown: string): DocumentedError[] {
  const rows: DocumentedError[] = [];
  let audience: string | undefined;
  for (const line of markdown.split('\n')) {
    const heading = /^## (.*)$/.exec(line)?.[1];
    if (heading !== undefined) audience = AUDIENCE_BY_HEADING[heading.split(':')[0] ?? ''];
    const match = /^\|\s*`?([A-Z][A-Z0-9_]*)`?\s*\|\s*(\d{3})\s*\|\s*(yes|no)\s*\|(.*)\|\s*$/.exec(
      line,
    );
    if (match === null) continue;
    const [, code, status, retryable, when] = match;
    rows.push({
      audience,
      code: code ?? '',
      status: Number(status),
      retryable: retryable === 'yes',
      when: (when ?? '').trim(),
    });
  }
  return rows;
}

const documented = documentedErrors(readFileSync(docsPath, 'utf8'));

t.test('docs/errors.md lists exactly the catalogue codes, each once', async (t) => {
  const documentedCodes = documented.map((row) => row.code);
  t.same([...documentedCodes].sort(), [...codes].sort());
  t.equal(new Set(documentedCodes).size, documentedCodes.length, 'no code twice');
});

t.test('each documented status, retryability and "when" matches the catalogue', async (t) => {
  for (const row of documented) {
    if (!isErrorCode(row.code)) continue; // reported by the test above
    const entry = ERROR_CATALOGUE[row.code];
    t.equal(row.status, entry.status, `${row.code} status`);
    t.equal(row.retryable, entry.retryable, `${row.code} retryable`);
    t.equal(row.audience, entry.audience, `${row.code} is listed under its audience`);
    t.ok(row.when.length > 0, `${row.code} says when it happens`);
  }
});

t.test('catalogue hygiene: SNAKE_CASE codes, HTTP error statuses, a summary each', async (t) => {
  for (const code of codes) {
    const entry = ERROR_CATALOGUE[code];
    t.match(code, /^[A-Z]+(_[A-Z]+)*$/, `${code} is SNAKE_CASE`);
    t.ok(entry.status >= 400 && entry.status <= 599, `${code} has an error status`);
    t.ok(entry.summary.length > 0, `${code} has a summary`);
  }
});

t.test(
  'ChatringError takes status and retryability from the catalogue and round-trips the wire',
  async (t) => {
    for (const code of codes) {
      const error = new ChatringError(code, `message of ${code}`);
      t.equal(error.status, ERROR_CATALOGUE[code].status, `${code} status`);
      t.equal(error.retryable, ERROR_CATALOGUE[code].retryable, `${code} retryable`);
      t.same(error.toBody(), { error: { code, message: `message of ${code}` } });
      const back = errorFromBody(JSON.parse(JSON.stringify(error.toBody())));
      t.equal(back?.code, code, `${code} survives the wire`);
      t.equal(back?.message, `message of ${code}`);
    }
    t.equal(
      errorFromBody({ error: { code: 'NOT_A_CODE', message: 'x' } }),
      undefined,
      'unknown codes are not ours',
    );
    t.equal(errorFromBody({ error: 'INTERNAL' }), undefined);
    t.equal(errorFromBody(null), undefined);
    t.equal(
      errorFromBody({ error: { code: 'INTERNAL' } })?.message,
      'INTERNAL',
      'a missing message falls back to the code',
    );
    t.notOk(isErrorCode('toString'), 'inherited names are not codes');
  },
);

t.test(
  'an internal code never leaves as such: the HTTP mapping turns it into INTERNAL',
  async (t) => {
    const conflict = new ChatringError('STORE_VERSION_CONFLICT', 'mailbox a is at version 3');
    const mapped = toChatringError(conflict);
    t.equal(mapped.code, 'INTERNAL');
    t.equal(mapped.cause, conflict, 'the original is kept as the cause');
    const refusal = new ChatringError('UNKNOWN_NODE', 'ghost');
    t.equal(toChatringError(refusal), refusal, 'operator and API codes pass unchanged');
  },
);
