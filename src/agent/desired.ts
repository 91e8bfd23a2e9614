/**
 * The immutable snapshot of desired state the sync loop hands to the routes and services loops
 * (SerialTask inputs): each run reads one snapshot and nothing another loop writes.
 */
import type { LocalNode, NodesDesired } from '../../controllers/nodes';
import type { AdvertisedVip } from '../../controllers/services';
import type { Routing } from './routing';

export type Desired =
  | {
      readonly phase: 'joined';
      readonly nodes: NodesDesired;
      readonly local: LocalNode;
      readonly nodeIp: string;
      readonly vips: readonly AdvertisedVip[];
      /** This join's speaker (undefined with --run-router=false). */
      readonly routing: Routing | undefined;
    }
  | { readonly phase: 'leaving' };

export type Joined = Extract<Desired, { phase: 'joined' }>;

/** Freezes a snapshot (shallowly: its parts are values computed for it alone). */
export const snapshot = <T extends Desired>(d: T): T => Object.freeze(d);
