/**
 * The arithmetic of the README's capacity plan, kept pure so every step can be read (and checked)
 * apart from the rendering: measured per-core figures in, cores and bytes for the design's
 * targets out. The only constants are the design's targets below; every other input is a measured
 * figure passed in by bench/report.ts.
 */

/** What the plan is for: the design brief's "Scale, on paper". */
export interface CapacityTargets {
  sendsPerDay: number;
  /** The design's peak; about 3× the daily average. */
  peakSendsPerSecond: number;
  /** Each send is committed to the sender's and to the recipient's mailbox. */
  mailboxCommitsPerSend: number;
  /** Users of the service; the working-set assumption counts all of them as active in a day. */
  users: number;
  /** Days of messages the working-set assumption keeps in the cache. */
  hotMessageDays: number;
}

export const DESIGN_CAPACITY_TARGETS: Readonly<CapacityTargets> = Object.freeze({
  sendsPerDay: 10_000_000_000,
  peakSendsPerSecond: 350_000,
  mailboxCommitsPerSend: 2,
  users: 300_000_000,
  hotMessageDays: 1,
});

const SECONDS_PER_DAY = 86_400;

export function averageSendsPerSecond(targets: CapacityTargets): number {
  return targets.sendsPerDay / SECONDS_PER_DAY;
}

/**
 * Where a target's cores come from: `cpu-time` = the CPU seconds its own processes used in the
 * measured window ÷ the window (load bench `cpuCores`); `machine` = every core of the machine,
 * the fallback when CPU time was not measured (it also charges the load generator and neighbours).
 */
export type CoresBasis = 'cpu-time' | 'machine';

/** One load-bench target's measured send rate and the cores it is charged with. */
export interface MeasuredThroughput {
  target: string;
  sendsPerSecond: number;
  /** All operations of the mix (sends and reads) per second. */
  operationsPerSecond: number;
  /** Cores the measured system is charged with (see coresCharged()). */
  coresCharged: number;
  coresBasis: CoresBasis;
}

/** The measured cores the target kept busy when known (finite, > 0), else all machine cores. */
export function coresCharged(
  cpuCores: number | undefined,
  machineCores: number,
): { cores: number; basis: CoresBasis } {
  return cpuCores !== undefined && Number.isFinite(cpuCores) && cpuCores > 0
    ? { cores: cpuCores, basis: 'cpu-time' }
    : { cores: machineCores, basis: 'machine' };
}

export interface ThroughputPlan {
  target: string;
  coresCharged: number;
  coresBasis: CoresBasis;
  sendsPerSecondPerCore: number;
  mailboxCommitsPerSecondPerCore: number;
  operationsPerSecondPerCore: number;
  coresForAverage: number;
  coresForPeak: number;
  /** coresForPeak sized so that the fullest slot (max/mean of the ring) still fits. */
  coresForPeakWithRingHeadroom: number;
}

export function planThroughput(
  measured: MeasuredThroughput,
  targets: CapacityTargets,
  ringMaxOverMean: number,
): ThroughputPlan {
  const sendsPerSecondPerCore = measured.sendsPerSecond / measured.coresCharged;
  const coresFor = (sendsPerSecond: number) => Math.ceil(sendsPerSecond / sendsPerSecondPerCore);
  return {
    target: measured.target,
    coresCharged: measured.coresCharged,
    coresBasis: measured.coresBasis,
    sendsPerSecondPerCore,
    mailboxCommitsPerSecondPerCore: sendsPerSecondPerCore * targets.mailboxCommitsPerSend,
    operationsPerSecondPerCore: measured.operationsPerSecond / measured.coresCharged,
    coresForAverage: coresFor(averageSendsPerSecond(targets)),
    coresForPeak: coresFor(targets.peakSendsPerSecond),
    coresForPeakWithRingHeadroom: coresFor(targets.peakSendsPerSecond * ringMaxOverMean),
  };
}

/** Heap of one cached message and one cached mailbox, from the memory bench. */
export interface MeasuredMemory {
  heapPerMessageBytes: number;
  heapPerUserBytes: number;
}

export interface MemoryPlan {
  /** Message copies in the hot set: every send of the hot days, in both mailboxes. */
  hotMessageCopies: number;
  hotMessageCopiesPerUser: number;
  messageBytes: number;
  mailboxBytes: number;
  totalBytes: number;
}

export function planMemory(measured: MeasuredMemory, targets: CapacityTargets): MemoryPlan {
  const hotMessageCopies =
    targets.sendsPerDay * targets.hotMessageDays * targets.mailboxCommitsPerSend;
  const messageBytes = hotMessageCopies * measured.heapPerMessageBytes;
  const mailboxBytes = targets.users * measured.heapPerUserBytes;
  return {
    hotMessageCopies,
    hotMessageCopiesPerUser: hotMessageCopies / targets.users,
    messageBytes,
    mailboxBytes,
    totalBytes: messageBytes + mailboxBytes,
  };
}
