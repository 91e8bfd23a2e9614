// Stands in for hpagent inside the agent's bundle, where client-node's config.js imports it for
// kubeconfigs whose cluster has an http(s) proxy-url: the real module is evaluated at first use.
export class HttpProxyAgent {
  constructor(...args) {
    const { HttpProxyAgent: Real } = require('hpagent');
    return new Real(...args);
  }
}
export class HttpsProxyAgent {
  constructor(...args) {
    const { HttpsProxyAgent: Real } = require('hpagent');
    return new Real(...args);
  }
}
