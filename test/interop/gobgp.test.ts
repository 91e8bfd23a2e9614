import { interopSuite } from './scenario';
import { GobgpDaemon } from '../../src/lab/peers/gobgp';

describe('interop with GoBGP', () => interopSuite('gobgp', (o) => GobgpDaemon.start(o)));
