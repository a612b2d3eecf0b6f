/** Jest runs TypeScript through @swc/jest (no type-checking: `npm run typecheck` does that). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
  },
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
  // One moto per worker for the whole run, wiped before each file that uses it (test/support/shared-moto.ts).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Known slow files first, so none starts last on a fresh clone (no timing cache yet).
  testSequencer: '<rootDir>/test/support/slow-first-sequencer.js',
  // node_modules compiled once per worker, not once per test file (test/support/code-cache-runtime.js).
  runtime: '<rootDir>/test/support/code-cache-runtime.js',
  testTimeout: 60_000,
  // In the project, not the temporary folder: npm test points TMPDIR at a scratch folder it removes (scripts/test.ts).
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  // Four workers on this 2-core machine: many files wait on emulators and child processes (the
  // worker-agent files use a quarter to a third of a core), so more files than cores fill that
  // time. Measured with npm test (the type-check and the lint beside jest): jest 245 s with three
  // workers, 223 s with four, every test passing (docs/decisions.md, Local cloud and tests).
  maxWorkers: 4,
};
