/**
 * `lab up`: builds the lab cluster (lab/cluster.ts says what it is made of): segments, API
 * server, ToR, nodes with their agents, then pods once each agent has written its CNI config.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Netns, Segment, listNetns } from './netns';
import { Bird } from './peers/bird';
import { labProgram } from './programs';
import { startPrometheus } from './prometheus';
import { makeApiCredentials, renderKubeconfig } from './apiserver/tls';
import { until } from './wait';
import { Lab, agentFlagOn, destroyLab, stateFile, tunnelSupportProblem } from './cluster';
import {
  API_IP,
  API_PORT,
  HOST_KUBECONFIG,
  HOST_SOCKET,
  CLUSTER_ASN,
  EXTERNAL_HOST,
  EXTERNAL_HOST6,
  METRICS_PORT,
  LAB_DIR,
  LAB_PREFIX,
  LabState,
  TOR_ASN,
  TOR_RESTART_TIME,
  labNode,
  routerIp,
  routerIp6,
  segmentName,
  subnet4,
} from './layout';

export interface LabOptions {
  nodes: number;
  tor: boolean;
  /** Subnets the nodes are spread over, joined by the ToR (routing between them). */
  subnets?: number;
  /** Dual-stack: IPv6 node addresses and pod CIDRs too (agents run with --enable-ipv6). */
  ipv6?: boolean;
  podsPerNode?: number;
  prefix?: string;
  dir?: string;
  /** The program the agents run (dist/src/cli/main.js or its bundle: see programs.ts). */
  cli: string;
  /** Flags added to every agent's command line. */
  agentArgs?: string[];
  /** Options for each agent's `node`, before the program (lab up --agent-node-args). */
  agentNodeArgs?: string[];
  /** Run Prometheus scraping every node (in the API server's namespace). */
  prometheus?: boolean;
  /** The first K nodes are route reflectors (kube-router.io/rr.server), the others their clients. */
  routeReflectors?: number;
  /** The agents will build tunnels: check first that this kernel can. */
  needsTunnels?: boolean;
  out?: (line: string) => void;
}

/**
 * Builds the lab: segment, API server, ToR, nodes with their agents, then pods once each agent
 * has written its CNI config. Everything is torn down again if a step fails.
 */
export async function labUp(o: LabOptions): Promise<Lab> {
  const prefix = o.prefix ?? LAB_PREFIX;
  const dir = o.dir ?? LAB_DIR;
  const out = o.out ?? (() => undefined);
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 200) throw new Error('--nodes must be 1-200');
  if ((await listNetns(prefix)).length)
    throw new Error(`a lab is already up (namespaces ${prefix}*); take it down with "kube-router-ts lab down"`);
  if (o.needsTunnels) {
    const problem = await tunnelSupportProblem(prefix);
    if (problem)
      throw new Error(
        `${problem}. The overlay cannot work here: run the lab in a VM (lab up --vm ...), or with --enable-overlay=false (then the ToR carries traffic between subnets)`,
      );
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const apiDir = path.join(dir, 'api');
  const subnets = o.subnets ?? 1;
  if (!Number.isInteger(subnets) || subnets < 1 || subnets > Math.min(o.nodes, 200))
    throw new Error('--subnets must be 1 to the number of nodes');
  const ipv6 = !!o.ipv6;
  const reflectors = o.routeReflectors ?? 0;
  if (!Number.isInteger(reflectors) || reflectors < 0 || reflectors > o.nodes)
    throw new Error('--route-reflectors must be 0 to the number of nodes');
  const state: LabState = {
    prefix,
    dir,
    cli: o.cli,
    subnets,
    api: { netns: `${prefix}api`, ip: API_IP, port: API_PORT, socket: path.join(apiDir, 'api.sock'), dir: apiDir },
    nodes: Array.from({ length: o.nodes }, (_, i) => ({
      ...labNode(prefix, dir, i + 1, o.nodes, subnets, ipv6),
      ...(reflectors ? { rr: i < reflectors ? ('server' as const) : ('client' as const) } : {}),
    })),
    pods: [],
    agentArgs: o.agentArgs ?? [],
    agentNodeArgs: o.agentNodeArgs ?? [],
    ipv6,
  };
  // A router is needed to join subnets, and is the ToR when BGP is asked for.
  if (o.tor || subnets > 1) {
    state.tor = {
      netns: `${prefix}tor`,
      asn: TOR_ASN,
      dir: path.join(dir, 'tor'),
      bgp: o.tor,
      externalHost: EXTERNAL_HOST,
      ...(ipv6 ? { externalHost6: EXTERNAL_HOST6 } : {}),
    };
  }
  const lab = new Lab(state);
  fs.writeFileSync(stateFile(dir), `${JSON.stringify(state, null, 2)}\n`);
  let apiNs: Netns;
  try {
    const segments: Segment[] = [];
    for (let k = 1; k <= subnets; k++) segments.push(await Segment.create(segmentName(prefix, k)));
    const sw = segments[0]!;

    out(`API server ${API_IP}:${API_PORT} (namespace ${state.api.netns})`);
    const creds = await makeApiCredentials(apiDir, [API_IP, '127.0.0.1']);
    apiNs = await Netns.create(state.api.netns);
    await sw.join(apiNs, 'eth0', [`${API_IP}/24`]);
    if (state.tor) await apiNs.ip('route', 'add', 'default', 'via', routerIp(1));
    apiNs
      .spawn(process.execPath, [labProgram(), 'apiserver', `--dir=${apiDir}`, `--listen=${API_IP}:${API_PORT}`], {
        logFile: path.join(apiDir, 'apiserver.log'),
      })
      .unref();
    await until(
      () =>
        lab.api.lab('stats').then(
          (s) => s.up === true,
          () => false,
        ),
      60000,
      `the API server (log: ${apiDir}/apiserver.log)`,
    );
    for (const ns of ['default', 'kube-system'])
      await lab.api.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const token = fs.readFileSync(creds.tokenFile, 'utf8').trim();
    const hostKubeconfig = await startRelay(apiDir, dir, creds.caCert, token);
    out(`kubectl from this shell: kubectl --kubeconfig ${hostKubeconfig} get nodes`);

    if (state.tor) {
      const tor = state.tor;
      const torNs = await Netns.create(tor.netns);
      for (let k = 1; k <= subnets; k++)
        await segments[k - 1]!.join(torNs, `eth${k - 1}`, [`${routerIp(k)}/24`, ...(ipv6 ? [`${routerIp6(k)}/64`] : [])]);
      await torNs.ip('addr', 'add', `${tor.externalHost}/32`, 'dev', 'lo');
      if (tor.externalHost6) await torNs.ip('addr', 'add', `${tor.externalHost6}/128`, 'dev', 'lo');
      await torNs.sysctl('net.ipv4.ip_forward', '1');
      if (ipv6) await torNs.sysctl('net.ipv6.conf.all.forwarding', '1');
      out(
        `ToR ${Array.from({ length: subnets }, (_, i) => routerIp(i + 1)).join(', ')}${tor.bgp ? ` (BIRD, AS ${tor.asn})` : ' (router)'}, namespace ${tor.netns}; outside host ${tor.externalHost}`,
      );
      if (tor.bgp) {
        fs.mkdirSync(tor.dir, { recursive: true });
        const bfd = agentFlagOn(state.agentArgs, 'enable-bfd', false);
        // On one subnet the ToR installs nothing (so pod egress must be SNATed to get an answer);
        // joining subnets, it routes to the pod CIDRs it learns, as a real ToR would.
        await Bird.start(torNs, tor.dir, {
          routerId: routerIp(1),
          asn: tor.asn,
          localAddress: routerIp(1),
          routes: [],
          kernel: subnets > 1,
          // With the agents' --enable-bfd the ToR runs BFD too (each session at the slower side's pace).
          ...(bfd ? { bfd: { intervalMs: 300, multiplier: 3 } } : {}),
          protocols: state.nodes.map((n) => ({
            ...(bfd ? { bfd: true } : {}),
            name: n.name,
            neighbor: n.ip,
            asn: CLUSTER_ASN,
            localAddress: routerIp(n.subnet),
            // A helper (RFC 4724) as top-of-rack routers are: a node's agent restarting keeps its routes.
            gracefulRestart: TOR_RESTART_TIME,
            ...(ipv6 ? { ipv6NextHop: routerIp6(n.subnet) } : {}),
          })),
        });
      }
    }

    for (const n of state.nodes) {
      out(
        `${n.name} ${[n.ip, n.ip6].filter(Boolean).join(' ')}${subnets > 1 ? ` (subnet ${subnet4(n.subnet)})` : ''}` +
          `, pod CIDR ${[n.podCidr, n.podCidr6].filter(Boolean).join(' ')} (namespace ${n.netns})`,
      );
      const ns = await Netns.create(n.netns);
      await segments[n.subnet - 1]!.join(ns, 'eth0', [`${n.ip}/24`, ...(n.ip6 ? [`${n.ip6}/64`] : [])]);
      if (state.tor) await ns.ip('route', 'add', 'default', 'via', routerIp(n.subnet));
      if (state.tor && ipv6) await ns.ip('-6', 'route', 'add', 'default', 'via', routerIp6(n.subnet));
      fs.mkdirSync(path.dirname(n.cniConfList), { recursive: true });
      fs.writeFileSync(n.kubeconfig, renderKubeconfig(`https://${API_IP}:${API_PORT}`, creds.caCert, token, 'kube-router'), {
        mode: 0o600,
      });
      await lab.createNode(n);
      lab.startAgent(n);
    }

    for (const n of state.nodes) {
      await until(() => fs.existsSync(n.cniConfList), 120000, `${n.name}'s agent to write ${n.cniConfList} (log: ${n.dir}/agent.log)`);
    }
    for (const n of state.nodes) {
      for (let j = 1; j <= (o.podsPerNode ?? 2); j++) {
        const pod = await lab.createPod(n, `${n.name}-pod${j}`);
        out(`  pod ${pod.name} ${[pod.ip, pod.ip6].filter(Boolean).join(' ')}`);
      }
    }
    // Kubelet, Service IP allocator and endpoint-slice controller for what kubectl applies.
    startHelper(apiDir, 'controllers', [`--dir=${dir}`]);
    if (o.prometheus) {
      state.prometheus = await startPrometheus(apiNs, state);
      lab.save();
      out(`Prometheus ${state.prometheus.url} (namespace ${state.api.netns}) scrapes every node's :${METRICS_PORT}/metrics`);
    }
  } catch (e) {
    await destroyLab(prefix, dir, true);
    throw new Error(`${(e as Error).message}; the lab was taken down, its logs are kept in ${dir}`);
  }
  return lab;
}

/** Starts a lab helper process in the root namespace (`lab NAME ...`), its pid in apiDir/NAME.pid. */
function startHelper(apiDir: string, name: string, args: string[]): void {
  const log = fs.openSync(path.join(apiDir, `${name}.log`), 'a');
  const child = spawn(process.execPath, [labProgram(), name, ...args], { stdio: ['ignore', log, log], detached: true });
  fs.closeSync(log);
  fs.writeFileSync(path.join(apiDir, `${name}.pid`), `${child.pid}\n`);
  child.unref();
}

/**
 * Starts the relay that serves the API on the host's loopback (lab/host-access.ts) and writes
 * the kubeconfig that reaches it; returns that file's path.
 */
async function startRelay(apiDir: string, dir: string, caCert: string, token: string): Promise<string> {
  const portFile = path.join(apiDir, 'relay.port');
  fs.rmSync(portFile, { force: true });
  startHelper(apiDir, 'relay', [`--to=${path.join(apiDir, HOST_SOCKET)}`, `--port-file=${portFile}`]);
  await until(() => fs.existsSync(portFile), 30000, `the API relay on 127.0.0.1 (log: ${apiDir}/relay.log)`);
  const port = Number(fs.readFileSync(portFile, 'utf8'));
  const file = path.join(dir, HOST_KUBECONFIG);
  fs.writeFileSync(file, renderKubeconfig(`https://127.0.0.1:${port}`, caCert, token, 'lab-admin'), { mode: 0o600 });
  return file;
}
