/**
 * The environment the agent's process runs with, wherever it runs: the image sets it (Dockerfile
 * ENV, checked against this by test/daemonset) and the lab and the benchmarks start the agent and
 * the speaker with it, so what they measure is what a node pays.
 *
 * MALLOC_ARENA_MAX=1: glibc gives every thread that allocates its own malloc arena; Node's V8 and
 * libuv threads left four arenas of 1.4-2.7 MiB each in an idle agent, mostly free pages. One
 * arena saved 3 MiB of an idle agent's RSS and made no measurable difference to the speaker's
 * 100k-route load (docs/benchmarks.md).
 */
export const AGENT_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };
