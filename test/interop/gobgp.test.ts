import { interopSuite } from './scenario';
import { GobgpDaemon } from '../../lab/peers/gobgp';

describe('interop with GoBGP', () => interopSuite('gobgp', (o) => GobgpDaemon.start(o)));
