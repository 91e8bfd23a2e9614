/**
 * The TCP MD5 addon refuses what the kernel cannot take instead of changing it: a key over 80
 * octets (TCP_MD5SIG_MAXKEYLEN) was once cut to 80 silently, so the session was signed with a
 * key the operator never gave. Keys are counted in octets, not characters.
 */
import net from 'node:net';
import { connectMd5, setListenerKey } from '../../../bgp/session/tcp-md5';
import { Speaker } from '../../../bgp/speaker/speaker';

describe('TCP MD5 keys', () => {
  let server: net.Server;
  beforeAll(async () => {
    server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(() => server.close());

  it('takes a key of exactly 80 octets on a listener and refuses 81 with a clear error', () => {
    expect(() => setListenerKey(server, '127.0.0.2', 'k'.repeat(80))).not.toThrow();
    expect(() => setListenerKey(server, '127.0.0.2', 'k'.repeat(81))).toThrow(/longer than 80 bytes/);
    // 41 two-octet characters: 82 octets.
    expect(() => setListenerKey(server, '127.0.0.2', 'é'.repeat(41))).toThrow(/longer than 80 bytes/);
    expect(() => setListenerKey(server, '127.0.0.2', '')).not.toThrow();
  });

  it('refuses an over-long key before dialling', () => {
    expect(() => connectMd5('127.0.0.1', 1, undefined, 'k'.repeat(81))).toThrow(/longer than 80 bytes/);
  });

  it('a speaker refuses a neighbour whose password is over 80 octets, naming it', () => {
    const s = new Speaker({ asn: 65000, routerId: '10.0.0.1', listen: false });
    expect(() => s.addNeighbor({ address: '10.0.0.2', asn: 65001, password: 'é'.repeat(41) })).toThrow(
      /neighbor 10\.0\.0\.2: TCP MD5 key of 82 bytes; at most 80/,
    );
    expect(s.peers.size).toBe(0);
  });
});
