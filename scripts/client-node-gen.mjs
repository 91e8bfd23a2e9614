// Stands in for @kubernetes/client-node's generated index (./gen/index.js) inside the agent's
// bundle. config.js imports two names from it for makeApiClient(), which the agent never calls
// (it lists and watches over plain HTTP: controllers/watch.ts); the real index re-exports every
// generated API and model, whose module-level statements keep them all in a bundle (about 1.5 MB
// of source and 10 MiB of RSS on every node). Calling them says so instead of failing obscurely.
const absent = (name) =>
  function () {
    throw new Error(`${name}: client-node's generated API clients are not part of the kube-router-ts bundle`);
  };
export const createConfiguration = absent('createConfiguration');
export const ServerConfiguration = absent('ServerConfiguration');
