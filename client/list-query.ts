/** How an app asks for a list: `page`/`pageSize` (page 0 is the newest), or a `cursor` for the changes since it. */
export interface PageQuery {
  page?: number;
  pageSize?: number;
  cursor?: string;
  /** The seeds' delta: only what changed after this time (epoch ms). Prefer the cursor. */
  lastUpdatedTimestamp?: number;
}

/** The query's parameters as the server reads them (strings), for the door's own checks. */
export function listQueryFields(query: PageQuery): Record<string, string> {
  const fields: Record<string, string> = {};
  if (query.page !== undefined) fields.page = String(query.page);
  if (query.pageSize !== undefined) fields.pageSize = String(query.pageSize);
  if (query.lastUpdatedTimestamp !== undefined)
    fields.lastUpdatedTimestamp = String(query.lastUpdatedTimestamp);
  if (query.cursor !== undefined) fields.cursor = query.cursor;
  return fields;
}

/** The query string of a list request: `''` or `?page=…&pageSize=…&cursor=…`. */
export function listQueryString(query: PageQuery): string {
  const parts = Object.entries(listQueryFields(query)).map(
    ([name, value]) => `${name}=${encodeURIComponent(value)}`,
  );
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}
