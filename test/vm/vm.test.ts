/**
 * Every test that needs the VM, one VM after the other in one jest worker. Two VMs at once (one
 * per worker, as when each suite was its own test file) share this 2-core machine's emulation:
 * on a slow day a 4-node lab inside one took over nine minutes to come up beside the other and a
 * CNI plugin over 30 s to start. In sequence each VM has the cores to itself, while the other
 * worker runs the rest of the suite.
 */
import './harness.suite';
import './tunnels.suite';
import './overlay-lab.suite';
import './service-proxy.suite';

// The longest single step (overlay lab restarts under emulation) within 20 minutes.
jest.setTimeout(1200000);
