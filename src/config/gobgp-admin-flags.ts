/**
 * kube-router's flags for GoBGP's gRPC API (part of the agent's one option table,
 * agent-config.ts): here the read-only API bgp/admin/gobgp-api.ts serves for the gobgp CLI.
 */
import type { Options } from 'yargs';

export const GOBGP_ADMIN_OPTIONS = {
  'gobgp-admin-address': {
    type: 'string',
    default: '127.0.0.1',
    describe: "Address(es), comma-separated, of GoBGP's gRPC API (read-only here: the gobgp CLI shows neighbors and RIBs).",
  },
  'gobgp-admin-port': { type: 'number', default: 50051, describe: "Port of GoBGP's gRPC API (0: off)." },
} as const satisfies Record<string, Options>;
