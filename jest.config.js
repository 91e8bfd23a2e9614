/** Jest runs the TypeScript sources through swc; `tsc --noEmit` does the type checking. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // Interop and lab tests create network namespaces and spawn daemons: long timeouts, few workers.
  testTimeout: 120000,
  maxWorkers: 2,
  verbose: false,
  reporters: [['default', { summaryThreshold: 0 }]],
  // No network namespace of a test survives the run, even when a test's own cleanup failed.
  globalSetup: '<rootDir>/test/global-cleanup.ts',
  globalTeardown: '<rootDir>/test/global-cleanup.ts',
};
