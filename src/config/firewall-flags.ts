/** kube-router's network policy backend flag (part of the agent's one option table, agent-config.ts). */
import type { Options } from 'yargs';

export const FIREWALL_OPTIONS = {
  'use-nftables-for-netpol': {
    type: 'boolean',
    default: false,
    describe:
      'Network policy with nftables instead of iptables and ipsets: tables kube-router-filter-ipv4 and -ipv6 with named sets, as kube-router (experimental there). Needs nft.',
  },
} as const satisfies Record<string, Options>;
