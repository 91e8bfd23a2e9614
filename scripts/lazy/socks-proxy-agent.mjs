// Stands in for socks-proxy-agent inside the agent's bundle, where client-node's config.js
// imports it for kubeconfigs whose cluster has a socks proxy-url. The real module (with socks,
// ip-address and smart-buffer) is evaluated the first time such a kubeconfig makes an agent.
export class SocksProxyAgent {
  constructor(...args) {
    const { SocksProxyAgent: Real } = require('socks-proxy-agent');
    return new Real(...args);
  }
}
