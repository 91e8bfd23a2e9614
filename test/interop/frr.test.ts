import { interopSuite } from './scenario';
import { FrrDaemon } from '../../lab/peers/frr';

describe('interop with FRR', () => interopSuite('frr', (o) => FrrDaemon.start(o)));
