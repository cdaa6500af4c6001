/**
 * The load benchmark's targets: what each one is, on which store, by which path. Shared by the
 * benchmark (bench/load/) and the report (bench/report/), which groups them by store.
 */

/** The store under a target; `none` for the echo targets, which answer from memory. */
export type TargetStore = 'embedded' | 'cassandra' | 'none';

/** How a request reaches the data. */
export type TargetPath =
  | 'router'
  | 'router-auth'
  | 'router-no-telemetry'
  | 'client-direct'
  | 'direct'
  | 'baseline'
  | 'echo'
  | 'echo-proxy';

export interface TargetSpec {
  name: string;
  store: TargetStore;
  path: TargetPath;
  /** The report's row label. */
  label: string;
  /** One line for the output and the JSON. */
  description: string;
}

const PATHS: Record<TargetPath, { label: string; description: string }> = {
  router: { label: 'router', description: 'through the router of a local cluster' },
  'router-auth': {
    label: 'router, app tokens on',
    description:
      'through the router of a local cluster with app tokens required (Bearer on every call)',
  },
  'router-no-telemetry': {
    label: 'router, telemetry off',
    description:
      'through the router of a local cluster with metrics and logging off (CHATRING_METRICS=false, CHATRING_LOG_LEVEL=silent): router ÷ this is what they cost',
  },
  'client-direct': {
    label: 'client-direct',
    description:
      "through the ring-aware client (client/, mode 'direct': the ring from the router, each call straight to its owner)",
  },
  direct: {
    label: 'direct to node',
    description:
      'straight to the owning cache node (owner from RingView; sends to the owner of the lower id)',
  },
  baseline: {
    label: 'stateless app (baseline)',
    description: 'stateless app server on the same store, no cache',
  },
  echo: {
    label: 'echo',
    description:
      'a bare node:http server answering each page’s recorded bytes from memory (physical limit)',
  },
  'echo-proxy': {
    label: 'echo-proxy',
    description: 'the echo behind one trivial undici proxy hop (physical limit of a relaying tier)',
  },
};

const STORE_SUFFIX: Record<TargetStore, string> = {
  embedded: '',
  cassandra: '-cassandra',
  none: '',
};

/**
 * Every target, in the default order: the physical limits, then each store's four paths; on the
 * embedded store, router-no-telemetry first, right before router (its own cluster, so that it is
 * measured next to router without splitting the cluster router, client-direct and direct share).
 */
export const TARGET_CATALOGUE: readonly TargetSpec[] = Object.freeze([
  spec('echo', 'none'),
  spec('echo-proxy', 'none'),
  ...(['embedded', 'cassandra'] as const).flatMap((store) => [
    ...(store === 'embedded' ? [spec('router-no-telemetry', store)] : []),
    spec('router', store),
    spec('client-direct', store),
    spec('direct', store),
    spec('baseline', store),
  ]),
  spec('router-auth', 'embedded'),
]);

/** Older names still accepted on the command line and read in older result files. */
export const TARGET_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  cassandra: 'router-cassandra',
});

/** Opt-in targets: not in the default list. */
export const OPT_IN_TARGETS: readonly string[] = Object.freeze(['router-auth']);

export const DEFAULT_TARGETS: readonly string[] = Object.freeze(
  TARGET_CATALOGUE.map((target) => target.name).filter((name) => !OPT_IN_TARGETS.includes(name)),
);

export const STORE_LABELS: Record<TargetStore, string> = {
  embedded: 'embedded SQLite',
  cassandra: 'Cassandra',
  none: 'physical limit (no store)',
};

/** `router`, `router on Cassandra`, `echo-proxy`: a target's label with its store where it has one. */
export function targetLabel(name: string): string {
  const spec = targetSpec(name);
  if (spec === undefined) return name;
  return spec.store === 'cassandra' ? `${spec.label} on Cassandra` : spec.label;
}

/** The target a name (or an alias) stands for; undefined for an unknown name. */
export function targetSpec(name: string): TargetSpec | undefined {
  const canonical = TARGET_ALIASES[name] ?? name;
  return TARGET_CATALOGUE.find((target) => target.name === canonical);
}

function spec(path: TargetPath, store: TargetStore): TargetSpec {
  return { name: `${path}${STORE_SUFFIX[store]}`, store, path, ...PATHS[path] };
}
