import { interopSuite } from './scenario';
import { ExabgpDaemon } from '../../lab/peers/exabgp';

describe('interop with ExaBGP', () => interopSuite('exabgp', (o) => ExabgpDaemon.start(o)));
