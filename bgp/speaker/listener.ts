/**
 * The speaker's listening sockets: one server per configured address, each told every
 * neighbour's TCP MD5 key (RFC 2385: the key must be known before the peer's SYN arrives), and
 * incoming connections handed to the neighbour they come from. Connections from any other
 * address are closed at once, logged at most once a minute per address.
 */
import net from 'node:net';
import { normalizeAddress } from '../../net';
import type { TransportFactory } from '../session/transport';
import type { Logger } from '../log';

/** Addresses remembered for the once-a-minute log; beyond, the memory is cleared. */
const MAX_STRANGERS = 1000;

export class Listener {
  private servers: net.Server[] = [];
  /** When a connection from a non-neighbour address was last logged, per address. */
  private readonly strangers = new Map<string, number>();

  constructor(
    private readonly transports: TransportFactory,
    private readonly log: Logger,
    /** Takes a connection from a neighbour's address; false when there is no such neighbour. */
    private readonly accept: (remote: string, socket: net.Socket) => boolean,
  ) {}

  /** Listens on each host (undefined: every address); `keys` are the neighbours' MD5 keys. */
  async listen(hosts: readonly (string | undefined)[], port: number, keys: Iterable<[string, string]>): Promise<void> {
    const known = [...keys];
    for (const host of hosts) {
      const server = net.createServer({ noDelay: true }, (socket) => this.onIncoming(socket));
      server.on('error', (err) => this.log.error({ err }, 'listener error'));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port }, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
      this.servers.push(server);
      for (const [address, key] of known) this.transports.setListenerKey(server, address, key);
      this.log.info({ address: host ?? '*', port: this.port }, 'listening for BGP connections');
    }
  }

  /** Sets (or, with '', clears) a neighbour's MD5 key on every listener. */
  setKey(address: string, key: string): void {
    for (const server of this.servers) this.transports.setListenerKey(server, address, key);
  }

  get listening(): boolean {
    return this.servers.length > 0 && this.servers.every((s) => s.listening);
  }

  get port(): number | undefined {
    const addr = this.servers[0]?.address();
    return addr && typeof addr === 'object' ? addr.port : undefined;
  }

  /**
   * Stops accepting connections. Does not wait for sockets to drain: server.close()'s callback
   * would wait for every accepted socket, and a peer may keep its side open.
   */
  close(): void {
    for (const server of this.servers) server.close();
    this.servers = [];
  }

  private onIncoming(socket: net.Socket): void {
    // From the first moment: a reset before anyone else listens must not become an uncaught 'error'.
    socket.on('error', () => undefined);
    const remote = normalizeAddress(socket.remoteAddress);
    if (remote && this.accept(remote, socket)) return;
    const now = Date.now();
    if (remote && now - (this.strangers.get(remote) ?? 0) > 60000) {
      if (this.strangers.size > MAX_STRANGERS) this.strangers.clear();
      this.strangers.set(remote, now);
      this.log.info({ remote }, 'rejecting connections from an address that is not a neighbor (logged once a minute per address)');
    }
    socket.destroy();
  }
}
