/** `kube-router-ts bgp neighbors|rib|global|refresh|reset`: the admin CLI over the admin socket. */
import type { Argv, CommandModule } from 'yargs';
import type { GlobalView, NeighborView, PathView } from '../../bgp';

/** The BGP library, required when a subcommand runs: defining the commands (for --help, say) needs none of it. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lib = (): typeof import('../../bgp') => require('../../bgp') as typeof import('../../bgp');

export const DEFAULT_ADMIN_SOCKET = '/run/kube-router-ts/speaker.sock';

interface Common {
  socket: string;
  json: boolean;
}

function print(argv: Common, data: unknown, text: () => string): void {
  process.stdout.write(`${argv.json ? JSON.stringify(data, null, 2) : text()}\n`);
}

const common = (y: Argv): Argv<Common> =>
  y
    .option('socket', { type: 'string', default: DEFAULT_ADMIN_SOCKET, describe: 'Admin socket of the speaker or agent' })
    .option('json', { type: 'boolean', default: false, describe: 'Print JSON instead of a table' });

const familyOption = () => ({ choices: lib().FAMILIES, describe: 'Address family' }) as const;
const q = (family: string | undefined): string => (family ? `?family=${family}` : '');

export const bgpCommand: CommandModule = {
  command: 'bgp <command>',
  describe: 'Inspect and operate the BGP speaker (like gobgp)',
  builder: (y: Argv) =>
    common(y)
      .command<Common & { address?: string }>(
        'neighbors [address]',
        'Show BGP neighbors (peer, AS, up/down, state, received, accepted)',
        (c) => c.positional('address', { type: 'string', describe: 'Show one neighbor in detail' }),
        async (argv) => {
          const ns = await lib().adminRequest<NeighborView[]>(argv.socket, 'GET', '/neighbors');
          if (argv.address) {
            const n = ns.find((x) => x.address === argv.address);
            if (!n) throw new Error(`no neighbor ${argv.address}`);
            print(argv, n, () => lib().formatNeighborDetail(n));
          } else print(argv, ns, () => lib().formatNeighbors(ns));
        },
      )
      .command<Common & { family?: string; neighbor?: string }>(
        'rib',
        'Show the Loc-RIB (prefix, next hop, AS path, age, attributes)',
        (c) =>
          c.option('family', familyOption()).option('neighbor', { type: 'string', describe: "Show this neighbor's Adj-RIB-In instead" }),
        async (argv) => {
          const path = argv.neighbor ? `/neighbors/${encodeURIComponent(argv.neighbor)}/adj-in${q(argv.family)}` : `/rib${q(argv.family)}`;
          const rib = await lib().adminRequest<PathView[]>(argv.socket, 'GET', path);
          print(argv, rib, () => lib().formatRib(rib));
        },
      )
      .command<Common>(
        'global',
        'Show AS, router ID and listening address',
        (c) => c,
        async (argv) => {
          const g = await lib().adminRequest<GlobalView>(argv.socket, 'GET', '/global');
          print(argv, g, () => lib().formatGlobal(g));
        },
      )
      .command<Common & { address: string; family?: string }>(
        'refresh <address>',
        'Ask a neighbor to resend its routes (ROUTE-REFRESH, "soft reset in")',
        (c) => c.positional('address', { type: 'string', demandOption: true }).option('family', familyOption()),
        async (argv) => {
          const r = await lib().adminRequest<{ refreshRequested: string[] }>(
            argv.socket,
            'POST',
            `/neighbors/${encodeURIComponent(argv.address)}/refresh${q(argv.family)}`,
          );
          print(argv, r, () => `route refresh requested from ${argv.address}: ${r.refreshRequested.join(', ')}`);
        },
      )
      .command<Common & { address: string }>(
        'reset <address>',
        'Reset the session with a neighbor (Cease / Administrative Reset)',
        (c) => c.positional('address', { type: 'string', demandOption: true }),
        async (argv) => {
          const r = await lib().adminRequest<unknown>(argv.socket, 'POST', `/neighbors/${encodeURIComponent(argv.address)}/reset`);
          print(argv, r, () => `session with ${argv.address} reset`);
        },
      )
      .demandCommand(1),
  handler: () => undefined,
};
