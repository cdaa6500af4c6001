import type { ClusterStatus } from '../control-plane/index.js';

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
