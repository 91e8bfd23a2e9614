// Stands in for @opentelemetry/api inside the agent's bundle, where prom-client's process CPU
// metric requires it for exemplars, which the agent does not enable: evaluated at first use.
export const trace = { getSpan: (...args) => require('@opentelemetry/api').trace.getSpan(...args) };
export const context = { active: () => require('@opentelemetry/api').context.active() };
