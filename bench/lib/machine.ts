import os from 'node:os';

/** What a benchmark ran on; every result file and table header carries it. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  nodeVersion: string;
  platform: string;
  arch: string;
  totalMemoryBytes: number;
  loadAverage1m: number;
}

export function describeMachine(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    nodeVersion: process.version,
    platform: `${os.type()} ${os.release()}`,
    arch: process.arch,
    totalMemoryBytes: os.totalmem(),
    loadAverage1m: Number((os.loadavg()[0] ?? 0).toFixed(2)),
  };
}

export function machineLine(machine: MachineInfo): string {
  const memoryGiB = (machine.totalMemoryBytes / 2 ** 30).toFixed(1);
  return `machine: ${machine.cpuModel}, ${machine.cores} cores, ${memoryGiB} GiB, node ${machine.nodeVersion}, ${machine.platform} ${machine.arch}, load ${machine.loadAverage1m}`;
}
