import { interopSuite } from './scenario';
import { GobgpDaemon } from '../helpers/peers/gobgp';

describe('interop with GoBGP', () => interopSuite('gobgp', (o) => GobgpDaemon.start(o)));
