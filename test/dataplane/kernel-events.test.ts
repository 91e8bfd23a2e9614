/** Which loop a kernel event wakes: the one owning the object it touched, no other. */
import { classify, dropEchoes, KernelEvent, KernelWatch } from '../../src/dataplane/kernel-events';

const ctx = {
  names: new Map([
    [5, 'kube-bridge'],
    [6, 'kube-dummy-if'],
    [7, 'tun-100012'],
    [2, 'eth0'],
  ]),
  routeDsts: new Set(['10.244.2.0/24']),
};
const link = (index: number, ifname?: string): KernelEvent => ({ kind: 'link', data: { index }, attrs: ifname ? { ifname } : {} });
const address = (index: number): KernelEvent => ({ kind: 'address', data: { index }, attrs: {} });
const route = (dst: string, protocol: unknown): KernelEvent => {
  const [ip, len] = dst.split('/');
  return { kind: 'route', data: { dstLen: Number(len), protocol }, attrs: { dst: Buffer.from(ip!.split('.').map(Number)) } };
};

describe('kernel events -> loops', () => {
  it.each([
    ['kube-bridge set down or deleted', [link(5, 'kube-bridge')], ['setup']],
    ['an address of kube-bridge removed', [address(5)], ['setup']],
    ['kube-dummy-if changed', [link(6)], ['services']],
    ['a VIP removed from kube-dummy-if', [address(6)], ['services']],
    ['a tunnel deleted', [link(7, 'tun-100012')], ['routes']],
    ['a route of ours deleted', [route('10.244.3.0/24', 44)], ['routes']],
    ['a static route put over one we route', [route('10.244.2.0/24', 'STATIC')], ['routes']],
    ['a rule for table 77', [{ kind: 'rule', data: {}, attrs: { table: 77 } }], ['routes']],
    ['the uplink, its address, an unrelated route', [link(2, 'eth0'), address(2), route('192.168.9.0/24', 'STATIC')], []],
    ['a burst touching two loops', [link(5, 'kube-bridge'), route('10.244.3.0/24', 44), route('10.244.3.0/24', 44)], ['setup', 'routes']],
  ])('%s', (_what, events, loops) => {
    expect([...classify(events as KernelEvent[], ctx)].sort()).toEqual([...loops].sort());
  });
});

describe('the echoes of our own route changes', () => {
  it('are dropped once each; anyone else touching those routes is still heard', () => {
    const echoes = new Map([
      ['10.244.3.0/24', 1],
      ['10.244.4.0/24', 2],
    ]);
    const ours = [route('10.244.3.0/24', 44), route('10.244.4.0/24', 44), route('10.244.4.0/24', 44)];
    expect(dropEchoes(ours, echoes)).toEqual([]);
    expect(echoes.size).toBe(0);
    // Someone deletes one of them afterwards: that event is theirs.
    const theirs = [route('10.244.3.0/24', 44)];
    expect([...classify(dropEchoes(theirs, echoes), ctx)]).toEqual(['routes']);
  });

  it('only routes of ours are ever taken for echoes', () => {
    const echoes = new Map([['10.244.2.0/24', 1]]);
    const static_ = [route('10.244.2.0/24', 'STATIC')];
    expect(dropEchoes(static_, echoes)).toEqual(static_);
    expect(echoes.get('10.244.2.0/24')).toBe(1);
  });
});

describe('the kernel event socket', () => {
  it('drops the echo of a route change of ours; after a change the kernel refused, the next event is heard', () => {
    const seen: string[][] = [];
    const w = new KernelWatch(
      false,
      (loops) => seen.push([...loops]),
      () => undefined,
    );
    try {
      const deliver = (events: KernelEvent[]) => (w as unknown as { onMessage(e: KernelEvent[]): void }).onMessage(events);
      w.routeEchoes.expect('10.244.3.0/24');
      deliver([route('10.244.3.0/24', 44)]);
      expect(seen).toEqual([]);
      w.routeEchoes.expect('10.244.3.0/24');
      w.routeEchoes.cancel('10.244.3.0/24');
      deliver([route('10.244.3.0/24', 44)]);
      expect(seen).toEqual([['routes']]);
    } finally {
      w.close();
    }
  });

  it('survives a receive error (ENOBUFS: events were dropped) and then checks every loop', () => {
    const seen: string[][] = [];
    const lost: string[] = [];
    const w = new KernelWatch(
      false,
      (loops) => seen.push([...loops].sort()),
      (e) => lost.push(e.message),
    );
    try {
      const socket = (w as unknown as { socket: { socket: { emit(e: string, err: Error): boolean } } }).socket.socket;
      expect(() => socket.emit('error', Object.assign(new Error('recvmsg ENOBUFS'), { code: 'ENOBUFS' }))).not.toThrow();
      expect(lost).toEqual(['recvmsg ENOBUFS']);
      expect(seen).toEqual([['routes', 'services', 'setup']]);
    } finally {
      w.close();
    }
  });
});
