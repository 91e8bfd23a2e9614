/** Jest runs the TypeScript sources through swc; `tsc --noEmit` does the type checking. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  // @kubernetes/client-node 1.x and some of its dependencies are ESM-only; jest on Node 20 loads
  // CommonJS, so swc transforms them too (Node itself require()s them natively at run time).
  transformIgnorePatterns: [
    '/node_modules/(?!(@kubernetes/client-node|jsonpath-plus|@jsep-plugin|jsep|openid-client|jose|oauth4webapi|rfc4648)/)',
  ],
  // Interop and lab tests create network namespaces and spawn daemons: long timeouts, few workers.
  testTimeout: 120000,
  maxWorkers: 2,
  verbose: false,
  reporters: [['default', { summaryThreshold: 0 }]],
  // No network namespace of a test survives the run, even when a test's own cleanup failed.
  globalSetup: '<rootDir>/test/global-cleanup.ts',
  globalTeardown: '<rootDir>/test/global-cleanup.ts',
};
