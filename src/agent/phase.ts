/**
 * The agent's phases as an explicit (phase, event) -> (next, actions) table, in the style of the
 * BGP FSM (bgp/fsm/table.ts): pure, tested without I/O, run by the agent's sync loop.
 *
 *   starting --nodeReady--> joined --nodeMissing--> leaving --nodeReady--> joined
 *   starting --nodeMissing--> waitingForNode --nodeReady--> joined
 *   any --stop--> stopping
 *
 * Joining starts the speaker; leaving (the Node object was deleted) stops it and clears the
 * learned routes, tunnels and rules, while local pods keep their data path. Waiting for the Node
 * before the first join clears nothing: routes kept from before a restart must survive. Stopping
 * the process releases the sessions (without NOTIFICATION when graceful restart is on, so that
 * peers keep our routes across a rollout); leaving ends them with Cease, so peers drop them.
 */
export type Phase = 'starting' | 'waitingForNode' | 'joined' | 'leaving' | 'stopping';
export type PhaseEvent = 'nodeReady' | 'nodeMissing' | 'stop';
export type PhaseAction = 'startBgp' | 'stopBgp' | 'releaseBgp' | 'clearRoutes';

interface Transition {
  next: Phase;
  actions: readonly PhaseAction[];
}

const TABLE: Record<Phase, Partial<Record<PhaseEvent, Transition>>> = {
  starting: {
    nodeReady: { next: 'joined', actions: ['startBgp'] },
    nodeMissing: { next: 'waitingForNode', actions: [] },
    stop: { next: 'stopping', actions: [] },
  },
  waitingForNode: {
    nodeReady: { next: 'joined', actions: ['startBgp'] },
    stop: { next: 'stopping', actions: [] },
  },
  joined: {
    nodeMissing: { next: 'leaving', actions: ['stopBgp', 'clearRoutes'] },
    stop: { next: 'stopping', actions: ['releaseBgp'] },
  },
  leaving: {
    nodeReady: { next: 'joined', actions: ['startBgp'] },
    stop: { next: 'stopping', actions: [] },
  },
  stopping: {},
};

/** The transition for an event; an event a phase does not list leaves it as it is. */
export function transition(phase: Phase, event: PhaseEvent): Transition {
  return TABLE[phase][event] ?? { next: phase, actions: [] };
}
