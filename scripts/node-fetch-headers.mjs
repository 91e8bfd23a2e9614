// Stands in for node-fetch inside the agent's bundle: client-node's config.js imports only its
// Headers class (to build request headers for fetch-based API calls); Node's own WHATWG Headers
// is the same interface, and node-fetch would bring whatwg-url and tr46's Unicode tables along.
// Node's Headers and fetch are reached only when called: reading either global loads Node's
// bundled undici (and compiles its HTTP parser), which costs an idle process 12 MiB RSS, and the
// agent itself never calls them (its informers use node:https).
export class Headers {
  constructor(init) {
    return new globalThis.Headers(init);
  }
}
export default function fetch(...args) {
  return globalThis.fetch(...args);
}
