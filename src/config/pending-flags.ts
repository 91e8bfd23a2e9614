/**
 * kube-router's flags whose feature kube-router-ts has not built yet: taken with kube-router's
 * names, types and defaults, validated as kube-router validates them, so its manifests run
 * unchanged; the agent says once at start which of them were given and why they do nothing yet
 * (README: "Flags without effect yet"). Nothing is silently ignored.
 */
import type { Options } from 'yargs';

export const PENDING_OPTIONS = {
  'use-nftables-for-netpol': {
    type: 'boolean',
    default: false,
    describe: 'Network policy with nftables instead of iptables (kube-router: experimental).',
  },
} as const satisfies Record<string, Options>;

export type PendingFlag = keyof typeof PENDING_OPTIONS;

/** Why each does nothing yet: said at start for the flags given, and in the README. */
export const NO_EFFECT_YET: Record<PendingFlag, string> = {
  'use-nftables-for-netpol': 'the firewall writes iptables rules (through iptables-nft where that is the backend)',
};

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
  [...givenFlags(rawArgs)]
    .filter((f): f is PendingFlag => f in NO_EFFECT_YET)
    .map((flag) => ({ flag: `--${flag}`, why: NO_EFFECT_YET[flag] }));
