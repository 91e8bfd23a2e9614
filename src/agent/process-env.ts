/**
 * The environment and node options the agent's process runs with, wherever it runs: the image sets
 * them (Dockerfile ENV and ENTRYPOINT, checked against these by test/daemonset) and the lab and the
 * benchmarks start the agent and the speaker with them, so what they measure is what a node pays.
 *
 * MALLOC_ARENA_MAX=1: glibc gives every thread that allocates its own malloc arena; Node's V8 and
 * libuv threads left four arenas of 1.4-2.7 MiB each in an idle agent, mostly free pages. One
 * arena saved 3 MiB of an idle agent's RSS and made no measurable difference to the speaker's
 * 100k-route load (docs/benchmarks.md).
 *
 * NODE_OPTIONS=--max-semi-space-size=4: a full table from a peer grows V8's young generation to
 * 32 MiB (16 MiB semi-spaces) and neither V8 nor full collections reliably shrink it again
 * (100k routes: 75 MiB 30 s later in some runs, 108 in others). With 4 MiB semi-spaces the
 * routes, which live on anyway, are promoted sooner and copied less: the 100k loads ran faster
 * and 20 MiB smaller, and settled at the same size in every run (docs/benchmarks.md).
 */
export const AGENT_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '1',
  NODE_OPTIONS: '--max-semi-space-size=4',
};

/**
 * Options for `node` itself, before the program (the image's ENTRYPOINT): Node refuses them in
 * NODE_OPTIONS.
 *
 * --no-sparkplug: V8's baseline compiler turns each function that has run a few times into machine
 * code, kept beside its bytecode. An idle agent held 1.3 MiB more with it (RSS sampled every 10 s,
 * 30-120 s after the lab converged: medians 63.2 and 63.6 MiB without, 64.7 and 64.8 with), and
 * neither the speaker's 100k-route load nor the 5,000-node sync was slower without it: what runs
 * often is optimized by TurboFan either way, the rest is interpreted (docs/benchmarks.md).
 *
 * --no-short-builtin-calls: where the heap limit is 2 GiB or more (V8 sizes it from the machine's
 * or the container's memory: about 4 GiB on a 24-GiB test machine), V8 maps a second copy of its
 * builtins from the `node` binary next to its JIT code, so that optimized code reaches them with
 * short calls; every builtin used is then resident twice. With the flag an idle agent held 1 MiB
 * fewer file pages (43.0 against 44.0 MiB) and its RSS over 30-120 s after convergence had a
 * median of 61.4-62.1 MiB against 63.1-64.7, with the speaker's 100k-route load and the 5,000-node
 * sync no slower (docs/benchmarks.md).
 */
export const AGENT_NODE_ARGS: readonly string[] = ['--no-sparkplug', '--no-short-builtin-calls'];

/**
 * The settings of AGENT_ENV and AGENT_NODE_ARGS this process runs without. A DaemonSet that sets
 * its own NODE_OPTIONS or command replaces the image's rather than adding to it, and V8 reads
 * these only at start, so the agent can only tell (once, at start) that the memory it was
 * measured at does not apply.
 */
export function missingAgentEnv(env: NodeJS.ProcessEnv, execArgv: readonly string[]): string[] {
  const missing: string[] = [];
  if (env.MALLOC_ARENA_MAX !== AGENT_ENV.MALLOC_ARENA_MAX) missing.push(`MALLOC_ARENA_MAX=${AGENT_ENV.MALLOC_ARENA_MAX}`);
  // V8 reads "--max-semi-space-size" and "--max_semi_space_size" alike, and "--sparkplug" is the
  // opposite of "--no-sparkplug"; a value or a choice given is the operator's call.
  const flagName = (o: string): string =>
    o
      .split('=')[0]!
      .replace(/_/g, '-')
      .replace(/^--no-/, '--');
  const given = new Set([...(env.NODE_OPTIONS ?? '').split(/\s+/), ...execArgv].map(flagName));
  for (const option of AGENT_ENV.NODE_OPTIONS!.split(' ')) if (!given.has(flagName(option))) missing.push(`NODE_OPTIONS ${option}`);
  for (const option of AGENT_NODE_ARGS) if (!given.has(flagName(option))) missing.push(`node ${option}`);
  return missing;
}
