/**
 * `npm start` is for people trying chatring: the members' JSON log lines (transport/logging) are
 * shown as short readable lines, `HH:MM:SS LEVEL message key=value ...`, after the member's name
 * the launcher already puts in front. `CHATRING_LOG_FORMAT=json` keeps them as they are (to ship
 * or grep them). Lines that are not JSON objects (a member's "listening on" line) pass unchanged.
 */
import { ChatringError } from '../protocol/index.js';

export type LogFormat = 'pretty' | 'json';

/** Fields every line has, shown in the line's head or not at all. */
const HEAD_FIELDS = new Set(['level', 'time', 'component', 'member', 'msg', 'pid', 'hostname']);

export function readableLogLine(line: string, format: LogFormat): string {
  if (format === 'json' || !line.startsWith('{')) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time =
    typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 19) : '';
  const level = String(entry.level ?? '')
    .toUpperCase()
    .padEnd(5);
  const fields = Object.entries(entry)
    .filter(([key]) => !HEAD_FIELDS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [time, level, String(entry.msg ?? ''), ...fields].filter(Boolean).join(' ');
}

/** CHATRING_LOG_FORMAT: pretty (the default) or json; anything else is INVALID_OPTION. */
export function logFormatOption(text: string | undefined): LogFormat {
  if (text === undefined || text === '' || text === 'pretty') return 'pretty';
  if (text === 'json') return 'json';
  throw new ChatringError(
    'INVALID_OPTION',
    `chatring start: CHATRING_LOG_FORMAT must be pretty or json, got "${text}"`,
  );
}
