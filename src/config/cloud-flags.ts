/** kube-router's cloud provider flag (part of the agent's one option table, agent-config.ts). */
import type { Options } from 'yargs';

export const CLOUD_OPTIONS = {
  'disable-source-dest-check': {
    type: 'boolean',
    default: true,
    describe:
      "With --run-router: turn off the source/destination check of each node's EC2 instance (nodes whose spec.providerID is aws:///ZONE/INSTANCE), which routed pod traffic needs on AWS. Needs ec2:ModifyInstanceAttribute for the node's credentials.",
  },
} as const satisfies Record<string, Options>;
