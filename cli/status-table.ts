import type {
  ChangePreview,
  ChangeProgress,
  ChangeResult,
  ClusterStatus,
} from '../control-plane/index.js';

/** Renders `ringctl status` as a plain text table. */
export function formatStatusTable(status: ClusterStatus): string {
  const header = ['NODE', 'STATE', 'SLOTS', 'LEASE AGE', 'PID', 'URL'];
  const rows = status.nodes.map((node) => [
    node.nodeId,
    node.state,
    node.slots.join(',') || '-',
    node.leaseAgeMs === undefined ? '-' : `${node.leaseAgeMs} ms`,
    node.pid === undefined ? '-' : String(node.pid),
    node.url || '-',
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    `epoch ${status.epoch}  backend ${status.backend}  lease ${status.leaseMs} ms  heartbeat ${status.heartbeatIntervalMs} ms`,
    `slots ${status.slots.length}  standbys ${status.standbys.join(',') || '-'}`,
    '',
    line(header),
    ...rows.map(line),
  ].join('\n');
}

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;

export function formatPreview(preview: ChangePreview): string {
  const lines = [
    `epoch ${preview.epochBefore} → ${preview.epochAfter}; users moving: ${percent(preview.movedShare)} (of a ${preview.sampleSize}-id sample)`,
  ];
  for (const change of preview.slotsChanging)
    lines.push(`  ${change.slot}: ${change.from ?? '(new)'} → ${change.to ?? '(leaves the ring)'}`);
  for (const flow of preview.flows)
    lines.push(`  ${flow.from} → ${flow.to}: ${percent(flow.share)}`);
  return lines.join('\n');
}

export function formatResult(action: string, nodeId: string, result: ChangeResult): string {
  return (
    `${action} ${nodeId}: done at epoch ${result.epoch}; ${percent(result.preview.movedShare)} of users moved; ` +
    `${result.releasedUsers} cached users released, ${result.warmUsers} handed over warm (${result.warmBytes} bytes)` +
    (result.warmUsersFailed > 0
      ? `; ${result.warmUsersFailed} of them moved cold after a failed warm batch (${result.warmFailure})`
      : '')
  );
}

/** A one-line progress bar on a terminal; plain lines otherwise (logs, CI). */
export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #enabled: boolean;

  constructor(stream: NodeJS.WriteStream, enabled: boolean) {
    this.#stream = stream;
    this.#enabled = enabled;
  }

  update(event: ChangeProgress): void {
    if (!this.#enabled) return;
    if (event.phase === 'planned')
      this.#write(`planned: ${percent(event.preview.movedShare)} of users will move`);
    if (event.phase === 'released') {
      const width = 20;
      const filled = Math.round((event.done / Math.max(1, event.total)) * width);
      this.#write(
        `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${event.done}/${event.total} nodes released (${event.nodeId})`,
      );
    }
    if (event.phase === 'published') this.#write(`published epoch ${event.epoch}`);
  }

  done(): void {
    if (this.#enabled && this.#stream.isTTY) this.#stream.write('\n');
  }

  #write(line: string): void {
    if (this.#stream.isTTY) this.#stream.write(`\r\x1b[2K${line}`);
    else this.#stream.write(`${line}\n`);
  }
}
