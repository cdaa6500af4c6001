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
 * Where a target's tier cores come from: `cpu-time` = the CPU seconds its own processes used in the
 * measured window ÷ the window (load bench `cpuCores`); `machine` = every core of the machine,
 * the fallback when CPU time was not measured (it also charges the load generator and neighbours).
 */
export type CoresBasis = 'cpu-time' | 'machine';

/**
 * One load-bench target's measured send rate and the cores behind it, in two parts: the tier
 * (chatring's processes, or the stateless app server) and the store (the Cassandra JVM, measured
 * over the same window; undefined when it was not measured).
 */
export interface MeasuredThroughput {
  target: string;
  sendsPerSecond: number;
  /** All operations of the mix (sends and reads) per second. */
  operationsPerSecond: number;
  /** Cores the tier is charged with (see coresCharged()). */
  tierCores: number;
  tierBasis: CoresBasis;
  /** Cores the store's own processes kept busy in the window; undefined: not measured. */
  storeCores: number | undefined;
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

/** Cores for the design's average and peak, and the peak sized for the fullest node. */
export interface CoreCounts {
  average: number;
  peak: number;
  /**
   * The tier: the peak sized so that the fullest slot (the ring's max/mean) still fits on equal
   * nodes. The store: the peak unchanged — Cassandra places partitions by its own token ring,
   * whose balance chatring's ring figure says nothing about.
   */
  peakFullestNode: number;
}

/** One part (tier, store, or both) of a target's plan. */
export interface PartPlan {
  /** Cores this part kept busy in the measured window. */
  coresUsed: number;
  sendsPerSecondPerCore: number;
  operationsPerSecondPerCore: number;
  cores: CoreCounts;
}

export interface ThroughputPlan {
  target: string;
  tierBasis: CoresBasis;
  tier: PartPlan;
  /** Undefined when the store's CPU was not measured. */
  store: PartPlan | undefined;
  /** tier + store (each part's cores rounded up first, so the rows add up); undefined without store. */
  total: PartPlan | undefined;
}

export function planThroughput(
  measured: MeasuredThroughput,
  targets: CapacityTargets,
  ringMaxOverMean: number,
): ThroughputPlan {
  const part = (coresUsed: number, headroom: number): PartPlan => {
    const sendsPerSecondPerCore = measured.sendsPerSecond / coresUsed;
    const coresFor = (sendsPerSecond: number) => Math.ceil(sendsPerSecond / sendsPerSecondPerCore);
    return {
      coresUsed,
      sendsPerSecondPerCore,
      operationsPerSecondPerCore: measured.operationsPerSecond / coresUsed,
      cores: {
        average: coresFor(averageSendsPerSecond(targets)),
        peak: coresFor(targets.peakSendsPerSecond),
        peakFullestNode: coresFor(targets.peakSendsPerSecond * headroom),
      },
    };
  };
  const tier = part(measured.tierCores, ringMaxOverMean);
  const storeCores = measured.storeCores;
  const store =
    storeCores !== undefined && Number.isFinite(storeCores) && storeCores > 0
      ? part(storeCores, 1)
      : undefined;
  const total =
    store === undefined
      ? undefined
      : {
          coresUsed: tier.coresUsed + store.coresUsed,
          sendsPerSecondPerCore: measured.sendsPerSecond / (tier.coresUsed + store.coresUsed),
          operationsPerSecondPerCore:
            measured.operationsPerSecond / (tier.coresUsed + store.coresUsed),
          cores: {
            average: tier.cores.average + store.cores.average,
            peak: tier.cores.peak + store.cores.peak,
            peakFullestNode: tier.cores.peakFullestNode + store.cores.peakFullestNode,
          },
        };
  return { target: measured.target, tierBasis: measured.tierBasis, tier, store, total };
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
