/**
 * A simulated route reflector for benchmarks: reflects, as far as its one client can tell,
 * the pod CIDRs of a whole cluster. It listens on LOCAL:179 for its client, as a reflector that is
 * already running would, and on the client's iBGP session sends one UPDATE per route (each
 * route has its own next hop: the node that owns the CIDR, also its ORIGINATOR_ID; CLUSTER_LIST
 * is the cluster ID), then End-of-RIB, and keeps the session alive. Lines "announce PREFIX
 * NEXTHOP" on stdin send more. Prints "established <ms>" and "written <ms>" (epoch milliseconds).
 *
 *   node dist/bench/reflector-sim.js --local A --asn N --cluster-id X --routes FILE
 *   (FILE: one "PREFIX NEXTHOP" per line)
 */
import fs from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';
import { encodeMessage } from '../bgp/codec/message';
import { MessageType, Origin } from '../bgp/codec/constants';
import { buildAnnouncements } from '../bgp/speaker/update-builder';
import { minimalSession } from './minimal-session';
import { required } from './args';

const local = required('local');
const asn = Number(required('asn'));
const clusterId = required('cluster-id');
const CTX = { as4: true };

const update = (prefix: string, nextHop: string): Buffer[] =>
  buildAnnouncements(
    'ipv4-unicast',
    { origin: Origin.Igp, asPath: [], nextHop, localPref: 100, originatorId: nextHop, clusterList: [clusterId] },
    [prefix],
    CTX,
  );

const routes = fs
  .readFileSync(required('routes'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => l.split(' ') as [string, string]);
const initial = routes.flatMap(([p, nh]) => update(p, nh));
const endOfRib = encodeMessage({ type: MessageType.Update, withdrawn: [], nlri: [], attributes: [] }, CTX);

let socket: net.Socket | undefined;
const server = net.createServer({ noDelay: true }, (s) => {
  // One client: a second connection (a retry racing the first) is closed.
  if (socket) {
    s.destroy();
    return;
  }
  socket = s;
  minimalSession(s, { asn, routerId: local }, () => [...initial, endOfRib]);
});
server.listen({ host: local, port: 179 }, () => process.stdout.write(`listening ${Date.now()}\n`));

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [verb, prefix, nextHop] = line.trim().split(/\s+/);
  if (verb === 'announce' && prefix && nextHop) for (const u of update(prefix, nextHop)) socket?.write(u);
});
