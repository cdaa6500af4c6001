import assert from 'node:assert/strict';

/**
 * A generated section of a Markdown file: everything between a start and an end marker line is
 * replaced, everything outside is left byte for byte. The first run adds the markers before a
 * given heading line.
 */
export interface MarkerPair {
  start: string;
  end: string;
}

export function replaceSection(
  document: string,
  markers: MarkerPair,
  body: string,
  insertBeforeLine: string,
): string {
  const lines = document.split('\n');
  const startIndex = lines.indexOf(markers.start);
  const endIndex = lines.indexOf(markers.end);
  // Blank lines around the body: Markdown (and prettier) end an HTML block at a blank line.
  const block = [markers.start, '', ...body.trimEnd().split('\n'), '', markers.end];
  if (startIndex === -1 && endIndex === -1) {
    const anchor = lines.indexOf(insertBeforeLine);
    assert(anchor !== -1, `no markers and no line "${insertBeforeLine}" to insert them before`);
    return [...lines.slice(0, anchor), ...block, '', ...lines.slice(anchor)].join('\n');
  }
  assert(
    startIndex !== -1 && endIndex > startIndex,
    `markers out of order or one missing: "${markers.start}" … "${markers.end}"`,
  );
  assert(
    lines.indexOf(markers.start, startIndex + 1) === -1 &&
      lines.indexOf(markers.end, endIndex + 1) === -1,
    'each marker must appear once',
  );
  return [...lines.slice(0, startIndex), ...block, ...lines.slice(endIndex + 1)].join('\n');
}

export type Alignment = 'left' | 'right';

/** A GitHub-flavoured Markdown table; prettier pads it afterwards. Cells must not contain "|". */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  alignments: readonly Alignment[] = [],
): string {
  const cell = (text: string) => {
    assert(!text.includes('|') && !text.includes('\n'), `table cell "${text}" has | or a newline`);
    return text;
  };
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  const rule = headers.map((_, column) => (alignments[column] === 'right' ? '--:' : '---'));
  return [line(headers), `| ${rule.join(' | ')} |`, ...rows.map(line)].join('\n');
}
