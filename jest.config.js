/**
 * Two projects. `unit`: pure code and loopback sockets, no root, no namespaces, no build output
 * (`npm run test:unit`, any user, well under a minute). `system`: network namespaces, real BGP
 * daemons, the lab, the VM and the built program (root). The README's test command runs both.
 * Jest runs the TypeScript sources through swc; `tsc --noEmit` does the type checking.
 */
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  // @kubernetes/client-node 1.x and some of its dependencies are ESM-only; jest on Node 20 loads
  // CommonJS, so swc transforms them too (Node itself require()s them natively at run time).
  transformIgnorePatterns: [
    '/node_modules/(?!(@kubernetes/client-node|jsonpath-plus|@jsep-plugin|jsep|openid-client|jose|oauth4webapi|rfc4648)/)',
  ],
  testTimeout: 120000,
};

/** Tests that need root, namespaces, daemons, the VM or dist/. */
const SYSTEM = [
  '<rootDir>/test/interop/',
  '<rootDir>/test/lab/',
  '<rootDir>/test/vm/',
  '<rootDir>/test/dataplane/dataplane.test.ts',
  '<rootDir>/test/dataplane/firewall.test.ts',
  '<rootDir>/test/cli/',
  '<rootDir>/test/daemonset/',
  '<rootDir>/test/bgp/session/tcp-md5.test.ts',
];

module.exports = {
  // Interop and lab tests create network namespaces and spawn daemons: few workers, long timeouts
  // (set here too: jest takes the run's timeout from the top level).
  maxWorkers: 2,
  testTimeout: common.testTimeout,
  verbose: false,
  reporters: [['default', { summaryThreshold: 0 }]],
  projects: [
    {
      ...common,
      displayName: 'unit',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...SYSTEM],
    },
    {
      ...common,
      displayName: 'system',
      roots: ['<rootDir>/test'],
      testMatch: SYSTEM.map((p) => (p.endsWith('/') ? `${p}**/*.test.ts` : p)),
      // No network namespace of a test survives the run, even when a test's own cleanup failed.
      globalSetup: '<rootDir>/test/global-cleanup.ts',
      globalTeardown: '<rootDir>/test/global-cleanup.ts',
    },
  ],
};
