import { interopSuite } from './scenario';
import { BirdDaemon } from '../../lab/peers/bird';

describe('interop with BIRD 2', () => interopSuite('bird', (o) => BirdDaemon.start(o)));
