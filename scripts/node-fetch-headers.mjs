// Stands in for node-fetch inside the agent's bundle: client-node's config.js imports only its
// Headers class (to build request headers for fetch-based API calls); Node's own WHATWG Headers
// is the same interface, and node-fetch would bring whatwg-url and tr46's Unicode tables along.
export const Headers = globalThis.Headers;
export default globalThis.fetch;
