import { interopSuite } from './scenario';
import { ExabgpDaemon } from '../helpers/peers/exabgp';

describe('interop with ExaBGP', () => interopSuite('exabgp', (o) => ExabgpDaemon.start(o)));
