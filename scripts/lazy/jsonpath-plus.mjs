// Stands in for jsonpath-plus inside the agent's bundle, where client-node's azure and gcp auth
// providers import it to read a token out of a helper command's output: evaluated at first use.
export const JSONPath = (...args) => require('jsonpath-plus').JSONPath(...args);
