/**
 * Routes go from an UPDATE into the RIB as the codec decoded them, one RouteInput per family and
 * kind; the import policy splits them only where its verdict changes.
 */
import { Speaker } from '../../../bgp/speaker/speaker';
import { ipv4Update } from '../../helpers/updates';
import { establishFake } from '../../helpers/fake-peer';
import { silentLogger } from '../../../bgp/log';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('an UPDATE of several prefixes through the import policy', () => {
  it('keeps each verdict with its own prefix, in runs of accepted and rejected', async () => {
    const prefixes = ['10.1.0.0/24', '10.2.0.0/24', '10.66.0.0/24', '10.66.1.0/24', '10.3.0.0/24', '10.67.0.0/24'];
    const speaker = new Speaker({
      asn: 65000,
      routerId: '10.0.0.1',
      listen: false,
      log: silentLogger,
      importPolicy: (prefix) => (prefix.startsWith('10.66.') ? 'pod CIDR' : prefix.startsWith('10.67.') ? false : true),
    });
    try {
      speaker.addNeighbor({ address: '10.0.0.2', asn: 65001, passive: true });
      const a = establishFake(speaker, { address: '10.0.0.2', asn: 65001, families: ['ipv4-unicast'] });
      a.push(ipv4Update(prefixes, { asn: 65001, nextHop: '10.0.0.2' }));
      await tick();
      const verdicts = prefixes.map((p) => {
        const [path] = speaker.rib.paths(p);
        return [p, path?.accepted, path?.rejectReason];
      });
      expect(verdicts).toEqual([
        ['10.1.0.0/24', true, undefined],
        ['10.2.0.0/24', true, undefined],
        ['10.66.0.0/24', false, 'rejected by import policy: pod CIDR'],
        ['10.66.1.0/24', false, 'rejected by import policy: pod CIDR'],
        ['10.3.0.0/24', true, undefined],
        ['10.67.0.0/24', false, 'rejected by import policy'],
      ]);
      expect(speaker.rib.counts('10.0.0.2')).toEqual({ received: 6, accepted: 3 });
    } finally {
      await speaker.stop();
    }
  });
});
