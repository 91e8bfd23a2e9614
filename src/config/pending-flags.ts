/**
 * kube-router's flags whose feature kube-router-ts has not built yet, with why: such a flag is
 * taken with kube-router's name, type and default in the option table (so its manifests run
 * unchanged), and the agent says once at start which of them were given and why they do nothing
 * yet (README: the flag table's "No effect yet"). Nothing is silently ignored. None today:
 * --use-nftables-for-netpol was the last.
 */
export const NO_EFFECT_YET: Readonly<Record<string, string>> = {};

/** The flags named on a command line ("--x", "--x=1", "--no-x"), without their dashes. */
export function givenFlags(rawArgs: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const a of rawArgs) {
    const m = /^--(?:no-)?([a-z0-9-]+)/.exec(a);
    if (m) out.add(m[1]!);
  }
  return out;
}

/** The pending flags among those given, with why each does nothing yet. */
export const givenWithoutEffect = (rawArgs: readonly string[]): { flag: string; why: string }[] =>
  [...givenFlags(rawArgs)].filter((f) => f in NO_EFFECT_YET).map((flag) => ({ flag: `--${flag}`, why: NO_EFFECT_YET[flag]! }));
