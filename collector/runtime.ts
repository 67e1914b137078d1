// The collector's runtime settings, in one place for every way it is started
// (the image's entrypoint, the pod templates, the benchmarks, `node
// dist/collector/main.js` by hand): main.ts calls relaunch() first, which
// replaces the process (execve: same pid, so a pod's container and a
// supervisor see no difference) with node started with these settings, once.
// Settings that only take effect at start-up (an allocator's environment,
// node's thread pools) cannot be set later from JavaScript.
//
// Measured on the sidecar tailing one file at 1,000 Spark lines/s (BENCHMARKS.md,
// "What limits the missed targets", collector RSS):
//   - glibc's malloc keeps one arena per thread that allocated (up to 8 per
//     core); the thread pool's threads (file reads, large gzip batches) each
//     got one and kept their freed memory: about 3.5 MiB of RSS. One arena
//     costs no measurable CPU per line here (the main thread does nearly all
//     allocation).
//
// An operator can still pass node options (NODE_OPTIONS, flags before the
// script) and glibc tunables: theirs are kept and come after these, so they win.

/** Set in the relaunched process: relaunch() does nothing when it is there. */
export const RELAUNCHED = 'SPARKLOGS_COLLECTOR_RELAUNCHED';
/** Set to 0 to run without relaunching (the settings below are then not applied). */
export const RELAUNCH = 'SPARKLOGS_COLLECTOR_RELAUNCH';

/** glibc malloc tunables (glibc.malloc.*), as GLIBC_TUNABLES takes them. */
export const MALLOC_TUNABLES = ['glibc.malloc.arena_max=1'];
/** node and V8 options given before the script. */
export const NODE_FLAGS: string[] = [];

export interface Launch {
  argv: string[];
  env: Record<string, string>;
}

/**
 * The command and environment to relaunch with, or undefined to run as is
 * (already relaunched, or relaunching turned off).
 */
export function relaunchPlan(execPath: string, execArgv: string[], argv: string[], env: NodeJS.ProcessEnv): Launch | undefined {
  if (env[RELAUNCHED] === '1') return undefined;
  const off = env[RELAUNCH];
  if (off !== undefined && off !== '' && off !== '1') {
    if (off === '0') return undefined;
    throw new Error(`${RELAUNCH}: expected 0 or 1, got ${JSON.stringify(off)}`);
  }
  const next: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) next[k] = v;
  // Later tunables win in glibc: the operator's come last.
  next.GLIBC_TUNABLES = [...MALLOC_TUNABLES, ...(env.GLIBC_TUNABLES ? [env.GLIBC_TUNABLES] : [])].join(':');
  next[RELAUNCHED] = '1';
  // argv[1] is the script; execArgv (the operator's flags) after ours.
  return { argv: [execPath, ...NODE_FLAGS, ...execArgv, ...argv.slice(1)], env: next };
}

/** Replaces this process with one that has the settings above; returns if there is nothing to do. */
export function relaunch(): void {
  const plan = relaunchPlan(process.execPath, process.execArgv, process.argv, process.env);
  if (!plan) return;
  // process.execve: Node 23.11 and newer (the project pins 26); an older node runs without the settings.
  const execve = (process as unknown as { execve?: (file: string, args: string[], env: Record<string, string>) => never }).execve;
  if (typeof execve !== 'function') return;
  try {
    execve.call(process, process.execPath, plan.argv, plan.env);
  } catch (err) {
    // A refused exec (a seccomp profile, a noexec mount) leaves this process as it was: it runs without the settings.
    process.stderr.write(`sparklogs-collector: running without the runtime settings (relaunch refused: ${(err as Error).message}); SPARKLOGS_COLLECTOR_RELAUNCH=0 skips the attempt\n`);
  }
}
