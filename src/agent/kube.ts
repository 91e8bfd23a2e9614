/**
 * The API client configuration, as kube-router finds it: --kubeconfig, else the in-cluster
 * service account; --master overrides the server address either way.
 */
// Only the kubeconfig loader: the package's index would load every generated API model too.
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { AgentConfig } from '../config/agent-config';

export function loadKubeConfig(config: Pick<AgentConfig, 'kubeconfig' | 'master'>): KubeConfig {
  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else if (!config.master) throw new Error('no API server: give --kubeconfig or --master, or run in a pod (in-cluster config)');
  if (config.master) {
    const cluster = kc.getCurrentCluster();
    const clusters = cluster
      ? kc.clusters.map((c) => (c.name === cluster.name ? { ...c, server: config.master! } : c))
      : [{ name: 'master', server: config.master, skipTLSVerify: false }];
    const context = kc.getCurrentContext() || 'master';
    kc.loadFromOptions({
      clusters,
      users: kc.users.length ? kc.users : [{ name: 'master' }],
      contexts: kc.contexts.length ? kc.contexts : [{ name: 'master', cluster: 'master', user: 'master' }],
      currentContext: context,
    });
  }
  return kc;
}
