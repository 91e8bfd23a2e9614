/**
 * The lab's entry point, `kube-router-ts lab ...` from a checkout (the product's CLI hands these
 * commands over; the image has no lab): the one-machine cluster (up, status, restart, down; in a
 * VM with --vm), the embedded API server process it runs (apiserver, hidden), and the older
 * two-speaker demo. `node dist/lab/main.js up ...` is the same without the hand-over.
 */
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { Argv } from 'yargs';
import { AGENT_NODE_ARGS } from '../src/agent/process-env';
import { agentProgram } from './programs';
import { speakerDemoDown, speakerDemoUp } from './speaker-demo';
import { Lab, destroyLab } from './cluster';
import { labUp } from './up';
import { HOST_SOCKET, LAB_DIR, LAB_PREFIX } from './layout';
import { runRelay } from './host-access';
import { podNetns, runLabControllers } from './controllers';
import { formatLabStatus, labStatus } from './status';
import { ApiServer } from './apiserver/server';
import { inVmLab, vmLab, vmLabDown, vmLabUp } from './vm-lab';

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const PREFIX_OPTION = { type: 'string', default: LAB_PREFIX, describe: 'Prefix of the lab namespace names' } as const;
const DIR_OPTION = { type: 'string', default: LAB_DIR, describe: 'Where the lab keeps its state, logs and sockets' } as const;

async function runApiServer(dir: string, listen: string): Promise<void> {
  const m = /^(.+):(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen: ${JSON.stringify(listen)} is not HOST:PORT`);
  const token = fs.readFileSync(path.join(dir, 'token'), 'utf8').trim();
  const server = new ApiServer({ token });
  await server.listenTls(
    m[1]!,
    Number(m[2]),
    fs.readFileSync(path.join(dir, 'apiserver.crt')),
    fs.readFileSync(path.join(dir, 'apiserver.key')),
  );
  await server.listenUnix(path.join(dir, 'api.sock'));
  // The same TLS service on a unix socket, which the host's relay (lab/host-access.ts) reaches.
  await server.listenTlsUnix(path.join(dir, HOST_SOCKET));
  say(`API server on https://${listen} and ${path.join(dir, 'api.sock')}`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  server.close();
  process.exit(0);
}

/** The words of an option that carries several flags (--agent-args, --agent-node-args). */
const words = (text: string | undefined): string[] => (text ?? '').split(/\s+/).filter(Boolean);

/** Flags for the agents from the lab's overlay options, plus --agent-args verbatim. */
function agentArgsFrom(a: { 'enable-overlay': boolean; 'overlay-type': string; 'overlay-encap': string; 'agent-args'?: string }): string[] {
  return [
    `--enable-overlay=${a['enable-overlay']}`,
    `--overlay-type=${a['overlay-type']}`,
    `--overlay-encap=${a['overlay-encap']}`,
    ...words(a['agent-args']),
  ];
}

type UpArgs = {
  nodes: number;
  tor: boolean;
  pods: number;
  prefix: string;
  dir: string;
  ipv6: boolean;
  subnets: number;
  vm: boolean;
  prometheus: boolean;
  'enable-overlay': boolean;
  'overlay-type': string;
  'overlay-encap': string;
  'agent-args'?: string;
  'agent-node-args'?: string;
  'route-reflectors': number;
};

/** Parses and runs ARGS, the words after `kube-router-ts lab`. */
export function runLab(args: string[]): Promise<unknown> {
  /** This command line without the command's name and --vm, for running it inside the VM lab. */
  const forwarded = (command: string): string[] => args.filter((x, i) => i !== args.indexOf(command) && x !== '--vm' && x !== '--vm=true');
  /** Runs this command inside the running VM lab, if there is one; true when it did. */
  const forwardToVm = async (command: string): Promise<boolean> => {
    const vm = vmLab();
    if (!vm) return false;
    const r = await inVmLab(vm, [command, ...forwarded(command)]);
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    process.exitCode = r.code;
    return true;
  };
  return yargs(args)
    .scriptName('kube-router-ts lab')
    .command<UpArgs>(
      'up',
      'Build the lab: an API server, N nodes each running the agent, two pods per node, and with --tor a BIRD top-of-rack router',
      (c) =>
        c
          .option('dir', DIR_OPTION)
          .option('nodes', { type: 'number', default: 3, describe: 'Number of nodes (1-200)' })
          .option('tor', {
            type: 'boolean',
            default: false,
            describe: 'Add a top-of-rack router (BIRD, AS 64513) peering eBGP with every node',
          })
          .option('subnets', {
            type: 'number',
            default: 1,
            describe: 'Spread the nodes over this many subnets, joined by the ToR (a router even without --tor)',
          })
          .option('pods', { type: 'number', default: 2, describe: 'Pods per node' })
          .option('route-reflectors', {
            type: 'number',
            default: 0,
            describe: 'Make the first K nodes route reflectors (kube-router.io/rr.server) and the others their clients (rr.client)',
          })
          .option('ipv6', {
            type: 'boolean',
            default: false,
            describe: 'Dual-stack: IPv6 node addresses and pod CIDRs as well (agents run with --enable-ipv6)',
          })
          .option('enable-overlay', { type: 'boolean', default: true, describe: "The agents' --enable-overlay" })
          .option('overlay-type', {
            type: 'string',
            choices: ['subnet', 'full'],
            default: 'subnet',
            describe: "The agents' --overlay-type",
          })
          .option('overlay-encap', { type: 'string', choices: ['ipip', 'fou'], default: 'ipip', describe: "The agents' --overlay-encap" })
          .option('agent-args', {
            type: 'string',
            describe: 'More flags for every agent, given with "=": --agent-args="--bgp-graceful-restart"',
          })
          .option('agent-node-args', {
            type: 'string',
            describe: `Options for every agent's node process, after the image's (${AGENT_NODE_ARGS.join(' ')}): --agent-node-args="--max-opt=1"`,
          })
          .option('prometheus', {
            type: 'boolean',
            default: true,
            describe: "Run Prometheus (Debian's package) scraping every node's metrics",
          })
          .option('vm', {
            type: 'boolean',
            default: false,
            describe: "Run the lab inside a VM booted from Debian's kernel (for ipip and fou where this kernel lacks them)",
          })
          .option('prefix', PREFIX_OPTION) as Argv<UpArgs>,
      async (argv) => {
        if (argv.vm) {
          process.exitCode = await vmLabUp(forwarded('up'), say);
          return;
        }
        const needsTunnels = argv['enable-overlay'] && (argv.subnets > 1 || (argv['overlay-type'] === 'full' && argv.nodes > 1));
        const lab = await labUp({
          nodes: argv.nodes,
          tor: argv.tor,
          subnets: argv.subnets,
          podsPerNode: argv.pods,
          ipv6: argv.ipv6,
          cli: agentProgram(),
          out: say,
          prefix: argv.prefix,
          dir: argv.dir,
          agentArgs: agentArgsFrom(argv),
          agentNodeArgs: words(argv['agent-node-args']),
          needsTunnels,
          prometheus: argv.prometheus,
          routeReflectors: argv['route-reflectors'],
        });
        say('waiting for BGP to converge...');
        try {
          await lab.waitConverged(180000);
        } catch (e) {
          say(`not converged: ${(e as Error).message}; the lab stays up for inspection (logs: ${lab.state.dir}/*/agent.log)`);
          process.exitCode = 1;
          return;
        }
        say(
          `lab is up. Next: kube-router-ts lab status; explore with "ip netns exec ${lab.state.nodes[0]!.netns} ip route"` +
            `, ipset list, iptables-save, or "kube-router-ts bgp neighbors --socket ${lab.state.nodes[0]!.adminSocket}"; remove with kube-router-ts lab down`,
        );
      },
    )
    .command<{ json: boolean; dir: string }>(
      'status',
      'Show nodes, pod CIDRs, BGP sessions, routes, tunnels and a pod-to-pod ping matrix; exit status 1 if any pair cannot reach each other',
      (c) => c.option('dir', DIR_OPTION).option('json', { type: 'boolean', default: false, describe: 'Print JSON' }),
      async (argv) => {
        if (await forwardToVm('status')) return;
        const lab = Lab.load(argv.dir);
        const s = await labStatus(lab);
        say(argv.json ? JSON.stringify(s, null, 2) : formatLabStatus(s, lab));
        if (!s.ok) process.exitCode = 1;
      },
    )
    .command<{ dir: string; pod: string; namespace: string; cmd: string[] }>(
      'exec <pod> [cmd..]',
      "Run a command in a pod's network namespace: lab exec [-n NS] POD -- CMD [ARGS...]",
      (c) =>
        c
          .option('dir', DIR_OPTION)
          .option('namespace', { alias: 'n', type: 'string', default: 'default', describe: "The pod's namespace" })
          .positional('pod', { type: 'string', demandOption: true })
          .positional('cmd', { type: 'string', array: true, default: [] }) as Argv<{
          dir: string;
          pod: string;
          namespace: string;
          cmd: string[];
        }>,
      async (argv) => {
        // Words after "--" land in argv._ (after the command's name), not in the positional.
        const cmd = [...argv.cmd, ...(argv as unknown as { _: unknown[] })._.slice(1)].map(String);
        if (cmd.length === 0) throw new Error('lab exec: no command given (lab exec [-n NS] POD -- CMD [ARGS...])');
        const netns = podNetns(Lab.load(argv.dir), argv.namespace, argv.pod);
        const child = spawn('ip', ['netns', 'exec', netns, ...cmd], { stdio: 'inherit' });
        process.exitCode = await new Promise<number>((resolve) =>
          child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))),
        );
      },
    )
    .command<{ dir: string; 'agent-args'?: string; 'all-at-once': boolean }>(
      'restart',
      'Restart every agent as a DaemonSet rollout does (one node at a time), with --agent-args replacing their extra flags when given',
      (c) =>
        c
          .option('dir', DIR_OPTION)
          .option('agent-args', {
            type: 'string',
            describe: 'The extra flags, given with "=": --agent-args="--overlay-type=full --overlay-encap=fou"',
          })
          .option('all-at-once', {
            type: 'boolean',
            default: false,
            describe: 'Stop every agent, then start them all (faster, not a rollout)',
          }),
      async (argv) => {
        if (await forwardToVm('restart')) return;
        const lab = Lab.load(argv.dir);
        const args = argv['agent-args'] === undefined ? undefined : words(argv['agent-args']);
        const t0 = Date.now();
        await lab.restartAgents(args, undefined, argv['all-at-once']);
        say(`rollout took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        say(`agents restarted with ${lab.state.agentArgs.join(' ') || 'no extra flags'}; BGP converged`);
      },
    )
    .command<{ dir: string; prefix: string }>(
      'down',
      'Stop every lab process and delete the lab namespaces and files (and the VM of a VM lab)',
      (c) => c.option('dir', DIR_OPTION).option('prefix', PREFIX_OPTION),
      async (argv) => {
        if (vmLab()) {
          await vmLabDown(say);
          say('VM lab removed');
          return;
        }
        // The state file names the namespaces; without one (a half-built lab) --prefix does.
        let prefix = argv.prefix;
        try {
          prefix = Lab.load(argv.dir).state.prefix;
        } catch {
          // No state file.
        }
        await destroyLab(prefix, argv.dir);
        say('lab removed');
      },
    )
    .command<{ dir: string; listen: string }>({
      command: 'apiserver',
      describe: false,
      builder: (c) =>
        c.option('dir', { type: 'string', demandOption: true }).option('listen', { type: 'string', demandOption: true }) as Argv<{
          dir: string;
          listen: string;
        }>,
      handler: (argv) => runApiServer(argv.dir, argv.listen),
    })
    .command<{ to: string; 'port-file': string }>({
      command: 'relay',
      describe: false,
      builder: (c) =>
        c.option('to', { type: 'string', demandOption: true }).option('port-file', { type: 'string', demandOption: true }) as Argv<{
          to: string;
          'port-file': string;
        }>,
      handler: (argv) => runRelay(argv.to, argv['port-file']),
    })
    .command<{ dir: string }>({
      command: 'controllers',
      describe: false,
      builder: (c) => c.option('dir', { type: 'string', demandOption: true }) as Argv<{ dir: string }>,
      handler: (argv) => runLabControllers(argv.dir),
    })
    .command<{ down: boolean }>(
      'speaker-demo',
      'Two speakers (iBGP, AS 64512) and a BIRD top-of-rack router in namespaces, without Kubernetes',
      (c) => c.option('down', { type: 'boolean', default: false, describe: 'Remove the demo' }),
      async (argv) => {
        if (argv.down) {
          await speakerDemoDown();
          say('speaker demo removed');
          return;
        }
        await speakerDemoUp(agentProgram(), say);
      },
    )
    .demandCommand(1)
    .strict()
    .help()
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`kube-router-ts lab: ${msg}\nRun with --help for usage.\n`);
      process.exit(2);
    })
    .parseAsync();
}

if (require.main === module) {
  runLab(hideBin(process.argv)).catch((err: Error) => {
    process.stderr.write(`kube-router-ts lab: ${err.message}\n`);
    process.exit(1);
  });
}
