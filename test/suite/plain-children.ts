/**
 * Loaded into every test process before its test file (package.json `tap.node-arg`). tap adds its
 * process-tracking loader (@tapjs/processinfo) to the NODE_OPTIONS of every process a test starts,
 * and on Node 20 that loader runs each module load of the child through a hooks thread: a chatring
 * member started so spent ~1.25 s of CPU before it could listen instead of ~0.7 s, and a test
 * starts dozens of them (every member of every cluster, every ringctl call). What it records is
 * read only for coverage, which is off (package.json `tap.disable-coverage`), so the processes the
 * tests start run without it: the same `node` command a user runs. tap's own per-test-file
 * processes are started by the runner, not from here, and keep it.
 */
import processOnSpawn from 'process-on-spawn';

const PROCESSINFO_ENV = /^_TAPJS_PROCESSINFO_/;
/** One NODE_OPTIONS entry naming the loader, quoted (a path with spaces) or not. */
const PROCESSINFO_OPTION = /(?:"[^"]*@tapjs\/processinfo[^"]*"|\S*@tapjs\/processinfo\S*)/g;

// Listeners run in the order added: processinfo's was added when its --import ran, before this
// module's (tap puts its own imports ahead of `node-arg`), so this one sees what it wrote.
processOnSpawn.addListener((options) => {
  const env = { ...options.env };
  for (const name of Object.keys(env)) if (PROCESSINFO_ENV.test(name)) delete env[name];
  const nodeOptions = (env.NODE_OPTIONS ?? '').replace(PROCESSINFO_OPTION, '').trim();
  if (nodeOptions === '') delete env.NODE_OPTIONS;
  else env.NODE_OPTIONS = nodeOptions;
  options.env = env;
});
