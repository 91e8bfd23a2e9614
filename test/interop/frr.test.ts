import { interopSuite } from './scenario';
import { FrrDaemon } from '../helpers/peers/frr';

describe('interop with FRR', () => interopSuite('frr', (o) => FrrDaemon.start(o)));
