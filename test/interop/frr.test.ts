import { interopSuite } from './scenario';
import { FrrDaemon } from '../../src/lab/peers/frr';

describe('interop with FRR', () => interopSuite('frr', (o) => FrrDaemon.start(o)));
